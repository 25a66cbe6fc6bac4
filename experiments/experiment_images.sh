#!/bin/bash
# Experiment 1 (paper IV-A, Table I/II): trace predict() on clean JPEGs (saved
# by PIL) and adversarial JPEGs (saved by matplotlib), analyze, detect.
#
#   experiments/experiment_images.sh [--n-clean N] [--n-adv M] [--control] [--no-doc]
#
# Defaults: the paper's scale, 1000 clean and 4000 adversarial (4 attacks x
# 1000). --control saves the adversarial set with PIL too (no format
# difference). Work files in work/images[-control]-N-M/; tables go to
# docs/EXPERIMENTS.md (section images or images-control) unless --no-doc.
# Env: RECORDER=auto|leaktrace|py, ANALYZER=auto|leaktrace|ref (experiments/lib.sh).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/experiments/lib.sh"

NC=1000 NA=4000 CONTROL=0 DOCW=1
while [ $# -gt 0 ]; do
	case "$1" in
	--n-clean) NC=$2; shift 2 ;;
	--n-adv) NA=$2; shift 2 ;;
	--control) CONTROL=1; shift ;;
	--no-doc) DOCW=0; shift ;;
	*) die "unknown option $1 (see the header of $0)" ;;
	esac
done
if [ $CONTROL = 1 ]; then ADVW=pil SEC=images-control; else ADVW=matplotlib SEC=images; fi
W="$ROOT/work/$SEC-$NC-$NA"
mkdir -p "$W"
pick_tools
T0=$(date +%s)

say "1/4 generating $NC clean (PIL) + $NA adversarial ($ADVW) images in $W"
"$PY" "$ROOT/experiments/make_images.py" --out "$W" --n-clean "$NC" --n-adv "$NA" --adv-writer "$ADVW"
MODEL=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["model"])' "$W/manifest.json")

say "2/4 recording predict() on the clean set ($RECORDER)"
t=$(date +%s.%N)
record predict "$W/clean.jsonl.gz" -- "$PY" "$ROOT/experiments/predict.py" --model "$ROOT/$MODEL" "$W/clean" > "$W/clean.pred"
tc=$("$PY" -c "import sys; print(float(sys.argv[1]) - float(sys.argv[2]))" "$(date +%s.%N)" "$t")
say "   recording predict() on the adversarial set ($RECORDER)"
t=$(date +%s.%N)
record predict "$W/adv.jsonl.gz" -- "$PY" "$ROOT/experiments/predict.py" --model "$ROOT/$MODEL" "$W/adv" > "$W/adv.pred"
ta=$("$PY" -c "import sys; print(float(sys.argv[1]) - float(sys.argv[2]))" "$(date +%s.%N)" "$t")
# Every adversarial file must be classified as its target, every clean one as its label.
"$PY" - "$W" <<'EOF'
import sys, os
w = sys.argv[1]
bad = 0
for f in ("clean.pred", "adv.pred"):
    for ln in open(os.path.join(w, f)):
        path, label = ln.split()
        want = os.path.basename(path)[:-4].rsplit("_", 1)[1].split("-to-")[-1]
        bad += want != label
if bad:
    sys.exit("experiment_images: %d predictions differ from the expected labels" % bad)
EOF

say "3/4 analyze ($ANALYZER)"
analyze "$W/clean.jsonl.gz" "$W/adv.jsonl.gz" "$W/analysis.json"
"$PY" "$ROOT/experiments/report.py" analysis "$W/analysis.json" >&2

say "4/4 detect"
# The rule: the D_IF return element of i16be (or, in the control, none).
"$PY" - "$W/analysis.json" > "$W/rule.txt" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))["observations"]["returns"]["D_IF"]
r = [e for e in d if e["key"] == "i16be"]
if r:
    print(r[0]["key"], r[0]["value"], r[0].get("path") or "")
EOF
if [ -s "$W/rule.txt" ]; then
	read -r RK RV RS < "$W/rule.txt"
	"$PY" "$ROOT/experiments/refanalyze.py" detect --key "$RK" --value "$RV" --site "$RS" \
		--clean "$W/clean.jsonl.gz" --adv "$W/adv.jsonl.gz" > "$W/table1.json"
	"$PY" "$ROOT/experiments/report.py" table1 "$W/table1.json" >&2
	if [ "$ANALYZER" = leaktrace ]; then
		"$LT" analyze "$W/clean.jsonl.gz" "$W/adv.jsonl.gz" --observe returns --rules-out "$W/rules.json" >/dev/null
		"$LT" detect --rules "$W/rules.json" --clean "$W/clean.jsonl.gz" --adv "$W/adv.jsonl.gz" > "$W/detect.txt" || true
		tail -n 20 "$W/detect.txt" >&2
	fi
else
	say "no i16be element in D_IF(returns): no image-format rule"
	: > "$W/table1.json"
fi
T1=$(date +%s)

[ $DOCW = 1 ] || exit 0
say "writing section '$SEC' of ${DOC:-docs/EXPERIMENTS.md}"
{
	if [ $CONTROL = 1 ]; then
		echo "## Experiment 2: control, both sets saved by PIL ($NC clean, $NA adversarial)"
	else
		echo "## Experiment 1: image classifier, clean saved by PIL, adversarial by matplotlib ($NC clean, $NA adversarial)"
	fi
	echo
	echo "Regenerate (as root, or with sudo): \`experiments/experiment_images.sh --n-clean $NC --n-adv $NA$([ $CONTROL = 1 ] && echo ' --control')\`"
	echo "(run on $(date -u +%Y-%m-%d), $(nproc) CPUs; recorder: \`$RECORDER\`, analyzer: \`$ANALYZER\`; total $((T1 - T0)) s,"
	echo "recording $(printf %.1f "$tc") s clean + $(printf %.1f "$ta") s adversarial including interpreter start and model load)."
	echo
	"$PY" "$ROOT/experiments/report.py" manifest "$W/manifest.json"
	echo
	echo "Analysis (key = plain function name):"
	echo
	"$PY" "$ROOT/experiments/report.py" analysis "$W/analysis.json"
	if [ -s "$W/table1.json" ]; then
		echo
		echo "Table I (value returned at the rule's site \`$RS\`; rule ($RK, $RV)):"
		echo
		"$PY" "$ROOT/experiments/report.py" table1 "$W/table1.json"
		if [ -s "$W/detect.txt" ]; then
			echo
			echo '`leaktrace detect` summary:'
			echo '```'
			tail -n 12 "$W/detect.txt"
			echo '```'
		fi
	else
		echo
		echo "No i16be element in D_IF(returns): no image-format rule."
	fi
} | doc_section "$SEC"
