#!/bin/sh
# The C unit tests and leaktrace built with -fsanitize=address,undefined
# (.output-asan, `make asan-build`), run on: the unit tests, the Python CLI
# tests of analyze/detect/import-paper/export with the sanitized binary, the
# fuzz seeds and the malformed inputs of tests/fuzz/bad_inputs.py, and (as
# root) one `record` of the calls workload. Any sanitizer report (ASan,
# UBSan, LeakSanitizer) is a FAIL. Prints PASS/FAIL/SKIP lines (tests/run.sh).
cd "$(dirname "$0")/.." || exit 2
PY=${PY:-/usr/bin/python3.11}
A=.output-asan
tmp=$(mktemp -d /tmp/lt-asan-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
if ! make -s --no-print-directory asan-build >"$tmp/build.log" 2>&1; then
	tail -20 "$tmp/build.log"
	echo "FAIL asan:build: make asan-build failed"
	exit 1
fi
mkdir "$tmp/san"
export ASAN_OPTIONS="log_path=$tmp/san/report:detect_leaks=1:exitcode=99"
export UBSAN_OPTIONS="log_path=$tmp/san/report:print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="log_path=$tmp/san/report"

# reports since the last call: print them and return 1
reports() {
	set -- "$tmp"/san/report*
	[ -e "$1" ] || return 0
	for f in "$@"; do
		grep -E 'ERROR|SUMMARY|runtime error|#[0-3] ' "$f" | head -12
		mv "$f" "$tmp/seen.$(basename "$f")"
	done
	return 1
}

# unit tests
for t in $A/tests/test_*; do
	name=asan:unit:$(basename "$t")
	"$t" >"$tmp/out" 2>&1
	rc=$?
	n=$(grep -c '^PASS ' "$tmp/out")
	if ! reports; then
		echo "FAIL $name: sanitizer report (above)"
	elif [ $rc != 0 ] || grep -q '^FAIL ' "$tmp/out"; then
		grep '^FAIL ' "$tmp/out"
		echo "FAIL $name: exit $rc"
	else
		echo "PASS $name ($n cases)"
	fi
done

# the Python CLI tests, with lt.LEAKTRACE pointed at the sanitized binary
for t in test_analyze_cli test_paper_io test_detect test_analyze_ref; do
	[ -f tests/$t.py ] || continue
	name=asan:$t.py
	$PY -c "import runpy, sys; sys.path.insert(0, 'tests'); import lt
lt.LEAKTRACE = '$PWD/$A/leaktrace'
runpy.run_path('tests/$t.py', run_name='__main__')" >"$tmp/out" 2>&1
	rc=$?
	if ! reports; then
		echo "FAIL $name: sanitizer report (above)"
	elif [ $rc != 0 ]; then
		grep '^FAIL ' "$tmp/out" | sed 's/^FAIL /  /'
		echo "FAIL $name: exit $rc"
	else
		echo "PASS $name ($(grep -c '^PASS ' "$tmp/out") cases)"
	fi
done

# malformed inputs: expected exit and "file:line:" in the message
mkdir "$tmp/bad"
$PY tests/fuzz/bad_inputs.py "$tmp/bad" >"$tmp/cases" || { echo "FAIL asan:bad_inputs: generator failed"; exit 1; }
good=$tmp/bad/good.jsonl
while read -r n want where; do
	name=asan:bad:$n
	$A/leaktrace analyze -q -j "$tmp/bad/$n" "$good" >/dev/null 2>"$tmp/err"
	rc=$?
	case "$n" in
	*.json) $A/leaktrace import-paper "$tmp/bad/$n" -o "$tmp/imp.jsonl" >/dev/null 2>>"$tmp/err"; rc2=$? ;;
	*) $A/leaktrace detect -q --rules tests/fuzz/corpus/rules/all.json "$tmp/bad/$n" >/dev/null 2>>"$tmp/err"; rc2=$? ;;
	esac
	if ! reports; then
		echo "FAIL $name: sanitizer report (above)"
	elif [ $rc = "$want" ] && [ $rc2 = "$want" ] && { [ "$where" = - ] || grep -q "^$where: " "$tmp/err"; }; then
		echo "PASS $name"
	else
		head -3 "$tmp/err"
		echo "FAIL $name: analyze exit $rc, import/detect exit $rc2, want $want and '$where: reason'"
	fi
done <"$tmp/cases"

# every fuzz seed through analyze (either exit 0 or 2, never a crash)
fails=0 n=0
for f in tests/fuzz/corpus/jsonl/* tests/fuzz/corpus/paper/* tests/fuzz/crashes/*; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	$A/leaktrace analyze -q -j "$f" "$good" >/dev/null 2>"$tmp/err"
	rc=$?
	if ! reports || { [ $rc != 0 ] && [ $rc != 2 ]; }; then
		echo "  $f: exit $rc"
		fails=$((fails + 1))
	fi
done
if [ $fails = 0 ]; then echo "PASS asan:seeds ($n files)"; else echo "FAIL asan:seeds: $fails of $n files"; fi

# record: BPF, rebuild and values code under the sanitizers
if [ "$(id -u)" != 0 ]; then
	echo "SKIP asan:record: needs root (BPF)"
else
	$A/leaktrace record --root run --args -o "$tmp/r.jsonl.gz" -- $PY tests/workloads/calls.py 2 >/dev/null 2>"$tmp/err"
	rc=$?
	$A/leaktrace analyze -q -j "$tmp/r.jsonl.gz" "$tmp/r.jsonl.gz" >/dev/null 2>>"$tmp/err"
	rc2=$?
	if ! reports; then
		echo "FAIL asan:record: sanitizer report (above)"
	elif [ $rc != 0 ] || [ $rc2 != 0 ]; then
		tail -3 "$tmp/err"
		echo "FAIL asan:record: record exit $rc, analyze exit $rc2"
	else
		echo "PASS asan:record"
	fi
fi
