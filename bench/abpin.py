# Issue 20: the BPF programs' run time per probe hit for two or more
# leaktrace binaries, pinned: the traced loop (Debian's python3.11) on CPU 0,
# the recorder on CPU 1, the binaries alternating round by round. On the
# 2-CPU guests of this project, unpinned runs fall into a fast and a slow
# state (hotsplit.py, PERFORMANCE.md sixth round); pinned, the spread
# between rounds is far smaller, so a change of 10% reads in a few rounds.
#   abpin.py [--calls N] [--reps R] [--sid 3.X] [--gen] [-- RECORD-OPTIONS...] NAME=BINARY...
# --gen runs bench/gen.py (a generator resumed by sum(), N/2 calls of g)
# instead of the loop.
# --sid 3.X runs the loop on Debian sid's python3.X, chrooted into
# tools/mkroots.sh's root (its stdlib the build's own; chroot execs it).
# Per round on stderr; medians and minimums per binary on stdout:
# "per_call" is the BPF time per Python call (every program the recorder
# loaded, syscall tracepoints included), "chunk" the loop's median ns per
# call (bench/loop.py's 20 timed chunks).
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402


SID = "/var/tmp/leaktrace-roots/sid"


def loop_cmd(sid, script):
    """the workload's command: Debian's python3.11, or sid's python3.X"""
    if not sid:
        return ["/usr/bin/python3.11", os.path.join(B.HERE, script)]
    with open(os.path.join(B.HERE, script)) as f, \
            open(os.path.join(SID, "tmp", script), "w") as g:
        g.write(f.read())
    return ["chroot", SID, "python" + sid, "/tmp/" + script]


def one(binary, calls, extra, out, sid, gen):
    """one pinned run of the loop (gen: the generator workload) under binary;
    (BPF ns per call, chunk ns per call (gen: whole run), {program: ns per run})"""
    py = subprocess.Popen(["taskset", "-c", "0"] + loop_cmd(sid, "gen.py" if gen else "loop.py") +
                          [str(calls // 2 if gen else calls), "--hold"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    B.read_json_line(py.stdout, "ready")
    rec = B.Recorder(extra, "burst" if gen else "run", out, "abpin " + binary, binary=binary)
    try:
        rec.start(py.pid)
    except RuntimeError:
        py.kill()
        raise
    py.stdin.write("go\n")
    py.stdin.flush()
    res = json.loads(py.stdout.readline())
    stats = B.prog_stats(rec.p.pid)
    py.stdin.write("exit\n")
    py.stdin.flush()
    py.wait()
    rec.finish()
    total = sum(v["run_time_ns"] for v in stats.values())
    per_run = {k: v["run_time_ns"] / v["run_cnt"] for k, v in stats.items()
               if v["run_cnt"] >= calls // 2}
    calls = res["calls"]
    chunk = B.chunk_time(res) / calls * 1e9
    return total / calls, chunk, per_run


def main():
    args = sys.argv[1:]
    extra = []
    if "--" in args:
        i = args.index("--")
        args, extra = args[:i], args[i + 1:]

    calls = int(B.take_opt(args, "--calls", "200000"))
    reps = int(B.take_opt(args, "--reps", "6"))
    sid = B.take_opt(args, "--sid", "")
    gen = "--gen" in args
    if gen:
        args.remove("--gen")
    bins = [a.split("=", 1) for a in args]
    if not bins or any(len(b) != 2 for b in bins):
        sys.exit("usage: abpin.py [--calls N] [--reps R] [--sid 3.X] [--gen] [-- RECORD-OPTIONS] "
                 "NAME=BINARY...")
    os.makedirs(B.WORK, exist_ok=True)
    B.PIN[0] = (0, 1)   # the recorder on CPU 1 (the workload: taskset above)
    res = {}
    with B.bpf_stats_on():
        for rep in range(reps):
            for name, binary in (bins if rep % 2 == 0 else bins[::-1]):
                per_call, chunk, per_run = one(binary, calls, extra,
                                               os.path.join(B.WORK, "abpin.jsonl"), sid, gen)
                d = res.setdefault(name, {"per_call": [], "chunk": []})
                d["per_call"].append(per_call)
                d["chunk"].append(chunk)
                for k, v in per_run.items():
                    d.setdefault(k, []).append(v)
                print(f"round {rep} {name}: {per_call:.0f} ns/call, chunk {chunk:.0f} ns, " +
                      " ".join(f"{k}={v:.0f}" for k, v in per_run.items()),
                      file=sys.stderr, flush=True)
    for name, d in res.items():
        print(name, " ".join(f"{k} {statistics.median(v):.0f} (min {min(v):.0f})"
                             for k, v in d.items()))


main()
