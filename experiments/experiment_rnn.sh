#!/bin/bash
# Experiment 4 (paper IV-C, Tables VI-VII): LSTM "speech to text" timing.
# One execution per stt() call; time observation (50 ms threshold), the
# Mann-Whitney AUC of stt's durations, and the per-execution times.
#
#   experiments/experiment_rnn.sh [--n 19] [--no-doc]
# Env: RECORDER, ANALYZER (experiments/lib.sh).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/experiments/lib.sh"
N=19 DOCW=1
while [ $# -gt 0 ]; do
	case "$1" in
	--n) N=$2; shift 2 ;;
	--no-doc) DOCW=0; shift ;;
	*) die "unknown option $1" ;;
	esac
done
W="$ROOT/work/rnn-$N"
mkdir -p "$W"
pick_tools
T0=$(date +%s)
say "1/3 LSTM model, $N clean and $N adversarial utterances"
"$PY" "$ROOT/experiments/rnn.py" prepare --out "$W" --n "$N"
say "2/3 recording stt() ($RECORDER)"
record stt "$W/clean.jsonl.gz" -- "$PY" "$ROOT/experiments/rnn.py" stt "$W/clean" > "$W/clean.txt"
record stt "$W/adv.jsonl.gz" -- "$PY" "$ROOT/experiments/rnn.py" stt "$W/adv" > "$W/adv.txt"
say "3/3 analyze --observe time,calls,returns ($ANALYZER) and AUC (refanalyze)"
analyze "$W/clean.jsonl.gz" "$W/adv.jsonl.gz" "$W/analysis.json"
"$PY" "$ROOT/experiments/refanalyze.py" analyze "$W/clean.jsonl.gz" "$W/adv.jsonl.gz" --observe time --auc > "$W/auc.json"
"$PY" "$ROOT/experiments/refanalyze.py" times --key stt "$W/clean.jsonl.gz" "$W/adv.jsonl.gz" > "$W/times.json"
"$PY" "$ROOT/experiments/report.py" analysis "$W/analysis.json" >&2
T1=$(date +%s)
[ $DOCW = 1 ] || exit 0
{
	echo "## Experiment 4: LSTM speech-to-text timing ($N clean, $N adversarial utterances)"
	echo
	echo "Regenerate (as root, or with sudo): \`experiments/experiment_rnn.sh --n $N\`"
	echo "(run on $(date -u +%Y-%m-%d), $(nproc) CPUs; recorder: \`$RECORDER\`, analyzer: \`$ANALYZER\`; total $((T1 - T0)) s)."
	echo
	"$PY" - "$W/manifest.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
fr = [r["frames"] for r in m["rows"]]
print("Utterances of 60 letters (%d-%d frames). Targeted PGD (L-inf 0.6 on features with noise sd 0.6) "
      "changes the transcript of %d of %d adversarial utterances (greedy decoding); clean greedy "
      "transcripts match the reference exactly in %d of %d (noise makes the LSTM flicker on a few frames)."
      % (min(fr), max(fr), m["transcript_changed"], m["n"], m["clean_exact"], m["n"]))
EOF
	echo
	"$PY" "$ROOT/experiments/report.py" analysis "$W/analysis.json"
	echo
	"$PY" - "$W/times.json" "$W/auc.json" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1]))
auc = json.load(open(sys.argv[2]))["observations"]["time"].get("auc", {})
n = len(t["clean"])
print("Table VII: time of stt() in each execution (ms, from the traces; includes the recorder's overhead)\n")
print("| index | " + " | ".join(str(i) for i in range(n)) + " |")
print("|---" * (n + 1) + "|")
print("| normal | " + " | ".join("%.0f" % v for v in t["clean"]) + " |")
print("| adversarial | " + " | ".join("%.0f" % v for v in t["adv"]) + " |")
longer = sum(a > c for a, c in zip(t["adv"], t["clean"]))
print("\nAdversarial longer than its clean pair in %d of %d pairs; mean %.0f ms vs %.0f ms; "
      "Mann-Whitney AUC P(adv > clean) for stt: %s; beam_decode: %s."
      % (longer, n, sum(t["adv"]) / n, sum(t["clean"]) / n, auc.get("stt"), auc.get("beam_decode")))
EOF
} | doc_section rnn
