#!/usr/bin/env bash
# tests/run.sh SUITE...: run test suites and count results.
#
# Every suite prints "ok - NAME" / "not ok - NAME" lines; this script
# passes them through, turns a crash or a non-zero exit without a "not ok"
# line into one, and ends with the line "N passed, N failed".
# Suites: unit replay golden daemon style integration. Env: BUILD (build/asan).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build/asan}
export BUILD
export FIXTURES=${FIXTURES:-$(cd .. && pwd)/shared/fixtures/pcap}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pass=0
fail=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# run NAME CMD...: run a command whose stdout has ok/not ok lines.
run() {
	local name=$1 rc
	shift
	"$@" >"$log" 2>&1
	rc=$?
	local p f
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	grep -E '^(ok|not ok) ' "$log"
	if [ "$f" -gt 0 ] || [ "$rc" -ne 0 ] || [ "$p" -eq 0 ]; then
		# Show why: the comment lines and the tail of the output.
		grep -E '^#' "$log" | head -40
		grep -vE '^(ok|not ok|#)' "$log" | tail -30
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name: exited $rc"
		f=1
	fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name: ran no test"
		f=1
	fi
	pass=$((pass + p))
	fail=$((fail + f))
}

suite_unit() {
	local t
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] && run "unit/$(basename "$t")" "$t"
	done
}

suite_replay() {
	local r n
	for r in "$BUILD"/tests/replay_*; do
		[ -x "$r" ] || continue
		n=${r##*/replay_}
		run "replay/$n" tests/fuzz/replay_one.sh "$r" "tests/fuzz/corpus/$n"
	done
}

suite_golden() {
	run golden/tshark tests/golden/tshark.sh
	run golden/decode tests/golden/decode.sh
	run golden/conf tests/golden/conf.sh
	run golden/fabtop tests/golden/fabtop.sh
	run golden/netflow tests/golden/netflow.sh
}

style_check() {
	if out=$(clang-format --dry-run --Werror daemon/*.[ch] topology/*.[ch] \
		tui/*.[ch] ha/*.[ch] 2>&1); then
		echo "ok - style/clang-format daemon"
	else
		printf '%s\n' "$out" | head -20 | sed 's/^/# /'
		echo "not ok - style/clang-format daemon (run: make format)"
	fi
}

suite_style() {
	run style/clang-format style_check
}

suite_daemon() {
	run daemon/local python3 tests/integration/daemon_local.py
	run daemon/api python3 tests/integration/daemon_api.py
	run daemon/ws python3 tests/integration/daemon_ws.py
	run daemon/netflow python3 tests/integration/daemon_netflow.py
	run daemon/hasync python3 tests/integration/daemon_hasync.py
	run daemon/web node tests/e2e/local.mjs
	run daemon/snmp_walk python3 tests/integration/snmp_walk.py
	run daemon/store_crash python3 tests/integration/store_crash.py
	run daemon/store_diskfull python3 tests/integration/store_diskfull.py
}

suite_integration() {
	local t
	suite_daemon
	for t in tests/integration/lab_*.py; do
		[ -x "$t" ] && run "integration/$(basename "$t" .py)" python3 "$t"
	done
}

for s in "$@"; do
	echo "# suite $s"
	"suite_$s"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
