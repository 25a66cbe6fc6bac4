# Generator-heavy workload (issue 20 item 4): every call of g is made from a
# generator expression, so each one costs a generator resume as well.
#   gen.py N [--bursts B]   B bursts (default 1) of sum(g(i) for i in
#                           range(N)), each under its own root `burst`
# Prints one JSON line with the Python calls made (roots, generator starts
# and resumes included: 2N + 2 per burst) and the time of the bursts
# measured with perf_counter (start-up excluded). Same stdin protocol as
# loop.py: waits for a line before the bursts and, with --hold, after.
import json, sys, time


def g(i):
    return i


def burst(n):
    return sum(g(i) for i in range(n))


def main():
    args = [a for a in sys.argv[1:] if a != "--hold"]
    hold = "--hold" in sys.argv
    n = int(args[0]) if args else 200000
    bursts = int(args[2]) if len(args) > 2 and args[1] == "--bursts" else 1
    print(json.dumps({"ready": True}), flush=True)
    sys.stdin.readline()
    t0 = time.perf_counter()
    for _ in range(bursts):
        burst(n)
    t1 = time.perf_counter()
    # per burst: burst, the generator's start, its N resumes that yield,
    # the final resume that ends it, and the N calls of g
    res = {"workload": "gen", "root": "burst", "calls": bursts * (2 * n + 2),
           "loop_s": t1 - t0}
    print(json.dumps(res), flush=True)
    if hold:
        sys.stdin.readline()


main()
