# Hot-path figures of issue 20, every one from this single invocation:
#   - the machine's uprobe trap cost per hit (bench/trapcost.c), printed
#     next to every ratio, since a costly trap hides the programs' cost;
#   - per workload (loop, generator, torch where the python has it, and the
#     loop and generator on Debian sid's python3.14 where tools/mkroots.sh
#     built its root: the 3.12+ sites on a stripped build): loop time of the floor and full
#     modes (with and without durations) and bpftrace's name count, and the
#     BPF programs' run time per Python call (kernel.bpf_stats_enabled);
#   - the burst loss test: 2 processes, each with its own record, pinned to
#     the 2 CPUs, 3 bursts of N generator calls each; lost events, and
#     the recorder's CPU per call, and each of its threads' CPU during the
#     bursts (the consumer's capacity per thread).
# Prints markdown on stdout (bench/run.sh appends it to docs/PERFORMANCE.md).
#   hotpath.py [--calls N] [--burst N] [--reps R] [--torch-iters N] [--pin]
# --reps R repeats every workload and mode R times, in turn (default 1):
# the table gives medians, and each ratio the median of the repetitions'
# own ratios with their range.
# --pin: each workload on CPU 0, its recorder (or bpftrace) on CPU 1, and a
# workload's time its median chunk times their number (benchlib's
# chunk_time; the generator has none): on this project's 2-CPU guests an
# unpinned run falls into a fast and a slow state (PERFORMANCE.md, issue 20).
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as B  # noqa: E402
import bench  # noqa: E402  (bench_trapcost)

B.WORKLOADS["gen"] = {"root": "burst", "what": "generator expression over `def g(i): return i`"}
B.WORKLOADS["loop314"] = {"root": "run", "what": "the loop on Debian sid's python3.14"}
B.WORKLOADS["gen314"] = {"root": "burst", "what": "the generator workload on Debian sid's python3.14"}
SID = "/var/tmp/leaktrace-roots/sid"
# workloads run by sid's python3.14: their script, calls per iteration
SID_WL = {"loop314": ("loop.py", 1), "gen314": ("gen.py", 2)}
_wl_cmd = B.wl_cmd


