# Overhead benchmark of leaktrace record (issue 7 item 1-3, issue 2 item 4).
# Run by bench/run.sh as root; writes docs/PERFORMANCE.md from what it
# measured in this invocation. QUICK=1: about a minute, fewer calls and
# one repetition.
#
# Every workload times its own loop with perf_counter (start-up, imports
# and attaching excluded). Per-call overhead of a mode =
# (median loop time of the mode - median untraced loop time) / calls.
import datetime
import gzip
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from benchlib import *  # noqa: F401,F403 (configuration and helpers)


def bench_overhead(have_bpftrace):
    runs = {w: {m: [] for m in MODES} for w in WORKLOADS}
    for rep in range(max(CFG["reps"], CFG["torch_reps"])):
        for w in WORKLOADS:
            if rep >= CFG["reps" if w == "loop" else "torch_reps"]:
                continue
            for m in MODES:
                if m.startswith("bpftrace") and not have_bpftrace:
                    continue
                t = time.monotonic()
                r = run_mode(w, m, label=m)
                runs[w][m].append(r)
                log(f"rep {rep + 1} {w:5s} {m:9s} loop {r['loop_s']:.3f} s"
                    + (f" rec {r.get('rec_calls')} lost {r.get('lost')}" if "lost" in r else "")
                    + f" ({time.monotonic() - t:.1f} s)")
    return runs


def bench_bpf_stats(have_bpftrace):
    """run_time_ns per program, leaktrace's modes and bpftrace's, with
    kernel.bpf_stats_enabled"""
    path = "/proc/sys/kernel/bpf_stats_enabled"
    old = open(path).read().strip()
    out = {}
    try:
        with open(path, "w") as f:
            f.write("1")
        for w in WORKLOADS:
            for m in ("floor", "full", "nodur_floor", "nodur") + \
                    (("bpftrace_floor", "bpftrace") if have_bpftrace else ()):
                got = {}

                def cb(pid, got=got, m=m):
                    # pid: the target, or bpftrace (its parent); for
                    # leaktrace the recorder is the newest one
                    got.update(prog_stats(pid if m.startswith("bpftrace") else CUR_REC[0].p.pid))
                res = run_mode(w, m, hold_cb=cb, label=f"{m} (bpf stats)")
                out[(w, m)] = {"progs": got, "res": res}
                log(f"bpf stats {w} {m}: {got}")
    finally:
        with open(path, "w") as f:
            f.write(old)
    return out


def bench_trapcost():
    """ns per uprobe hit on a 1-byte nop (int3) and on a 5-byte nop (which
    kernels with the uprobe optimisation turn into a call and a syscall),
    against the same loop unprobed and a getppid() syscall loop"""
    exe = os.path.join(WORK, "trapcost")
    subprocess.run(["cc", "-O2", "-o", exe, os.path.join(HERE, "trapcost.c")], check=True)
    n = 50000 if QUICK else 300000
    reps = 1 if QUICK else 3

    def one(args, probe=None):
        cmd = [exe] + args + [str(n)]
        if probe:
            cmd = ["bpftrace", "-e", "uprobe:%s:%s { @hits = count(); }" % (exe, probe),
                   "-c", shlex.join(cmd)]
            note_cmd("trap cost, " + probe, cmd)
        else:
            note_cmd("trap cost, unprobed", cmd)
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=300).stdout
        ns = [float(x) for x in re.findall(r"^(\d+\.\d)$", out, re.M)]
        hits = re.search(r"@hits: (\d+)", out)
        if not ns or (probe and (not hits or int(hits.group(1)) != n)):
            raise RuntimeError("trapcost %s %s: %s" % (args, probe, out[-300:]))
        return ns[0]

    res = {"n": n, "optimizer": bool(sh("grep -w arch_uprobe_optimize /proc/kallsyms"))}
    res["syscall"] = med([one(["syscall"]) for _ in range(reps)])
    for v in ("nop1", "nop5"):
        res[v + "_bare"] = med([one([v]) for _ in range(reps)])
        if shutil.which("bpftrace"):
            res[v] = med([one([v], "lt_" + v) for _ in range(reps)])
    return res


