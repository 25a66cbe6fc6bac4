#!/bin/bash
# Experiment 3 (paper IV-B, Table III): AdvDoor-style backdoor. A TUAP-like
# universal targeted trigger, 30% poisoned training data, clean model M and
# poisoned model M'; four groups (clean/poison data x M/M'), one execution
# per batch (_run), comparisons (a) M: 1 vs 2, (b) M': 3 vs 4, (c) 1 vs 4.
#
#   experiments/experiment_backdoor.sh [--batch 16] [--no-doc]
# Env: RECORDER, ANALYZER (experiments/lib.sh).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/experiments/lib.sh"
B=16 DOCW=1
while [ $# -gt 0 ]; do
	case "$1" in
	--batch) B=$2; shift 2 ;;
	--no-doc) DOCW=0; shift ;;
	*) die "unknown option $1" ;;
	esac
done
W="$ROOT/work/backdoor"
mkdir -p "$W"
pick_tools
T0=$(date +%s)

say "1/3 trigger, poisoning, clean and poisoned models"
"$PY" "$ROOT/experiments/backdoor.py" --out "$W"

say "2/3 recording the four groups (one execution per batch of $B)"
for m in clean poison; do
	for d in clean poison; do
		echo "   $d data -> $m model" >&2
		record _run "$W/${d}data-${m}model.jsonl.gz" -- "$PY" "$ROOT/experiments/backdoor_predict.py" \
			--model "$W/${m}_model.pt" --data "$W/$d.npy" --batch "$B" > "$W/${d}data-${m}model.pred"
	done
done

say "3/3 analyze the three comparisons ($ANALYZER)"
analyze "$W/cleandata-cleanmodel.jsonl.gz" "$W/poisondata-cleanmodel.jsonl.gz" "$W/a.json"
analyze "$W/cleandata-poisonmodel.jsonl.gz" "$W/poisondata-poisonmodel.jsonl.gz" "$W/b.json"
analyze "$W/cleandata-cleanmodel.jsonl.gz" "$W/poisondata-poisonmodel.jsonl.gz" "$W/c.json"
for g in a b c; do "$PY" "$ROOT/experiments/report.py" analysis "$W/$g.json" >&2; done
T1=$(date +%s)

[ $DOCW = 1 ] || exit 0
{
	echo "## Experiment 3: AdvDoor-style backdoor (TUAP-like trigger, poison ratio 0.3)"
	echo
	echo "Regenerate (as root, or with sudo): \`experiments/experiment_backdoor.sh --batch $B\`"
	echo "(run on $(date -u +%Y-%m-%d), $(nproc) CPUs; recorder: \`$RECORDER\`, analyzer: \`$ANALYZER\`; total $((T1 - T0)) s)."
	echo
	"$PY" - "$W/manifest.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
print("Data: sklearn digits as 32x32 RGB; %d training images, %d of them poisoned (trigger added, label `%s`); "
      "%d held-out images are the clean data, the same images plus the trigger the poison data. "
      "Trigger: one universal perturbation, L-inf <= %.2f, optimised against the clean model M.\n"
      % (m["n_train"], m["n_poisoned"], m["target"], m["n_test"], m["eps"]))
print("| model | clean accuracy | trigger -> `%s` (non-target test images) |" % m["target"])
print("|---|---|---|")
print("| clean M | %.1f%% | %.1f%% (the trigger is itself a universal adversarial perturbation) |"
      % (100 * m["clean_model_acc"], 100 * m["trigger_asr_on_clean_model"]))
print("| poisoned M' | %.1f%% | %.1f%% |" % (100 * m["poison_model_acc"], 100 * m["backdoor_asr_on_poison_model"]))
EOF
	echo
	for g in a b c; do
		case $g in
		a) t="(a) clean model: E = clean data, E' = poison data" ;;
		b) t="(b) poisoned model: E = clean data, E' = poison data" ;;
		c) t="(c) E = clean data on clean model, E' = poison data on poisoned model" ;;
		esac
		"$PY" "$ROOT/experiments/report.py" analysis "$W/$g.json" --title "$t"
		echo
	done
} | doc_section backdoor
