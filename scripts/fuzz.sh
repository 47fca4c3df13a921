#!/usr/bin/env bash
# scripts/fuzz.sh
#   Runs libFuzzer targets for a bounded time; called by
#   `scripts/test.sh --fuzz`, which builds them first.
#
#   scripts/fuzz.sh BUILD_DIR SECONDS TARGET...
#
#   Each target BUILD_DIR/tests/fuzz/fuzz_TARGET starts from
#   tests/fuzz/corpus/TARGET and tests/fuzz/regress/TARGET, writes the
#   inputs it finds to a scratch directory (the corpus in git stays as it
#   is), and runs for SECONDS; two run at a time. A crash, a leak, a
#   timeout or a broken property fails the target: its input is kept in
#   BUILD_DIR/fuzz-artifacts/TARGET/RUN/ (RUN: when this run started),
#   and the command that replays it is printed.
#   Prints one TAP line per target, then "N passed, M failed".
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

[ $# -ge 3 ] || { sed -n '6,14p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
build=$1
secs=$2
shift 2

work=$(mktemp -d "${TMPDIR:-/tmp}/tally-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
stamp=$(date -u +%Y%m%dT%H%M%SZ)
# Reports name functions and lines with llvm-symbolizer (package llvm-14),
# else with binutils' addr2line.
export ASAN_OPTIONS="detect_leaks=1:allow_addr2line=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:allow_addr2line=1"
export LSAN_OPTIONS="suppressions=$repo/tests/lsan.supp"

# Runs one target; its status and libFuzzer's last lines go to $work/T.*.
run_one() {
	local t=$1 bin="$build/tests/fuzz/fuzz_$1" art="$build/fuzz-artifacts/$1/$stamp"
	local dirs=("$work/$t.corpus" "tests/fuzz/corpus/$t")
	mkdir -p "$work/$t.corpus" "$art"
	[ -d "tests/fuzz/regress/$t" ] && dirs+=("tests/fuzz/regress/$t")
	if [ ! -x "$bin" ]; then
		echo "no fuzz target $bin (built with -Dfuzz=true?)" > "$work/$t.log"
		echo 1 > "$work/$t.rc"
		return
	fi
	local rc=0
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$art/" "${dirs[@]}" > "$work/$t.log" 2>&1 || rc=$?
	echo "$rc" > "$work/$t.rc"
}

running=0
for t in "$@"; do
	run_one "$t" &
	running=$((running + 1))
	if [ $running -ge 2 ]; then
		wait -n || true
		running=$((running - 1))
	fi
done
wait || true

n=0
failed=0
for t in "$@"; do
	n=$((n + 1))
	rc=$(cat "$work/$t.rc" 2>/dev/null || echo 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]*' "$work/$t.log" | tail -n 1 | cut -d' ' -f2)
	if [ "$rc" = 0 ]; then
		echo "ok $n - fuzz_$t: ${secs}s, ${execs:-?} runs, coverage ${cov:-?}"
	else
		failed=$((failed + 1))
		echo "not ok $n - fuzz_$t: exit status $rc"
		# the report, without libFuzzer's own frames and progress lines
		awk 'seen || /ERROR|runtime error|property does not hold|ALARM/ { seen = 1 } seen' "$work/$t.log" |
			grep -v ' in fuzzer::' | head -n 60 | sed 's/^/# /'
		for a in "$build/fuzz-artifacts/$t/$stamp"/*; do
			[ -f "$a" ] || continue
			echo "# kept $a: replay with $build/tests/fuzz/fuzz_$t $a;"
			echo "# once fixed, keep it: git mv it to tests/fuzz/regress/$t/"
		done
	fi
done
echo "1..$n"
echo "$((n - failed)) passed, $failed failed"
[ $failed -eq 0 ]