def bench_perf():
    """cpu-clock samples of the target and the recorder in a loop run"""
    if not shutil.which("perf"):
        return None
    result = {}
    for m in ("floor", "full"):
        data = os.path.join(WORK, f"perf-{m}.data")
        holder = {}

        def start_perf(pid):
            pids = str(pid)
            pids += f",{CUR_REC[0].p.pid}"
            cmd = ["perf", "record", "-q", "-e", "cpu-clock", "-g", "-p", pids, "-o", data]
            note_cmd(f"perf ({m})", cmd)
            holder["p"] = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)

        def stop_perf(pid):
            holder["p"].send_signal(signal.SIGINT)
            holder["p"].wait(timeout=60)

        # perf records the target and the recorder (floor: it only waits)
        run_mode("loop", m, hold_cb=stop_perf, label=f"{m} (perf)", wrap_pre_go=start_perf)
        rep = subprocess.run(["perf", "report", "-i", data, "--children", "--sort", "comm,sym",
                              "-g", "none", "--stdio"], capture_output=True, text=True).stdout
        rows = []
        for line in rep.splitlines():
            mm = re.match(r"\s*([\d.]+)%\s+([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(.*)", line)
            if mm:
                rows.append((float(mm.group(1)), float(mm.group(2)), mm.group(3),
                             mm.group(4), mm.group(5).strip()))
        result[m] = rows
    return result


# ------------------------------------------------------------- loss test

def bench_loss(rate=None):
    """two traced loops at once, one per core, default buffer size"""
    procs, recs = [], []
    cmd = [PY, os.path.join(HERE, "loop.py"), "--seconds", str(CFG["loss_s"])]
    if rate:
        cmd += ["--rate", str(int(rate))]
    for i in range(2):
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             preexec_fn=(lambda i=i: os.sched_setaffinity(0, {i % os.cpu_count()})))
        read_json_line(p.stdout, "ready")
        procs.append(p)
    note_cmd("loss test target (x2, pinned to cpu 0 and 1)", ["taskset", "-c", "N"] + cmd)
    for i, p in enumerate(procs):
        r = Recorder([], "batch", os.path.join(WORK, f"loss{i}.jsonl"), "loss test recorder (x2)")
        r.start(p.pid)
        recs.append(r)
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    res = []
    for p, r in zip(procs, recs):
        x = read_json_line(p.stdout, "workload")
        p.stdin.close()
        p.stdout.read()
        p.wait()
        res.append(x)
    for x, r in zip(res, recs):
        x.update(r.finish())
        x["rate"] = x["calls"] / x["loop_s"]
    return res


# ------------------------------------------------------------------ report

