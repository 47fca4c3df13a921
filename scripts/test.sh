#!/usr/bin/env bash
# scripts/test.sh
#   The README's second command: installs what is missing, builds with
#   warnings as errors, starts throwaway PostgreSQL and MariaDB servers,
#   runs every test (unit and integration) against them, stops the
#   servers, and ends with the line "N passed, M failed" (N and M count
#   test cases, not test programs). Exit status 0 only when M is 0.
#
#   scripts/test.sh [meson test args...]   e.g. scripts/test.sh --suite unit
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

if [ -z "${TALLY_PG_PORT:-}" ]; then
	scripts/deps.sh
fi
if [ ! -f build/build.ninja ]; then
	meson setup build -Dwerror=true >/dev/null
else
	meson configure build -Dwerror=true >/dev/null
fi
ninja -C build >/dev/null

# Run the rest inside a pair of throwaway servers, their env exported.
if [ -z "${TALLY_PG_PORT:-}" ]; then
	exec scripts/servers.sh run "$0" "$@"
fi

rc=0
meson test -C build --print-errorlogs --num-processes 2 "$@" || rc=$?

py_rc=0
python3 - build/meson-logs/testlog.json <<'PY' || py_rc=$?
import json, re, sys
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
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
[ $rc -eq 0 ] && [ $py_rc -eq 0 ]