def wl_cmd(w, hold=False):
    if w in SID_WL:
        # inside the root, so that its stdlib is the build's own (as
        # bench/versions.py); chroot execs the python: its pid is traced
        script, per = SID_WL[w]
        os.makedirs(os.path.join(SID, "tmp"), exist_ok=True)
        with open(os.path.join(B.HERE, script)) as f, \
                open(os.path.join(SID, "tmp", script), "w") as g:
            g.write(f.read())
        return ["chroot", SID, "python3.14", "/tmp/" + script, str(B.CFG["loop_n"] // per)] + \
            (["--hold"] if hold else [])
    if w == "gen":
        return [B.PY, os.path.join(B.HERE, "gen.py"), str(B.CFG["loop_n"] // 2)] + \
            (["--hold"] if hold else [])
    return _wl_cmd(w, hold)


B.wl_cmd = wl_cmd

MODES = ("untraced", "floor", "full", "nodur_floor", "nodur", "bpftrace_floor", "bpftrace")


def one_run(w, have_bpftrace):
    """every mode once, with BPF stats; {mode: (loop_s, bpf_ns, calls, lost)}"""
    raw = {}
    for m in MODES:
        if m.startswith("bpftrace") and (not have_bpftrace or w in SID_WL):
            continue  # (3.14: no USDT note for bpftrace's reference)
        got = {}

        def cb(pid, got=got, m=m):
            if m != "untraced":
                got.update(B.prog_stats(pid if m.startswith("bpftrace") else B.CUR_REC[0].p.pid))
        raw[m] = (B.run_mode(w, m, hold_cb=cb), got)
    # the loop's workloads count their calls; torch's are those full
    # capture recorded under its root
    out = {}
    for m, (r, got) in raw.items():
        calls = r.get("calls") or raw["full"][0]["rec_calls"]
        ns = sum(v["run_time_ns"] for k, v in got.items()
                 if not k.startswith(("lt_exec", "lt_fork", "lt_child", "lt_exit")))
        if m.startswith("bpftrace"):
            # bpftrace -c traces the interpreter's start-up too: its time
            # per run (one run per Python call) x the calls of the loop
            cnt = sum(v["run_cnt"] for v in got.values())
            ns = ns * calls // max(1, cnt)
        # pinned: the median chunk times their number (B.chunk_time)
        out[m] = (B.chunk_time(r) if B.PIN[0] else r["loop_s"], ns, calls, r.get("lost"))
        B.log(f"hotpath {w} {m}: {r['loop_s']:.3f} s, bpf {ns} ns, {got}")
    return out


def burst_loss(n):
    procs, recs = [], []
    for i in range(2):
        p = subprocess.Popen(["taskset", "-c", str(i % os.cpu_count()), B.PY,
                              os.path.join(B.HERE, "gen.py"), str(n), "--bursts", "3", "--hold"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        B.read_json_line(p.stdout, "ready")
        r = B.Recorder([], "burst", os.path.join(B.WORK, f"burst{i}.jsonl"), "burst recorder")
        r.start(p.pid)
        procs.append(p)
        recs.append(r)
    # each recorder's threads' CPU while the bursts run (its capacity per
    # thread), apart from its start (loading, attaching) and its end
    cpu0 = [B.thread_cpu(r.p.pid) for r in recs]
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    res = [B.read_json_line(p.stdout, "workload") for p in procs]
    time.sleep(1)	# the consumers' last polls (20 ms apart)
    cpu1 = [B.thread_cpu(r.p.pid) for r in recs]
    for p in procs:
        p.stdin.close()
        p.wait(timeout=600)
    out = []
    for r, x, c0, c1 in zip(recs, res, cpu0, cpu1):
        f = r.finish()
        f.update(x)
        f["threads_s"] = {k: v - c0.get(k, 0.0) for k, v in c1.items()}
        out.append(f)
    return out


def med_range(xs):
    """a ratio's median over the repetitions, its range after it"""
    if not xs:
        return ""
    if len(xs) == 1:
        return f"{xs[0]:.2f}"
    return f"{statistics.median(xs):.2f} ({min(xs):.2f}-{max(xs):.2f})"


def main():
    args = sys.argv[1:]
    calls = int(B.take_opt(args, "--calls", 200000))
    bn = int(B.take_opt(args, "--burst", 400000))
    nrep = int(B.take_opt(args, "--reps", 1))
    if "--pin" in args and os.cpu_count() >= 2:
        B.PIN[0] = (0, 1)
    # torch's loop: 10x bench.py's, so that its run (about 1 s untraced)
    # outlasts the machine's noise; with 200 iterations it took 0.1 s and
    # its ratios were noise (the floor read faster than untraced)
    B.CFG["torch_iters"] = int(B.take_opt(args, "--torch-iters", 10 * B.CFG["torch_iters"]))
    B.CFG["loop_n"] = calls
    have_bpftrace = bool(B.sh("command -v bpftrace"))
    trap = bench.bench_trapcost() if have_bpftrace else None
    path = "/proc/sys/kernel/bpf_stats_enabled"
    old = open(path).read().strip()
    work = []
    for w in ("loop", "gen", "torch", "loop314", "gen314"):
        if w == "torch" and B.sh(B.PY + " -c 'import torch' 2>/dev/null && echo y") != "y":
            B.log("hotpath: no torch for %s, its workload left out" % B.PY)
            continue
        if w in SID_WL and not os.path.exists(os.path.join(SID, "usr/bin/python3.14")):
            B.log("hotpath: no Debian sid root (tools/mkroots.sh), %s left out" % w)
            continue
        work.append(w)
    reps = {w: [] for w in work}
    try:
        with open(path, "w") as f:
            f.write("1")
        # repetitions in turn, so that a slow spell of the machine falls on
        # every workload and mode alike
        for _ in range(nrep):
            for w in work:
                reps[w].append(one_run(w, have_bpftrace))
    finally:
        with open(path, "w") as f:
            f.write(old)
    pinned = B.PIN[0]
    B.PIN[0] = None	# (the burst test pins a process to each CPU itself)
    loss = burst_loss(bn)

    p = print
    if trap:
        hit = trap["nop1"] - trap["nop1_bare"]
        trap_s = f"{hit / 1e3:.2f} us per uprobe hit (int3 on a 1-byte nop, bench/trapcost.c)"
    else:
        trap_s = "not measured (no bpftrace)"
    p(f"Measured by bench/hotpath.py in one run: every figure in this section comes from it. "
      f"Trap cost of this machine: **{trap_s}**; each Python call hits 2 probes "
      f"(1 with `--no-durations`). Load average: {open('/proc/loadavg').read().split()[0]}.\n")
    how = ("one repetition each, so noisy on a shared 2-CPU machine" if nrep == 1 else
           f"{nrep} repetitions, each running every workload and mode in turn: loop time and "
           f"BPF time are medians of the repetitions, each ratio the median of the "
           f"repetitions' own ratios, with their range in brackets")
    if pinned:
        how += (f"; pinned: every workload on CPU {pinned[0]}, the recorder or bpftrace on CPU "
                f"{pinned[1]}, and a workload's time its median chunk times their number "
                f"(bench/loop.py's 20 chunks, torch's iterations; the generator's whole time)")
    p("Overhead ratios divide (loop time of the mode - untraced) by (that of its floor - untraced) "
      f"from the same repetition ({how}); BPF ns per "
      "call is the run_time_ns of the programs on the Python calls' probes (process lifecycle "
      "programs left out) / Python calls made.\n")
    if nrep > 1:
        p("The column \"from the fastest\" divides the same differences of each mode's fastest "
          "repetition (the least disturbed by the machine's other work: a noise that only adds "
          "time), a second reading of the same run.\n")
    p("| workload | mode | loop s | us per call | overhead x its floor | from the fastest | BPF ns per call | BPF x bpftrace name count | trap us per hit |")
    p("|---|---|---|---|---|---|---|---|---|")
    for w, rs in reps.items():
        for m in rs[0]:
            fl = {"full": "floor", "nodur": "nodur_floor", "bpftrace": "bpftrace_floor"}.get(m)
            s = statistics.median(R[m][0] for R in rs)
            ns = statistics.median(R[m][1] for R in rs)
            c = rs[0][m][2]
            over = [(R[m][0] - R["untraced"][0]) / (R[fl][0] - R["untraced"][0])
                    for R in rs if fl and R[fl][0] > R["untraced"][0]]
            bx = [R[m][1] / R["bpftrace"][1] for R in rs
                  if m in ("full", "nodur") and R.get("bpftrace") and R["bpftrace"][1]]
            fast = ""
            if fl and nrep > 1:
                lo = {k: min(R[k][0] for R in rs) for k in (m, fl, "untraced")}
                if lo[fl] > lo["untraced"]:
                    fast = f"{(lo[m] - lo['untraced']) / (lo[fl] - lo['untraced']):.2f}"
            p(f"| {w} | {m} | {s:.3f} | {1e6 * s / c:.3f} | {med_range(over)} | {fast} | {ns / c:.0f} | "
              f"{med_range(bx)} | {trap_s.split(' us')[0] if trap else ''} |")
    p()
    # the reading below: the medians
    runs = {w: {m: tuple(statistics.median(R[m][i] for R in rs) for i in (0, 1)) + (rs[0][m][2],)
                for m in rs[0]} for w, rs in reps.items()}
    tot = sum(x["lost"] for x in loss)
    p(f"Burst loss test: 2 processes pinned to CPU 0 and 1, each with its own `record` (default "
      f"4 MiB ring buffer), 3 bursts of `sum(g(i) for i in range({bn}))`: lost {tot}.\n")
    p("| process | Python calls made | recorded | lost | burst time s | recorder CPU s (user+sys, all its threads) | recorder CPU us per recorded call | recorded calls per CPU-second of the recorder | max RSS MiB |")
    p("|---|---|---|---|---|---|---|---|---|")
    for i, x in enumerate(loss):
        per = 1e6 * x["lt_cpu_s"] / max(1, x["rec_calls"])
        p(f"| {i} | {x['calls']} | {x['rec_calls']} | {x['lost']} | {x['loop_s']:.1f} | "
          f"{x['lt_user_s']:.2f}+{x['lt_sys_s']:.2f} | {per:.2f} | {1e6 / per / 1e3:.0f} k | "
          f"{x['lt_maxrss_kb'] // 1024} |")
    p()
    p("The consumer's capacity per thread: each recorder's threads' CPU while the bursts ran "
      "(from /proc, 10 ms ticks; its start, loading and attaching, left out). The main thread "
      "(`leaktrace`) consumes the ring buffer and rebuilds the trees; `lt-writer` writes the "
      "trace. A call is two records, an ENTRY and a RET.\n")
    p("| process | producer's calls per second | consumer thread CPU s | its calls per CPU-second "
      "| share of a CPU | writer thread CPU s | its calls per CPU-second | other threads CPU s |")
    p("|---|---|---|---|---|---|---|---|")
    for i, x in enumerate(loss):
        th = dict(x["threads_s"])
        cons, wr = th.pop("main", 0.0), th.pop("lt-writer", 0.0)
        rate = lambda s: f"{x['rec_calls'] / s / 1e3:.0f} k" if s > 0 else ""
        p(f"| {i} | {x['calls'] / x['loop_s'] / 1e3:.0f} k | {cons:.2f} | {rate(cons)} | "
          f"{100 * cons / x['loop_s']:.0f}% | {wr:.2f} | {rate(wr)} | {sum(th.values()):.2f} |")
    p()
    lp = runs["loop"]
    if "bpftrace" in lp:
        full_bpf = lp["full"][1] / lp["full"][2]
        share = 100 * full_bpf / (1e9 * (lp['floor'][0] - lp['untraced'][0]) / lp['floor'][2])
        trap = trap_s.split(' per')[0]
        if share < 30:
            how = (f"with traps of {trap} the trap dominates: the full programs' {full_bpf:.0f} "
                   f"ns per call are {share:.0f}% of the floor's time per call on the loop, so "
                   f"the overhead ratio to the floor stays near 1 whatever the programs cost, "
                   f"and is noisier than that difference.")
        else:
            how = (f"with traps of {trap} the full programs' {full_bpf:.0f} ns per call are "
                   f"{share:.0f}% of the floor's time per call on the loop: the overhead ratio "
                   f"to the floor shows their cost.")
        if tot:
            lost = (f"The burst lost {tot} records: 2 producers at full speed on 2 CPUs leave "
                    f"the consumers less CPU than they need at the cost per record in the "
                    f"table; here the consumer is the first limit.")
        else:
            cap = min((x["rec_calls"] / x["threads_s"]["main"]
                       for x in loss if x["threads_s"].get("main")), default=0)
            prod = max(x["calls"] / x["loop_s"] for x in loss)
            lost = (f"The burst lost nothing: a consumer thread handles {cap / 1e3:.0f} k calls "
                    f"per CPU-second, {cap / prod:.1f}x what the fastest producer made here "
                    f"({prod / 1e3:.0f} k calls/s)." if cap else
                    "The burst lost nothing; its consumers used under a tick of CPU each, too "
                    "little to give their rate.")
        p(f"Reading (issue 20): {how} The BPF ratio to bpftrace's name count (goal <= 1.5x): "
          f"an ENTRY costs a frame header read, a clock read and a copy into the CPU's batch "
          f"(the code's identity is read only when the CPU's cache cannot vouch for it: a code "
          f"object of its bucket was freed since); a return reads the frame's window (code, "
          f"caller, its stack's top) and the value's object (none for None, True, False), plus "
          f"on 3.12+ how the frame exited (the return address on 3.14+, else the exception and "
          f"the opcode). bpftrace's name count reads one string per call. {lost}")


if __name__ == "__main__":
    main()