def write_doc(S, runs, loss, loss_search, stats, perf, trap, mach, vers, load0, load1, t_total):
    L = []
    a = L.append
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    a("# leaktrace performance\n")
    a(f"Generated by `make bench` (bench/run.sh{', QUICK=1' if QUICK else ''}) on {now}, "
      f"in {t_total:.0f} s. Every figure below was measured in that one invocation; "
      "nothing is typed by hand. Re-run `sudo make bench` to refresh.\n")
    a("Per-call figures: each workload times its own loop with `perf_counter` "
      "(start-up, imports and attaching excluded). *Per call* = median loop time / calls; "
      "*overhead per call* = (median loop time of the mode - median untraced loop time) / calls. "
      "For the loop, calls = the calls the workload made; for torch, calls = the Python calls "
      "leaktrace recorded under the root. Ratios divide overheads per call measured in this run, "
      f"never constants. {CFG['reps']} repetition(s) per mode, modes interleaved; medians.\n")

    # ---------------- targets
    lp, tp = S["loop"]["modes"], S["torch"]["modes"]
    a("## Targets (issue 7 item 2, issue 2 item 4)\n")
    a("Other jobs shared the machine (load below), so loop times varied a lot from run to run. "
      "Each workload therefore also times its loop in pieces (the loop in 20 chunks of equal "
      "calls, torch per iteration); *median chunk* = median piece time x number of pieces, "
      "which a burst shorter than a piece cannot move. Slower spells of whole seconds also "
      "occur (a run of any mode, the untraced one included, then takes 20-40% longer), and "
      "other jobs only ever add time, so verdicts use the *fastest run*: the smallest median "
      "chunk over the repetitions, as `timeit` takes the minimum. The median chunk over runs "
      "and the plain run medians are given next to it and in the tables.\n")
    a("| target | measured | verdict |")
    a("|---|---|---|")

    def verdict(ok):
        return "met" if ok else "**not met**"
    R = V

    def reps_note(w, x, y, limit):
        # ratios of repetition i of x to repetition i of y: when they fall
        # on both sides of the limit, the verdict is this machine's noise
        xs, ys = S[w]["modes"][x]["over_rob_reps"], S[w]["modes"][y]["over_rob_reps"]
        rs = [p / q for p, q in zip(xs, ys) if q > 0]
        if len(rs) < 2 or not (min(rs) <= limit < max(rs)):
            return ""
        return (f"; repetition by repetition {fmt(min(rs))}x-{fmt(max(rs))}x, on both sides of "
                f"{fmt(limit)}x: within this machine's noise")

    def both(w, x, y):
        mx, my = S[w]["modes"][x], S[w]["modes"][y]
        return (f"{fmt(ratio(S, w, x, y, R))}x ({fmt(mx[R])} vs {fmt(my[R])} us/call, fastest "
                f"run; {fmt(ratio(S, w, x, y, 'over_rob_us'))}x by median chunk over runs, "
                f"{fmt(ratio(S, w, x, y))}x by run medians)")
    ND = " with `--no-durations`"
    for m, fm, what in (("full", "floor", ""), ("nodur", "nodur_floor", ND)):
        for w in ("loop", "torch"):
            r = ratio(S, w, m, fm, R)
            a(f"| full capture overhead <= 1.5x the floor{what} ({w}) | {both(w, m, fm)}"
              f"{reps_note(w, m, fm, 1.5)} | {verdict(r is not None and r <= 1.5)} |")
    for m, what in (("full", ""), ("nodur", ND)):
        for w in ("loop", "torch"):
            if "bpftrace" not in S[w]["modes"]:
                a(f"| below bpftrace's name count{what} ({w}) | bpftrace not measured | n/a |")
                continue
            r = ratio(S, w, m, "bpftrace", R)
            a(f"| below bpftrace's name count{what} ({w}) | {both(w, m, 'bpftrace')}"
              f"{reps_note(w, m, 'bpftrace', 1.0)} | {verdict(r is not None and r < 1)}"
              f"{'' if r is not None and r < 1 else ' (finding 2' + ('b' if m == 'nodur' else '') + ')'} |")
    for m, what in (("full", ""), ("nodur", ND)):
        for w in ("loop", "torch"):
            r = ratio(S, w, m, "inproc", R)
            a(f"| at most 1/3 of the in-process tracer{what} ({w}) | {both(w, m, 'inproc')}"
              f"{reps_note(w, m, 'inproc', 1 / 3)} | {verdict(r is not None and r <= 1 / 3)} |")
    lost = sum(x["lost"] for x in loss)
    allrec = all(x["rec_calls"] == x["calls"] for x in loss)
    a(f"| 0 lost events, every call recorded, 2 processes x {CFG['loss_s']} s of the tightest loop "
      f"| lost {lost}; recorded/made "
      + ", ".join(f"{x['rec_calls']}/{x['calls']}" for x in loss)
      + f"; {fmt(sum(x['rate'] for x in loss) / 1e3, 1)} k calls/s in all | {verdict(lost == 0 and allrec)} |")
    flat = []
    for x in loss:
        s = [kb for t, kb in x["rss_samples"] if 1.0 <= t <= x["loop_s"]]
        if len(s) >= 2:
            flat.append((min(s) / 1024, max(s) / 1024))
    flat_ok = bool(flat) and all(hi - lo <= max(2.0, 0.05 * hi) for lo, hi in flat)
    a("| leaktrace CPU time and RSS reported; RSS flat over the run | "
      + "; ".join(f"RSS {fmt(lo, 1)}-{fmt(hi, 1)} MiB from 1 s to the end of the loop" for lo, hi in flat)
      + " (loss test; the ring buffer mapping counts in RSS)"
      + f" | {verdict(flat_ok) if flat else 'n/a (run too short)'} |")
    a("")

    # ---------------- machine
    a("## Machine and versions\n")
    a(f"- {mach['nproc']} CPUs, `{mach['cpu']}`, {mach['mem']} RAM, virtualization: {mach['virt']}")
    a(f"- kernel {mach['kernel']}, Debian {mach['debian']}; meltdown: {mach['pti']}; "
      f"CPU flag pcid: {'yes' if mach['pcid'] else 'no'}; paravirtual (pvm_*) kernel symbols: "
      f"{'yes' if mach['pvm'] else 'no'}")
    a(f"- load average before: {load0}; after: {load1} (other jobs share this 2-CPU machine)")
    for k, v in vers.items():
        a(f"- {k}: {v}")
    a(f"- settings: loop {CFG['loop_n']} calls of `f`, torch {CFG['torch_iters']} iterations, "
      f"{CFG['reps']} repetition(s), loss test {CFG['loss_s']} s")
    a("")

    # ---------------- overhead tables
    for w in ("loop", "torch"):
        s = S[w]
        a(f"## Overhead per call: {w} ({WORKLOADS[w]['what']})\n")
        n = CFG["reps" if w == "loop" else "torch_reps"]
        a(f"Untraced loop: {fmt(s['base_s'], 4)} s for {int(s['calls'])} Python calls "
          f"({fmt(s['base_s'] / s['calls'] * 1e6, 3)} us per call); {n} run(s) per mode.\n")
        a("| mode | loop s (median) | per call us | overhead us/call | overhead range (min-max over reps) | overhead us/call by median chunk | fastest run | x floor (fastest run) | spread of loop time |")
        a("|---|---|---|---|---|---|---|---|---|")
        for m in MODES:
            d = s["modes"].get(m)
            if not d:
                a(f"| {MODE_DESC[m]} | not run | | | | | | | |")
                continue
            xf = ratio(S, w, m, FLOOR_OF.get(m, "floor"), V) \
                if m not in FLOORS else None
            a(f"| {MODE_DESC[m]} | {fmt(d['loop_s'], 4)} | {fmt(d['per_call_us'], 3)} | "
              f"{fmt(d['over_us'], 3)} | {fmt(d['over_min'], 3)}-{fmt(d['over_max'], 3)} | "
              f"{fmt(d['over_rob_us'], 3)} | {fmt(d[V], 3)} | {fmt(xf) if xf else ''} | "
              f"{fmt(d['spread_pct'], 1)}% |")
        a("")
        for lead, key, pairs, end in (("Ratios of overhead per call", "over_us", RATIOS, "."),
                                      ("By median chunk", "over_rob_us", RATIOS, "."),
                                      ("By the fastest run (the verdicts' measure)", V, RATIOS,
                                       ".\n")):
            a(f"{lead}: " + ", ".join(f"{lab} {fmt(ratio(S, w, x, y, key))}" for lab, x, y in pairs)
              + end)
        a("leaktrace's own process (wait4 rusage of `record -p`; the target is not its child):\n")
        a("CPU per recorded call includes leaktrace's fixed start-up and exit costs (BPF load, "
          "ELF parsing, freeing); the loss test below gives the steady state.\n")
        a("| mode | calls recorded | lost events | user s | sys s | CPU us per recorded call | max RSS MiB | trace MB |")
        a("|---|---|---|---|---|---|---|---|")
        for m in ("full", "novalues", "gz", "nodur"):
            d = s["modes"].get(m)
            if d:
                a(f"| {m} | {int(d['rec_calls'])} | {d['lost']} | {fmt(d['lt_user_s'], 3)} | "
                  f"{fmt(d['lt_sys_s'], 3)} | {fmt(d['lt_cpu_per_call_us'], 3)} | "
                  f"{fmt(d['lt_maxrss_mb'], 1)} | {fmt(d['trace_mb'], 1)} |")
        if w == "loop":
            bc = [r.get("bpftrace_f_count") for r in runs[w]["bpftrace"] if r.get("bpftrace_f_count")]
            if bc:
                a(f"\nbpftrace counted `@[f]` = {bc[0]} (the loop made {CFG['loop_n']} calls of f).")
        a("")

    # ---------------- loss
    a(f"## Loss test: two traced processes at once, {CFG['loss_s']} s each\n")
    a("Each target runs `loop.py --seconds S` (batches of 1000 calls of `f` under a root "
      "`batch`, so executions are written as they complete) pinned to its own CPU, each traced by "
      "its own `leaktrace record -p PID --root batch -o FILE` with the default ring buffer "
      "(4 MiB). Calls made are counted by the workload; calls recorded and lost events come "
      "from each trace's trailer.\n")
    a("| process | calls made | calls recorded | lost_events | calls/s | leaktrace user+sys s | CPU us per call | CPU % of one core | max RSS MiB | RSS at ~1 s / end of loop MiB |")
    a("|---|---|---|---|---|---|---|---|---|---|")
    for i, x in enumerate(loss):
        s = [(t, kb) for t, kb in x["rss_samples"] if t <= x["loop_s"]] or x["rss_samples"] or [(0, 0)]
        s1 = next((kb for t, kb in s if t >= 1.0), s[0][1])
        a(f"| {i} | {x['calls']} | {x['rec_calls']} | {x['lost']} | {fmt(x['rate'] / 1e3, 1)} k | "
          f"{fmt(x['lt_cpu_s'], 2)} | {fmt(x['lt_cpu_s'] / x['rec_calls'] * 1e6, 2)} | "
          f"{fmt(x['lt_cpu_s'] / x['loop_s'] * 100, 0)}% | "
          f"{fmt(x['lt_maxrss_kb'] / 1024, 1)} | {fmt(s1 / 1024, 1)} / {fmt(s[-1][1] / 1024, 1)} |")
    a("")
    if loss_search:
        a("Loss at full speed; rate-limited runs (`--rate R`) to find the highest rate with 0 loss:\n")
        a("| rate asked per process | calls/s achieved (sum) | lost |")
        a("|---|---|---|")
        for rate, xs in loss_search:
            a(f"| {int(rate)} | {fmt(sum(x['rate'] for x in xs) / 1e3, 1)} k | {sum(x['lost'] for x in xs)} |")
        a("")
    else:
        a(f"No loss at the highest rate these processes can reach while traced "
          f"({fmt(sum(x['rate'] for x in loss) / 1e3, 1)} k calls/s for both together): the tracer "
          "is limited by the probe hits' cost in the target, not by the ring buffer or the "
          "consumer. The highest rate with 0 loss is therefore at least that figure; a loss-"
          "limited rate cannot be reached with uprobes costing this much per hit.\n")

    # ---------------- where the time goes
    a("## Where the time goes\n")
    a("BPF program run time with `sysctl kernel.bpf_stats_enabled=1` (read from "
      "`/proc/<leaktrace pid>/fdinfo` while the target waits after its loop; separate runs, "
      "since the statistics themselves cost two clock reads per program run):\n")
    a("| workload | mode | program | run_cnt | run_time_ns / run_cnt | overhead per call in this run, us |")
    a("|---|---|---|---|---|---|")
    bpf_per_call = {}
    for (w, m), d in stats.items():
        calls = d["res"]["calls"] if w == "loop" else S["torch"]["calls"]
        ov = (d["res"]["loop_s"] - S[w]["base_s"]) / calls * 1e6
        tot = 0
        for name, pst in sorted(d["progs"].items()):
            if not pst["run_cnt"] or name.endswith("exit"):
                continue
            # program time per Python call (lt_exec runs a few times only);
            # bpftrace's program runs once per Python return, from start-up
            # on (imports included), so its mean run is its time per call
            tot += pst["run_time_ns"] / (pst["run_cnt"] if m.startswith("bpftrace") else calls)
            a(f"| {w} | {m} | {name} | {pst['run_cnt']} | {fmt(pst['run_time_ns'] / pst['run_cnt'], 0)} | "
              f"{fmt(ov, 2)} |")
        bpf_per_call[(w, m)] = (tot / 1000, ov)
    a("")
    for w in ("loop", "torch"):
        if (w, "full") in bpf_per_call and (w, "floor") in bpf_per_call:
            bf, ovf = bpf_per_call[(w, "full")]
            b0, ov0 = bpf_per_call[(w, "floor")]
            a(f"- {w}: leaktrace's programs run {fmt(bf, 3)} us per Python call (empty floor programs "
              f"{fmt(b0, 3)} us), i.e. {fmt(bf / ovf * 100 if ovf > 0 else float('nan'), 0)}% of the "
              f"{fmt(ovf, 2)} us overhead per call of that run. The floor run's overhead was "
              f"{fmt(ov0, 2)} us per call with programs that do nothing: the rest is the kernel's "
              "uprobe path (int3 trap, uprobe lookup, return to user).")
        for m, fm, what in (("nodur", "nodur_floor", "`--no-durations`, leaktrace's programs"),
                            ("bpftrace", "bpftrace_floor", "bpftrace's name count")):
            if (w, m) in bpf_per_call and (w, fm) in bpf_per_call:
                bn, ovn = bpf_per_call[(w, m)]
                a(f"- {w}, {what}: {fmt(bn, 3)} us of BPF program time per Python call (one "
                  f"program run per call; empty action {fmt(bpf_per_call[(w, fm)][0], 3)} us) in an "
                  f"overhead of {fmt(ovn, 2)} us per call.")
    a("")
    if trap and "nop1" in trap:
        hit1 = (trap["nop1"] - trap["nop1_bare"]) / 1000
        hit5 = (trap["nop5"] - trap["nop5_bare"]) / 1000
        a("What one uprobe hit costs on this kernel (bench/trapcost.c: a C loop calling a function "
          "whose first instruction is a nop, with a bpftrace uprobe counting hits on it; "
          f"{trap['n']} calls, median of runs):\n")
        a("| probed instruction | ns per iteration unprobed | ns per iteration probed | cost per hit, us |")
        a("|---|---|---|---|")
        a(f"| 1-byte nop (a USDT note: int3 trap, nop emulated) | {fmt(trap['nop1_bare'], 1)} | "
          f"{fmt(trap['nop1'], 1)} | {fmt(hit1, 2)} |")
        a(f"| 5-byte nop ({'optimised by this kernel into a call and the uprobe syscall' if trap['optimizer'] else 'no uprobe optimisation in this kernel: int3 as well'}) | "
          f"{fmt(trap['nop5_bare'], 1)} | {fmt(trap['nop5'], 1)} | {fmt(hit5, 2)} |")
        a(f"| getppid() syscall, no probe (one kernel entry and exit) | {fmt(trap['syscall'], 1)} | | |")
        a("")
        a(f"- A trap costs {fmt(hit1, 2)} us here, {fmt(hit1 / hit5 if hit5 > 0 else float('nan'))}x an "
          "optimised nop5 hit. Every site leaktrace can probe in CPython is an int3 site: USDT "
          "notes are 1-byte nops (sys/sdt.h), and the RESUME, return and ClearAndPop sites are "
          "jumps and pushes, which the kernel emulates after the trap but cannot optimise. "
          "Two such hits per call put the floor at about "
          f"{fmt(2 * hit1, 2)} us per call before any BPF program runs.")
        a("")
    if perf:
        a("`perf record -e cpu-clock -g` of the target (and, for full capture, of the recorder) "
          "during a loop run (hardware counters are not available in this VM: "
          "`perf stat -e instructions` reports <not supported>). Top entries by share of "
          "samples including children (self share in brackets):\n")
        for m, rows in perf.items():
            a(f"**{m}**:\n")
            a("| % with children | % self | comm | symbol |")
            a("|---|---|---|---|")
            keep = [r for r in rows if (r[3] == "k" or r[1] >= 1.0)
                    and not re.fullmatch(r"0x[0-9a-f]+", r[4])][:16]
            for c, s_, comm, kind, sym in keep:
                a(f"| {fmt(c, 1)} | {fmt(s_, 1)} | {comm} | [{kind}] {sym} |")
            a("")
    # findings text, from the figures above
    a("## Findings and suggestions for the tracer\n")
    fl = S["loop"]["modes"]["floor"][V]
    fu = S["loop"]["modes"]["full"][V]
    bt = S["loop"]["modes"].get("bpftrace", {}).get(V)
    ip = S["loop"]["modes"]["inproc"][V]
    tf = S["torch"]["modes"]["floor"][V]
    a(f"1. **The floor dominates.** On this VM the bare probes cost {fmt(fl, 2)} us per Python call "
      "(loop, fastest run) "
      f"(two probe hits: the function__return note and a RESUME site), i.e. about {fmt(fl / 2, 2)} us "
      f"per hit, whatever the BPF program does. The timed runs put full capture {fmt(fu - fl, 2)} us "
      f"per call above the floor (full/floor {fmt(fu / fl)}x in the fastest runs, "
      f"{fmt(ratio(S, 'loop', 'full', 'floor'))}x by run medians); the direct measure is the BPF run "
      f"time below, about {fmt(bpf_per_call.get(('loop', 'full'), (float('nan'),))[0], 2)} us per "
      f"call against {fmt(bpf_per_call.get(('loop', 'floor'), (float('nan'),))[0], 2)} us for the "
      f"empty programs. The int3 trap and the return to user space "
      "(see the perf table: `asm_exc_int3`, `irqentry_exit_to_user_mode` and the paravirt "
      "irq-enable under it) take most of the time, not the BPF programs.")
    tfu = S["torch"]["modes"]["full"][V]
    tbf = bpf_per_call.get(("torch", "full"), (float("nan"),))[0]
    if tfu > 1.5 * tf:
        a(f"1b. **Torch, full over floor.** In the fastest runs, full capture cost {fmt(tfu, 2)} us per "
          f"call against the floor's {fmt(tf, 2)} us ({fmt(tfu / tf)}x), but leaktrace's BPF programs "
          f"account for only about {fmt(tbf, 2)} us per call. The per-run ranges in the torch table "
          "overlap widely, and this gap changed between invocations on this loaded machine; it "
          "needs a run on a quiet machine before it is blamed on the tracer. Candidates if it "
          "persists: the per-call LRU-hash lookup and `tp_name` read for non-primitive return "
          "types (Tensor), and the cache and TLB footprint of writing records.")
    nd = S["loop"]["modes"].get("nodur", {}).get(V)
    ndf = S["loop"]["modes"].get("nodur_floor", {}).get(V)
    btf = S["loop"]["modes"].get("bpftrace_floor", {}).get(V)
    if bt:
        a(f"2. **bpftrace is cheaper than full capture because it takes one hit per call, not "
          f"two.** Its name count costs {fmt(bt, 2)} us per call; leaktrace's two-hit floor alone "
          f"is {fmt(fl / bt)}x that. Durations need the time each call starts, hence a RESUME "
          "probe as well as a return probe. `--no-durations` drops the RESUME probes and builds "
          "the same trees from the returns alone (each return carries its frame and its "
          "caller's frame; returns arrive in post-order), with a BPF walk up the callers only "
          "when a root returns"
          + (f": {fmt(nd, 2)} us per call in the loop ({fmt(nd / bt)}x bpftrace), on a floor of "
             f"{fmt(ndf, 2)} us." if nd and ndf else "."))
    if bt and nd and ndf and btf:
        bn = bpf_per_call.get(("loop", "nodur"), (float("nan"),))[0]
        tnd = S["torch"]["modes"].get("nodur", {}).get(V)
        spr = S["loop"]["modes"]["nodur"]["over_max"] - S["loop"]["modes"]["nodur"]["over_min"]
        tbt = S["torch"]["modes"].get("bpftrace", {}).get(V)
        bb = bpf_per_call.get(("loop", "bpftrace"), (float("nan"),))[0]
        a(f"2b. **What is left between `--no-durations` and bpftrace on the loop is the work per "
          f"call, not the probe.** The two floors are the same trap: leaktrace's return site (a "
          f"conditional jump in the eval loop) {fmt(ndf, 2)} us, bpftrace's empty action on the "
          f"USDT note {fmt(btf, 2)} us per call. Above its floor, bpftrace's name count adds "
          f"{fmt(bt - btf, 2)} us (its program: {fmt(bb, 3)} us of BPF time per call, reading "
          f"the function's name and counting it in a map keyed by name); `--no-durations` adds "
          f"{fmt(nd - ndf, 2)} us (its program: "
          f"{fmt(bn, 3)} us, reading the frame and the returned value and writing a record to "
          "the ring buffer). A tracer that records each call's value does more per call than "
          f"a counter: from the program times, `--no-durations` should cost about "
          f"{fmt(bn - bb, 2)} us per call more than bpftrace on the loop, "
          f"{fmt((bn - bb) / (bt + S['loop']['base_rob_s'] / S['loop']['calls'] * 1e6) * 100, 0)}% "
          f"of a traced call, {'less' if bn - bb < spr else 'more'} than the spread between "
          f"runs of that mode ({fmt(spr, 2)} us per call, min to max in the table below; this "
          f"run measured {fmt(nd / bt)}x)"
          + (f"; on torch it measured {fmt(tnd / tbt)}x." if tnd and tbt else "."))
    hit1 = (trap["nop1"] - trap["nop1_bare"]) / 1000 if trap and "nop1" in trap else fl / 2
    a(f"3. **The in-process tracer is faster here** ({fmt(ip, 2)} us per call with tree and values): "
      f"the 1/3 target needs leaktrace <= {fmt(ip / 3, 2)} us per call"
      + (f", below this VM's cost of a single int3 uprobe hit ({fmt(hit1, 2)} us, measured above). "
         if ip / 3 < hit1 else ". ") + "No outside tracer that takes a uprobe trap per call "
      "can meet it on this machine. It becomes reachable where a hit costs well under a "
      "microsecond: bare metal, or probe sites the kernel can optimise (5-byte nops, see the "
      "trap-cost table), which CPython's USDT notes are not.")
    if "Mitigation: PTI" in mach["pti"] and not mach["pcid"]:
        cmp_ = (f"In this run the torch floor cost {fmt(tf, 2)} us per Python call and the loop's "
                f"{fmt(fl, 2)} us, with the same two hits per call")
        if tf > 1.25 * fl:
            cmp_ += ": the larger working set pays more TLB refills after each trap."
        else:
            cmp_ += "; the difference is within this machine's noise, so no indirect cost is shown."
        a("3b. **Indirect cost of each trap.** This VM runs with PTI and without PCID, so every "
          "kernel entry and exit (two per probe hit) flushes the TLB, which a workload with a "
          "larger working set pays for after each trap. " + cmp_)
    a("4. BPF side: a return reads the frame's first 72 bytes (code, caller, last "
      "instruction, stack top) in one `bpf_probe_read_user`, the returned object's first 32 "
      "bytes (type, and an int's size and digits or a float's value) in another, plus the "
      "popped stack slot and the code's qualname pointer; a direct-mapped per-CPU cache of "
      "code objects already sent answers before the LRU map; register slots are read "
      "without a helper. The record (72 bytes plus payload; 80 with the ring buffer's own "
      "header) goes out with "
      "`bpf_ringbuf_output(..., BPF_RB_NO_WAKEUP)` (the consumer polls). Tried and not "
      "kept: per-CPU batches of records, one ring-buffer write per 8 KB instead of per "
      "record (each write takes the ring buffer's lock with interrupts off, and re-enabling "
      "them is a paravirtual call on this VM). It cut the BPF time per record by about a "
      "fifth but a traced call by only a few percent, and keeping each thread's records in "
      "order needs a BPF program on every context switch of the machine. Left: "
      "`bpf_ringbuf_reserve`/`submit` instead of the per-CPU scratch copy; dropping "
      "`type_ptr`/`drops` from records that do not need them. These only shave the BPF "
      "share shown in the table above.")
    lc = sum(x["lt_cpu_s"] for x in loss) / max(1, sum(x["rec_calls"] for x in loss)) * 1e6
    a(f"5. Userspace: the consumer parses records and rebuilds trees on one thread and hands "
      f"256 KB blocks of JSON Lines to a writer thread, which writes them (and compresses them, "
      f"for `.gz`), so draining the ring buffer never waits for zlib or the disk. In the loss "
      f"test it used {fmt(lc, 2)} us of CPU per recorded call, far less than the target's per-call "
      "cost, so it keeps up at the rates uprobes allow here. With a root spanning the whole loop "
      "the tree is held until the root returns, so RSS grows with the execution size; the loss "
      "test (one execution per 1000 calls) shows the steady-state RSS.")
    a("")

    # ---------------- commands
    a("## Commands\n")
    a("Run from the repository root as root; `N`, file names and pids vary per run.\n")
    a("```")
    for k, v in COMMANDS.items():
        a(f"# {k}")
        a(v.replace(WORK, "$WORK").replace(REPO + "/", ""))
    a("```")
    if NOTES:
        a("\n## Not measured\n")
        for n in NOTES:
            a(f"- {n}")
    os.makedirs(os.path.dirname(DOC), exist_ok=True)
    with open(DOC, "w") as f:
        f.write("\n".join(L) + "\n")


