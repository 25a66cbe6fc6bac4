# Shared shell helpers of the experiment drivers (sourced, not run).
# Needs: ROOT set to the repository root.
#
# Recorder: RECORDER=leaktrace (default when .output/leaktrace record works),
# RECORDER=py (experiments/pyrecord.py, an in-process sys.setprofile recorder:
# a cross-check, not leaktrace). Analyzer: ANALYZER=leaktrace|ref likewise
# (ref = experiments/refanalyze.py). auto picks leaktrace when it works.

PY=/usr/bin/python3.11
LT="$ROOT/.output/leaktrace"
RECORDER=${RECORDER:-auto}
ANALYZER=${ANALYZER:-auto}

say() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

[ -x "$PY" ] || die "$PY not found: install Debian's python3.11 (as root: make deps; as a user: sudo make deps)"

# True when .output/leaktrace can record a tiny Python program.
lt_record_works() {
	[ -x "$LT" ] || return 1
	[ "$(id -u)" = 0 ] || return 1
	_t=$(mktemp -d)
	printf 'def f():\n    return 7\nfor _ in range(3):\n    f()\n' > "$_t/p.py"
	if timeout 60 "$LT" record --root f -o "$_t/t.jsonl" -- "$PY" "$_t/p.py" >/dev/null 2>"$_t/err" &&
		[ "$(grep -c '"exec"' "$_t/t.jsonl" 2>/dev/null)" -ge 3 ]; then
		rm -rf "$_t"; return 0
	fi
	rm -rf "$_t"; return 1
}

# True when .output/leaktrace analyze gives the JSON of FORMAT.md §4 on a trace of ours.
lt_analyze_works() {
	[ -x "$LT" ] || return 1
	_t=$(mktemp -d)
	printf 'def f(x):\n    return x\nimport sys\nf(int(sys.argv[1]))\n' > "$_t/p.py"
	"$PY" "$ROOT/experiments/pyrecord.py" --root f -o "$_t/a.jsonl" -- "$_t/p.py" 1 >/dev/null 2>&1 &&
	"$PY" "$ROOT/experiments/pyrecord.py" --root f -o "$_t/b.jsonl" -- "$_t/p.py" 2 >/dev/null 2>&1 &&
	"$LT" analyze "$_t/a.jsonl" "$_t/b.jsonl" --format json > "$_t/o.json" 2>/dev/null &&
	"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert "observations" in d' "$_t/o.json" 2>/dev/null
	_rc=$?
	rm -rf "$_t"
	return $_rc
}

pick_tools() {
	if [ "$RECORDER" = auto ]; then
		if lt_record_works; then RECORDER=leaktrace; else
			RECORDER=py
			say "WARNING: $LT record does not work here yet (not built, not root, or not implemented);"
			say "WARNING: recording with experiments/pyrecord.py (in-process sys.setprofile) instead"
		fi
	fi
	if [ "$ANALYZER" = auto ]; then
		if lt_analyze_works; then ANALYZER=leaktrace; else
			ANALYZER=ref
			say "WARNING: $LT analyze does not work here yet; using experiments/refanalyze.py"
		fi
	fi
	case "$RECORDER" in leaktrace|py) ;; *) die "RECORDER must be auto, leaktrace or py" ;; esac
	case "$ANALYZER" in leaktrace|ref) ;; *) die "ANALYZER must be auto, leaktrace or ref" ;; esac
	say "recorder: $RECORDER, analyzer: $ANALYZER"
}

# record ROOTFUNC OUT -- CMD...
record() {
	_root=$1 _out=$2
	shift 3
	if [ "$RECORDER" = leaktrace ]; then
		"$LT" record --root "$_root" -o "$_out" -- "$@"
	else
		"$PY" "$ROOT/experiments/pyrecord.py" --root "$_root" -o "$_out" -- "$@"
	fi
}

# analyze CLEAN ADV OUT_JSON [extra args]: JSON (FORMAT.md §4) to OUT_JSON, human
# output (leaktrace only) to OUT_JSON.txt.
analyze() {
	_c=$1 _a=$2 _o=$3
	shift 3
	if [ "$ANALYZER" = leaktrace ]; then
		"$LT" analyze "$_c" "$_a" "$@" | tee "$_o.txt" >&2
		"$LT" analyze "$_c" "$_a" --format json "$@" > "$_o"
	else
		"$PY" "$ROOT/experiments/refanalyze.py" analyze "$_c" "$_a" "$@" > "$_o"
	fi
}

# doc_section NAME < markdown: replace that section of docs/EXPERIMENTS.md
doc_section() {
	"$PY" "$ROOT/experiments/report.py" section "$1" "${DOC:-$ROOT/docs/EXPERIMENTS.md}"
}
