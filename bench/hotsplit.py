# Issue 20: the BPF programs' run time per probe hit, split by program
# (entry: lt_resume, return: lt_return on Debian's 3.11), for two or more
# leaktrace binaries interleaved in one session, with bpftrace's name
# count as the reference measured in the same rounds. Medians over the
# rounds: the machine is shared, one round is noisy.
#   hotsplit.py [--calls N] [--reps R] [--modes full,nodur] NAME=BINARY...
# Prints a markdown table on stdout; the per-round figures on stderr.
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402

LIFECYCLE = ("lt_exec", "lt_fork", "lt_child", "lt_exit")


def measure(mode, binary=None):
    """one loop run under mode; {prog: (run_cnt, run_time_ns)}, calls"""
    got = {}
    if binary:
        B.LT = binary

    def cb(pid):
        src = pid if mode.startswith("bpftrace") else B.CUR_REC[0].p.pid
        got.update(B.prog_stats(src))
    r = B.run_mode("loop", mode, hold_cb=cb)
    progs = {k: (v["run_cnt"], v["run_time_ns"]) for k, v in got.items()
             if not k.startswith(LIFECYCLE) and v["run_cnt"]}
    return progs, r["calls"]


def main():
    args = sys.argv[1:]
    B.CFG["loop_n"] = int(B.take_opt(args, "--calls", "100000"))
    reps = int(B.take_opt(args, "--reps", "5"))
    modes = B.take_opt(args, "--modes", "full,nodur").split(",")
    bins = [a.split("=", 1) for a in args]
    # (name, mode) -> {"per_call": [...], prog: [ns per run, ...]}
    res = {}
    with B.bpf_stats_on():
        for rep in range(reps):
            runs = [(n, m, b) for m in modes for n, b in bins] + [("bpftrace", "bpftrace", None)]
            # interleave: every round in another order
            runs = runs[rep % len(runs):] + runs[:rep % len(runs)]
            for name, mode, binary in runs:
                progs, calls = measure(mode, binary)
                d = res.setdefault((name, mode), {"per_call": []})
                tot = sum(ns for _, ns in progs.values())
                if mode == "bpftrace":
                    # bpftrace -c also traces the interpreter's start-up:
                    # its time per run, one run per Python call
                    cnt = sum(c for c, _ in progs.values())
                    tot = tot * calls // max(1, cnt)
                d["per_call"].append(tot / calls)
                for p, (c, ns) in progs.items():
                    d.setdefault(p, []).append(ns / max(1, c))
                B.log(f"round {rep} {name} {mode}: {tot / calls:.0f} ns/call "
                      + " ".join(f"{p}={ns / max(1, c):.0f}ns x{c}" for p, (c, ns) in progs.items()))
    bt = statistics.median(res[("bpftrace", "bpftrace")]["per_call"])
    print(f"Loop workload ({B.CFG['loop_n']} calls of `f`), {reps} interleaved rounds, medians; "
          f"load average {open('/proc/loadavg').read().split()[0]}.\n")
    # the first binary of each mode is the reference of the paired
    # ratios: each round's figure over the reference's of the same round
    # (adjacent runs share the machine's state more than distant ones)
    ref = {m: res[(bins[0][0], m)]["per_call"] for m in modes}
    print("| binary | mode | BPF ns per Python call (median, min) | x bpftrace name count | "
          "x first binary, paired by round | ns per run, by program (median) |")
    print("|---|---|---|---|---|---|")
    for (name, mode), d in res.items():
        pc = statistics.median(d["per_call"])
        progs = ", ".join(f"{p} {statistics.median(v):.0f}" for p, v in d.items() if p != "per_call")
        x = f"{pc / bt:.2f}" if mode != "bpftrace" else ""
        pr = f"{statistics.median(a / b for a, b in zip(d['per_call'], ref[mode])):.3f}" \
            if mode in ref else ""
        print(f"| {name} | {mode} | {pc:.0f}, {min(d['per_call']):.0f} | {x} | {pr} | {progs} |")


if __name__ == "__main__":
    main()
