#!/bin/sh
# Runs every test of leaktrace and prints "N passed, N failed, N skipped".
# Each test program prints one line per test case:
#   PASS name | FAIL name: reason | SKIP name: reason
# C unit tests: .output/tests/test_*; Python tests: tests/test_*.py (run
# with Debian's /usr/bin/python3.11, helpers in tests/lt.py); shell tests:
# tests/test_*.sh. An optional argument keeps only programs whose name
# contains it. A program that exits non-zero without a FAIL line counts as
# one failure.
cd "$(dirname "$0")/.." || exit 2
filter="$1"
PY=${PY:-/usr/bin/python3.11}
# the log lives in the build tree, not in a /tmp that other jobs clean
log=$(mktemp -p .output test-log.XXXXXX 2>/dev/null || mktemp)
trap 'rm -f "$log"' EXIT
pass=0 fail=0 skip=0
for t in .output/tests/test_* tests/test_*.py tests/test_*.sh; do
	[ -e "$t" ] || continue
	case "$t" in *"$filter"*) ;; *) continue ;; esac
	echo "== $t"
	case "$t" in
	*.py) $PY "$t" >"$log" 2>&1 ;;
	*.sh) sh "$t" >"$log" 2>&1 ;;
	*) "$t" >"$log" 2>&1 ;;
	esac
	rc=$?
	if [ ! -e "$log" ]; then
		echo "FAIL $t: its output file $log was deleted while it ran (exit status $rc)"
		fail=$((fail + 1))
		: >"$log"
		continue
	fi
	cat "$log"
	p=$(grep -c '^PASS ' "$log"); f=$(grep -c '^FAIL ' "$log"); s=$(grep -c '^SKIP ' "$log")
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		echo "FAIL $t: exited with status $rc"
		f=1
	fi
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
