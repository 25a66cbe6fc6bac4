#!/bin/sh
# On the GPU machine (an Ubuntu python3.12 that no table here knows, stripped,
# with CUDA torch; 16 cores, cheap traps), from the project root, with .device/
# from bench/device_pack.sh. Writes under $OUT (or /tmp/lt-device):
# 1. a CUDA inference traced with record -- and -p, compared with the
#    in-process oracle call for call (tests/treecmp.py);
# 2. full capture against its floor on bench/loop.py, untraced/floor/full
#    interleaved 3 times (the ratio is what counts; the machine's floor is
#    printed next to it).
D=$PWD/.device
O=${OUT:-/tmp/lt-device}
mkdir -p "$O"
export LD_LIBRARY_PATH=$D/lib
LT=$D/leaktrace
PY=$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))')
echo "== machine: $(uname -r), $(nproc) cores, uid $(id -u); python $PY: $($PY -V 2>&1)"
$LT --version
$LT record -v --root predict -o "$O/rec.jsonl" -- python3 bench/cuda_predict.py 5 > "$O/rec.out" 2> "$O/rec.err"
echo "record exit $?"; grep -v libbpf "$O/rec.err" | tail -12
python3 tests/oracle.py --root predict -o "$O/oracle.jsonl" bench/cuda_predict.py 5 > "$O/oracle.out" 2>&1
echo "oracle exit $?"; tail -2 "$O/oracle.out"
python3 - "$O" <<'PYEOF'
import json, sys
sys.path.insert(0, "tests")
import treecmp
o = sys.argv[1]
rec = treecmp.load(o + "/rec.jsonl")
calls = sum(treecmp.count(e["root"]) for e in rec)
print("recorded: %d executions, %d calls, complete %s" % (len(rec), calls, all(e["complete"] for e in rec)))
p = treecmp.compare(o + "/rec.jsonl", o + "/oracle.jsonl", closed_gens=True)
print("record -- vs oracle:", "EQUAL" if not p else p[:3])
PYEOF
# -p: attach to a server waiting on stdin, then let it run
mkfifo "$O/go"
python3 -c "
import runpy, sys
sys.argv = ['bench/cuda_predict.py', '5']
open('$O/go').read()
runpy.run_path('$PWD/bench/cuda_predict.py', run_name='__main__')
" > "$O/pid.out" 2>&1 &
TPID=$!
sleep 3
$LT record -p "$TPID" --root predict -o "$O/pid.jsonl" 2> "$O/pid.err" &
LPID=$!
sleep 3
echo go > "$O/go"
wait $TPID
sleep 1; kill -INT $LPID 2>/dev/null; wait $LPID; echo "record -p exit $?"; tail -3 "$O/pid.err"
python3 - "$O" <<'PYEOF'
import sys
sys.path.insert(0, "tests")
import treecmp
o = sys.argv[1]
p = treecmp.compare(o + "/pid.jsonl", o + "/oracle.jsonl", closed_gens=True)
print("record -p vs oracle:", "EQUAL" if not p else p[:3])
PYEOF
echo "== overhead on bench/loop.py (us per call, median of 3)"
python3 - "$LT" python3 <<'PYEOF'
import json, statistics, subprocess, sys
lt, py = sys.argv[1], sys.argv[2]
def one(mode):
    cmd = [py, "bench/loop.py", "200000"]
    if mode != "untraced":
        cmd = [lt, "record"] + (["--floor"] if mode == "floor" else ["--root", "run", "-o", "/dev/null"]) + ["--"] + cmd
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    r = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{") and "loop_s" in l]
    return r[-1]["loop_s"] / r[-1]["calls"] * 1e6 if r else float("nan")
t = {m: [] for m in ("untraced", "floor", "full")}
for _ in range(3):
    for m in t:
        t[m].append(one(m))
m = {k: statistics.median(v) for k, v in t.items()}
print("untraced %.3f  floor %.3f  full %.3f  full/floor %.2fx (overheads)" % (
    m["untraced"], m["floor"], m["full"], (m["full"] - m["untraced"]) / (m["floor"] - m["untraced"])))
PYEOF
