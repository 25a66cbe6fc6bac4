#!/bin/sh
# Times `leaktrace analyze` (wall time, peak RSS) on generated traces:
#   Table I scale: 1,000 clean + 4,000 adversarial executions of ~2,000 calls
#   large:         500,000 + 500,000 executions of ~200 calls (1M in total)
# and the Python baseline (pairwise on a subset, counting on Table I scale).
# Usage: bench/analyze_bench.sh [WORKDIR]   (needs ~13 GB free for the large
# case; set LARGE=0 to skip it, LARGE_N to change its size per side)
set -e
cd "$(dirname "$0")/.."
LT=.output/leaktrace
PY=${PY:-/usr/bin/python3.11}
W=${1:-$(mktemp -d /tmp/lt-bench-XXXXXX)}
LARGE=${LARGE:-1}
LARGE_N=${LARGE_N:-500000}
mkdir -p "$W"
run() { # label, command...
	label=$1; shift
	/usr/bin/time -f "%e %M" -o "$W/time" "$@" > "$W/out" 2>/dev/null
	set -- $(cat "$W/time")
	printf '%-40s %8.2f s %8.1f MB peak RSS\n' "$label" "$1" "$(echo "$2/1024" | bc -l)"
	LAST=$1
}
$PY bench/gen_trace.py 1000 2000 1 clean > "$W/t1-clean.jsonl"
$PY bench/gen_trace.py 4000 2000 2 adv > "$W/t1-adv.jsonl"
echo "Table I scale: $(du -sh "$W/t1-clean.jsonl" | cut -f1) + $(du -sh "$W/t1-adv.jsonl" | cut -f1)"
run "leaktrace analyze (1k+4k x 2000 calls)" $LT analyze -q "$W/t1-clean.jsonl" "$W/t1-adv.jsonl"
grep -q "i16be, int:100" "$W/out" || { echo "planted element not found"; exit 1; }
# the speed-up: the same counting on both sides (the returns observation,
# name keys), three interleaved runs each, medians compared (this 2-core
# VM is shared and its speed drifts by tens of percent within minutes)
TL=""; TP=""
for i in 1 2 3; do
	run "leaktrace analyze --observe returns" $LT analyze -q --observe returns "$W/t1-clean.jsonl" "$W/t1-adv.jsonl"
	TL="$TL $LAST"
	run "python baseline, counting (same)" $PY bench/analyze_baseline.py "$W/t1-clean.jsonl" "$W/t1-adv.jsonl" --counting
	TP="$TP $LAST"
done
med() { echo $* | tr ' ' '\n' | sort -n | sed -n 2p; }
printf 'speed-up over the Python counting baseline: %.1fx (medians %s s and %s s; target >= 20x)\n' \
	"$(echo "$(med $TP)/$(med $TL)" | bc -l)" "$(med $TL)" "$(med $TP)"
head -n 51 "$W/t1-clean.jsonl" > "$W/s-clean.jsonl"; head -n 51 "$W/t1-adv.jsonl" > "$W/s-adv.jsonl"
run "leaktrace analyze (50+50 subset)" $LT analyze -q "$W/s-clean.jsonl" "$W/s-adv.jsonl"
run "python baseline, pairwise (50+50)" $PY bench/analyze_baseline.py "$W/s-clean.jsonl" "$W/s-adv.jsonl"
if [ "$LARGE" = 1 ]; then
	$PY bench/gen_trace.py "$LARGE_N" 200 3 clean > "$W/l-clean.jsonl"
	$PY bench/gen_trace.py "$LARGE_N" 200 4 adv > "$W/l-adv.jsonl"
	echo "large: $(du -sh "$W/l-clean.jsonl" | cut -f1) + $(du -sh "$W/l-adv.jsonl" | cut -f1)"
	run "leaktrace analyze ($LARGE_N+$LARGE_N x 200)" $LT analyze -q "$W/l-clean.jsonl" "$W/l-adv.jsonl"
	echo "1M executions analysed in $LAST s (target < 60 s)"
	grep -q "i16be, int:100" "$W/out" || { echo "planted element not found"; exit 1; }
fi
[ -n "$1" ] || rm -rf "$W"
