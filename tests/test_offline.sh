#!/bin/sh
# `make offline`: the offline commands built with a C compiler, zlib and libc
# only (no clang, bpftool, libbpf, libelf, generated headers), into a fresh
# directory. Checks that the build never names bpf/ or .output/, that the
# binary links neither libbpf nor libelf, that analyze and detect work (the
# same output as the full build when there is one), and that record and -p
# refuse with one line and exit 2. PASS/FAIL lines (tests/run.sh).
cd "$(dirname "$0")/.." || exit 2
tmp=$(mktemp -d /tmp/lt-offline-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
O=$tmp/out
LT=$O/leaktrace
fails=0
pass() { echo "PASS offline:$1"; }
fail() { echo "FAIL offline:$1: $2"; fails=$((fails + 1)); }

if ! make --no-print-directory V=1 OFFLINE_OUT="$O" CLANG=/nonexistent/clang \
	BPFTOOL=/nonexistent/bpftool LLVM_STRIP=/nonexistent/llvm-strip PY=/nonexistent/python \
	offline >"$tmp/build.log" 2>&1; then
	tail -20 "$tmp/build.log"
	echo "FAIL offline:build: make offline failed"
	exit 1
fi
if grep -E -e '-I ?(bpf|\.output)\b' -e '-l(bpf|elf)\b' -e 'skel\.h|py_offsets_gen' "$tmp/build.log" >"$tmp/bad"; then
	fail build "the offline build uses BPF parts: $(head -1 "$tmp/bad")"
else
	pass build
fi
if ldd "$LT" | grep -E 'libbpf|libelf'; then
	fail libs "links libbpf or libelf"
else
	pass libs
fi

# two tiny trace sets: i16be returns 1 on the clean side, 100 on the other
mk() {	# FILE VALUE
	{
		echo '{"type":"header","format":1,"tool":"leaktrace","python":"3.11.2","pid":7,"root":"predict"}'
		for i in 0 1 2; do
			echo '{"type":"exec","id":'$i',"pid":7,"tid":8,"start_ns":1000,"dur_ns":500,"complete":true,"root":{"fn":"predict","ret":{"type":"str","value":"cat"},"dur_ns":90,"calls":[{"fn":"APP","ret":{"type":"NoneType"},"dur_ns":20,"calls":[{"fn":"i16be","ret":{"type":"int","value":'$2'},"dur_ns":5}]}]}}'
		done
		echo '{"type":"stats","execs":3,"calls":9,"lost_events":0}'
	} >"$1"
}
mk "$tmp/clean.jsonl" 1
mk "$tmp/adv.jsonl" 100

"$LT" analyze "$tmp/clean.jsonl" "$tmp/adv.jsonl" --rules-out "$tmp/rules.json" >"$tmp/analyze.out" 2>&1
rc=$?
if [ $rc != 0 ] || ! grep -q '"key":"i16be","value":"int:100"' "$tmp/rules.json"; then
	fail analyze "exit $rc, rules: $(cat "$tmp/rules.json" 2>/dev/null) $(head -3 "$tmp/analyze.out")"
else
	pass analyze
fi
if [ -x .output/leaktrace ]; then
	.output/leaktrace analyze "$tmp/clean.jsonl" "$tmp/adv.jsonl" --rules-out "$tmp/rules.full.json" >"$tmp/analyze.full" 2>&1
	if cmp -s "$tmp/analyze.out" "$tmp/analyze.full" && cmp -s "$tmp/rules.json" "$tmp/rules.full.json"; then
		pass same-as-full
	else
		fail same-as-full "analyze prints or writes differently from .output/leaktrace"
	fi
fi
"$LT" detect --rules "$tmp/rules.json" --clean "$tmp/clean.jsonl" --adv "$tmp/adv.jsonl" >"$tmp/detect.out" 2>&1
rc=$?
if [ $rc != 0 ] || ! grep -q 'TP 3 .*FP 0 .*FN 0 .*TN 3' "$tmp/detect.out"; then
	fail detect "exit $rc: $(tail -3 "$tmp/detect.out")"
else
	pass detect
fi

for args in "record -p 1" "-p 1" "record -- true"; do
	# shellcheck disable=SC2086
	"$LT" $args >"$tmp/rec.out" 2>"$tmp/rec.err"
	rc=$?
	if [ $rc = 2 ] && [ "$(wc -l <"$tmp/rec.err")" = 1 ] && [ ! -s "$tmp/rec.out" ] &&
	   grep -q '^leaktrace: .*built without BPF.*make' "$tmp/rec.err"; then
		pass "refuses:$args"
	else
		fail "refuses:$args" "exit $rc: $(cat "$tmp/rec.err")"
	fi
done

# argp: the help of each offline command on stdout (exit 0), a bad option
# or a missing argument as one line and exit 2
for c in analyze detect export import-paper summarize; do
	"$LT" $c --help >"$tmp/h.out" 2>&1 && "$LT" $c -h >"$tmp/h2.out" 2>&1
	rc=$?
	if [ $rc = 0 ] && grep -q "^Usage: leaktrace $c " "$tmp/h.out" && cmp -s "$tmp/h.out" "$tmp/h2.out"; then
		pass "help:$c"
	else
		fail "help:$c" "exit $rc: $(head -2 "$tmp/h.out")"
	fi
	"$LT" $c --no-such-option x >"$tmp/b.out" 2>"$tmp/b.err"
	rc=$?
	if [ $rc = 2 ] && [ ! -s "$tmp/b.out" ] && [ "$(wc -l <"$tmp/b.err")" = 1 ] &&
	   grep -q "^leaktrace: $c: unknown option '--no-such-option'" "$tmp/b.err"; then
		pass "bad-option:$c"
	else
		fail "bad-option:$c" "exit $rc: $(cat "$tmp/b.err")"
	fi
done
"$LT" analyze "$tmp/clean.jsonl" "$tmp/adv.jsonl" --observe >"$tmp/b.out" 2>"$tmp/b.err"
rc=$?
if [ $rc = 2 ] && [ "$(cat "$tmp/b.err")" = "leaktrace: analyze: option '--observe' needs an argument; see 'leaktrace analyze --help'" ]; then
	pass missing-argument
else
	fail missing-argument "exit $rc: $(cat "$tmp/b.err")"
fi

v=$("$LT" --version); v2=$("$LT" -V)
case "$v" in
"leaktrace "?*) [ "$v" = "$v2" ] && pass version || fail version "--version '$v', -V '$v2'" ;;
*) fail version "'$v'" ;;
esac
[ $fails = 0 ]
