#!/bin/bash
# Long run: leaktrace attached to a busy server for MINUTES (default 10),
# its RSS sampled every 10 s. The server handles requests in short-lived
# threads (so per-thread state must be released) and calls a root function
# ~2000 times a second. Prints a table; exits 1 if RSS grew more than 20%
# between the first and the last minute.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LT="$ROOT/.output/leaktrace"
PY=/usr/bin/python3.11
MIN=${MINUTES:-10}
W=$(mktemp -d)
trap 'kill $SRV $LTP 2>/dev/null || true; rm -rf "$W"' EXIT
cat > "$W/server.py" <<'PYEOF'
import threading, time
def parse(i):
    return {"id": i, "v": str(i % 97)}
def handle(i):
    req = parse(i)
    return len(req["v"]) + sum(k for k in range(i % 13))
def batch(n0):
    for i in range(n0, n0 + 200):
        handle(i)
n = 0
while True:
    t = threading.Thread(target=batch, args=(n,))
    t.start()
    t.join()
    n += 200
    time.sleep(0.1)
PYEOF
$PY "$W/server.py" & SRV=$!
sleep 1
"$LT" record -p $SRV --root handle -o "$W/t.jsonl.gz" 2>"$W/err" & LTP=$!
sleep 2
echo "| minute | leaktrace RSS (KiB) | trace size (KiB) |"
echo "|---|---|---|"
first=""
for ((s = 0; s < MIN * 6; s++)); do
	sleep 10
	rss=$(awk '/VmRSS/ {print $2}' /proc/$LTP/status)
	[ -n "$first" ] || [ $s -lt 6 ] || first=$rss
	if (( s % 6 == 5 )); then
		echo "| $(( (s + 1) / 6 )) | $rss | $(( $(stat -c %s "$W/t.jsonl.gz") / 1024 )) |"
	fi
done
last=$rss
kill -INT $LTP; wait $LTP || true
zcat "$W/t.jsonl.gz" | tail -1
cat "$W/err" | tail -2
first=${first:-$last}
echo "RSS after minute 1: $first KiB, at the end: $last KiB"
[ $(( last * 100 )) -le $(( first * 120 )) ]