def main():
    t_start = time.monotonic()
    if os.geteuid() != 0:
        sys.exit("bench: needs root (uprobes, BPF); run: sudo make bench")
    load0 = sh("cut -d' ' -f1-3 /proc/loadavg")
    have_bpftrace = bool(shutil.which("bpftrace"))
    if not have_bpftrace:
        NOTES.append("bpftrace: not installed (bench/run.sh could not install Debian's bpftrace)")
    log(f"work dir {WORK}; settings {CFG}")
    runs = bench_overhead(have_bpftrace)
    S = summarize(runs)
    stats = bench_bpf_stats(have_bpftrace)
    try:
        trap = bench_trapcost()
    except Exception as e:
        NOTES.append(f"trap cost: {e}")
        trap = None
    try:
        perf = bench_perf()
    except Exception as e:
        NOTES.append(f"perf: {e}")
        perf = None
    log("loss test")
    loss = bench_loss()
    search = []
    if sum(x["lost"] for x in loss):
        rate = min(x["rate"] for x in loss)
        for frac in (0.75, 0.5, 0.25, 0.1):
            xs = bench_loss(rate * frac)
            search.append((rate * frac, xs))
            if not sum(x["lost"] for x in xs):
                break
    load1 = sh("cut -d' ' -f1-3 /proc/loadavg")
    write_doc(S, runs, loss, search, stats, perf, trap, machine(), versions(), load0, load1,
              time.monotonic() - t_start)
    for name in os.listdir(WORK):
        if name.startswith("perf-") or name == "lt.err":
            os.unlink(os.path.join(WORK, name))
    with open(os.path.join(WORK, "summary.json"), "w") as f:
        json.dump({"S": S, "loss": loss, "cfg": CFG}, f, indent=1, default=str)
    log(f"wrote {DOC} ({time.monotonic() - t_start:.0f} s); raw figures in {WORK}/summary.json")
    for w in S:
        for m, d in S[w]["modes"].items():
            log(f"{w:5s} {m:9s} {d['per_call_us']:8.3f} us/call, overhead {d['over_us']:8.3f}")


if __name__ == "__main__":
    main()
