# Tight call loop with int returns, the call-heaviest Python workload.
#   loop.py N            N calls of f(i) under one root call `run`, timed
#                        in 20 chunks
#   loop.py --seconds S [--rate R]
#                        calls of f(i) in batches of 1000 under roots `batch`
#                        for S seconds (the loss test: one execution per
#                        batch), at most R calls/s when --rate is given
# Prints one JSON line with the calls it made (roots included) and the loop
# time measured inside with perf_counter (start-up excluded). With stdin a
# pipe it waits for a line before the loop (a tracer attaches first) and,
# with --hold, for another line before exiting (BPF stats are read then).
import json, sys, time


def f(i):
    return i


def run(n, chunk_s):
    # 20 timed chunks: the median chunk resists bursts of other jobs
    k = n // 20
    for c in range(20):
        t = time.perf_counter()
        for i in range(k):
            f(i)
        chunk_s.append(time.perf_counter() - t)
    return n


def batch():
    for i in range(1000):
        f(i)
    return 1000


def main():
    args = [a for a in sys.argv[1:] if a != "--hold"]
    hold = "--hold" in sys.argv
    print(json.dumps({"ready": True}), flush=True)
    sys.stdin.readline()
    if args and args[0] == "--seconds":
        rate = float(args[3]) if len(args) > 3 and args[2] == "--rate" else 0.0
        t0 = time.perf_counter()
        deadline = t0 + float(args[1])
        batches = 0
        while time.perf_counter() < deadline:
            batch()
            batches += 1
            if rate:
                ahead = t0 + batches * 1001 / rate - time.perf_counter()
                if ahead > 0:
                    time.sleep(ahead)
        t1 = time.perf_counter()
        calls = batches * 1001      # 1000 calls of f + the batch root
        root = "batch"
    else:
        n = int(args[0]) if args else 300000
        n -= n % 20
        chunk_s = []
        t0 = time.perf_counter()
        run(n, chunk_s)
        t1 = time.perf_counter()
        calls = n + 1               # n calls of f + the root
        root = "run"
    res = {"workload": "loop", "root": root, "calls": calls, "loop_s": t1 - t0}
    if root == "run":
        res["chunk_s"] = chunk_s
    print(json.dumps(res), flush=True)
    if hold:
        sys.stdin.readline()


main()
