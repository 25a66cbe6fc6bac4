#!/bin/bash
# `make demo` (as root, or `sudo make demo`): the paper's image experiment in small, end to end.
#   1. train (or load the cached) digit classifier, make clean JPEGs with PIL
#      and adversarial JPEGs (FGSM, RFGSM, PGD, APGD) with matplotlib;
#   2. trace predict() on both sets with `leaktrace record --root predict`;
#   3. `leaktrace analyze`: D_IF holds (i16be, int:100) under PIL's open();
#   4. `leaktrace detect` with that rule: Table I.
# Env: DEMO_CLEAN (30), DEMO_ADV (40), RECORDER/ANALYZER (see experiments/lib.sh).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/experiments/lib.sh"
NC=${DEMO_CLEAN:-30} NA=${DEMO_ADV:-40}
W="$ROOT/work/demo"
mkdir -p "$W"

[ "$(id -u)" = 0 ] || say "note: not root; the eBPF tracer needs root (as root: make demo; as a user: sudo make demo)"
[ -x "$LT" ] || die "$LT is missing: run 'make' first (sudo make demo builds it)"
pick_tools
if [ "$RECORDER" != leaktrace ]; then
	say "NOTE: this demo is meant for the eBPF tracer; what follows uses the in-process"
	say "NOTE: reference recorder (experiments/pyrecord.py) because '$LT record' does not work yet."
fi

say "step 1/4: classifier and images ($NC clean saved by PIL, $NA adversarial saved by matplotlib)"
say "          (the first run trains a small CNN on sklearn's digits, ~20 s; later runs load it from work/models)"
"$PY" "$ROOT/experiments/make_images.py" --out "$W" --n-clean "$NC" --n-adv "$NA"
MODEL=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["model"])' "$W/manifest.json")
"$PY" - "$W/manifest.json" <<'EOF' >&2
import json, sys
m = json.load(open(sys.argv[1]))
for s, st in m["attacks"].items():
    print("   %-6s %d adversarial images, each classified as its target after saving (%d/%d attempts flipped)"
          % (s, st["kept"], st["flip_after_jpeg"], st["tried"]))
EOF

say "step 2/4: tracing predict() on the clean images"
echo "   \$ leaktrace record --root predict -o $W/clean.jsonl -- $PY experiments/predict.py --model $MODEL $W/clean" >&2
record predict "$W/clean.jsonl" -- "$PY" "$ROOT/experiments/predict.py" --model "$ROOT/$MODEL" "$W/clean" > "$W/clean.pred"
say "          tracing predict() on the adversarial images"
record predict "$W/adv.jsonl" -- "$PY" "$ROOT/experiments/predict.py" --model "$ROOT/$MODEL" "$W/adv" > "$W/adv.pred"
echo "   $(grep -c '"exec"' "$W/clean.jsonl") clean and $(grep -c '"exec"' "$W/adv.jsonl") adversarial executions recorded" >&2
echo "   sample predictions:" >&2
head -n 2 "$W/clean.pred" | sed 's/^/     /' >&2
head -n 2 "$W/adv.pred" | sed 's/^/     /' >&2

say "step 3/4: leaktrace analyze clean.jsonl adv.jsonl"
if [ "$ANALYZER" = leaktrace ]; then
	"$LT" analyze "$W/clean.jsonl" "$W/adv.jsonl" --rules-out "$W/rules.json"
	"$LT" analyze "$W/clean.jsonl" "$W/adv.jsonl" --format json > "$W/analysis.json"
else
	"$PY" "$ROOT/experiments/refanalyze.py" analyze "$W/clean.jsonl" "$W/adv.jsonl" > "$W/analysis.json"
	"$PY" "$ROOT/experiments/report.py" analysis "$W/analysis.json"
fi
"$PY" - "$W/analysis.json" > "$W/rule.txt" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))["observations"]["returns"]["D_IF"]
r = [e for e in d if e["key"] == "i16be" and e["value"] == "int:100"]
if r:
    print(r[0]["key"], r[0]["value"], r[0].get("path") or "")
EOF
if [ ! -s "$W/rule.txt" ]; then
	die "the analysis did not find (i16be, int:100) in D_IF(returns); see $W/analysis.json"
fi
read -r RK RV RS < "$W/rule.txt"
say "found the paper's rule: ($RK, $RV) at $RS"
say "  (PIL's JpegImagePlugin.APP reads the JFIF density with i16be: 1 for PIL's own JPEGs, 100 for matplotlib's)"

say "step 4/4: detection with that rule"
if [ "$ANALYZER" = leaktrace ]; then
	"$LT" detect --rules "$W/rules.json" --clean "$W/clean.jsonl" --adv "$W/adv.jsonl" > "$W/detect.txt"
	tail -n 12 "$W/detect.txt"
fi
"$PY" "$ROOT/experiments/refanalyze.py" detect --key "$RK" --value "$RV" --site "$RS" \
	--clean "$W/clean.jsonl" --adv "$W/adv.jsonl" > "$W/table1.json"
echo "Table I (value of i16be at the rule's site):"
"$PY" "$ROOT/experiments/report.py" table1 "$W/table1.json"
say "demo done; traces and outputs in $W"
