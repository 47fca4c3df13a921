#!/usr/bin/env bash
# scripts/test.sh
#   The README's second command: installs what is missing, builds with
#   warnings as errors, starts throwaway PostgreSQL and MariaDB servers,
#   runs every test (unit and integration) against them, stops the
#   servers, and ends with the line "N passed, M failed" (N and M count
#   test cases, not test programs). Exit status 0 only when M is 0.
#
#   scripts/test.sh [meson test args...]   e.g. scripts/test.sh --suite unit
#   scripts/test.sh --sanitize [meson test args...]
#       the same under AddressSanitizer (leaks included) and
#       UndefinedBehaviorSanitizer, built with clang in build-san/. Every
#       sanitizer report fails the run, also one from a tally process
#       whose exit status a test did not look at: each is one failed case.
#   scripts/test.sh --fuzz [SECONDS] [TARGET...]
#       runs each libFuzzer target of tests/fuzz (default: all) for
#       SECONDS (default 60), two at a time, from its corpus; one case per
#       target, failed by a crash, a leak or a broken property. No servers.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

FUZZ_TARGETS=(spec canon jcanon pg_literal my_literal)

mode=normal
case "${1:-}" in
--sanitize) mode=sanitize; shift ;;
--fuzz) mode=fuzz; shift ;;
esac

if [ -z "${TALLY_PG_PORT:-}" ]; then
	scripts/deps.sh
fi

build=build
if [ "$mode" = normal ]; then
	if [ ! -f build/build.ninja ]; then
		meson setup build -Dwerror=true >/dev/null
	else
		meson configure build -Dwerror=true >/dev/null
	fi
else
	# One clang build serves both: sanitizers everywhere, libFuzzer's
	# coverage instrumentation too (it does not change what code does).
	build=build-san
	command -v clang >/dev/null || { echo "test.sh: --$mode needs clang (scripts/deps.sh installs it)" >&2; exit 2; }
	if [ ! -f build-san/build.ninja ]; then
		CC=clang meson setup build-san -Db_sanitize=address,undefined -Db_lundef=false \
			-Dfuzz=true -Dwerror=true >/dev/null
	fi
fi
ninja -C "$build" >/dev/null

# What the sanitizers do on a report: stop the process, write the report
# to a file of the log directory (so that a report from a tally run whose
# exit status a test ignores is still seen), count leaks.
sanitizer_env() {
	local logdir=$1
	export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=1:allow_addr2line=1:log_path=$logdir/asan"
	export UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1:print_stacktrace=1:allow_addr2line=1:log_path=$logdir/ubsan"
	export LSAN_OPTIONS="suppressions=$repo/tests/lsan.supp"
}

if [ "$mode" = fuzz ]; then
	secs=60
	if [[ "${1:-}" =~ ^[0-9]+$ ]]; then
		secs=$1
		shift
	fi
	[ $# -gt 0 ] && FUZZ_TARGETS=("$@")
	exec scripts/fuzz.sh "$build" "$secs" "${FUZZ_TARGETS[@]}"
fi

# Run the rest inside a pair of throwaway servers, their env exported.
if [ -z "${TALLY_PG_PORT:-}" ]; then
	if [ "$mode" = sanitize ]; then
		exec scripts/servers.sh run "$0" --sanitize "$@"
	fi
	exec scripts/servers.sh run "$0" "$@"
fi

reports=
if [ "$mode" = sanitize ]; then
	reports=$(mktemp -d "${TMPDIR:-/tmp}/tally-san.XXXXXX")
	trap 'rm -rf "$reports"' EXIT
	sanitizer_env "$reports"
fi

rc=0
meson test -C "$build" --print-errorlogs --num-processes 2 "$@" || rc=$?

# Optional, off by default: build the image of docs/Containerfile and run
# it against the servers (tests/integration/test_container.py, which says
# what it needs); its cases count with the others.
#   TALLY_TEST_CONTAINER=1 scripts/test.sh        (TALLY_CONTAINER=docker for docker)
container_tap=
if [ "${TALLY_TEST_CONTAINER:-0}" = 1 ] && [ "$mode" = normal ]; then
	container_tap=$(mktemp "${TMPDIR:-/tmp}/tally-container.XXXXXX")
	TALLY="$repo/$build/tally" /usr/bin/python3 tests/integration/test_container.py | tee "$container_tap" || rc=1
fi

py_rc=0
python3 - "$build/meson-logs/testlog.json" "$reports" "$container_tap" <<'PY' || py_rc=$?
import json, os, re, sys
passed = failed = 0
for line in open(sys.argv[1]):
    t = json.loads(line)
    out = t.get("stdout") or ""
    ok = len(re.findall(r"^ok \d+", out, re.M))
    bad = len(re.findall(r"^not ok \d+", out, re.M))
    if t["result"] not in ("OK", "EXPECTEDFAIL") and bad == 0:
        bad = 1        # crashed or timed out before reporting a case
    passed += ok
    failed += bad
# The container's cases, when they ran.
if len(sys.argv) > 3 and sys.argv[3]:
    out = open(sys.argv[3]).read()
    passed += len(re.findall(r"^ok \d+", out, re.M))
    failed += len(re.findall(r"^not ok \d+", out, re.M)) or (0 if re.search(r"^ok \d+", out, re.M) else 1)
    os.unlink(sys.argv[3])
# Sanitizer reports: each one a failed case, whoever ran the process.
if sys.argv[2]:
    for name in sorted(os.listdir(sys.argv[2])):
        failed += 1
        print(f"sanitizer report {name}:", file=sys.stderr)
        sys.stderr.write(open(os.path.join(sys.argv[2], name), errors="replace").read())
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
[ $rc -eq 0 ] && [ $py_rc -eq 0 ]
