# Shared by bench/bench.py: configuration, running a workload under each
# mode (controlled, run_mode), and the summaries the report is made of.
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

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
LT = os.path.join(REPO, ".output", "leaktrace")
PY = "/usr/bin/python3.11"
DOC = os.path.join(REPO, "docs", "PERFORMANCE.md")
QUICK = os.environ.get("QUICK", "0") == "1"
CFG = {
    "loop_n": 30000 if QUICK else 200000,
    "torch_iters": 50 if QUICK else 200,
    "reps": 1 if QUICK else 5,
    "torch_reps": 1 if QUICK else 5,    # torch's loop is short: noisier
    "loss_s": 3 if QUICK else 10,
}
BPFTRACE_PROG = 'usdt:%s:python:function__return { @[str(arg1)] = count(); }' % PY
# bpftrace's own floor: the same note, an action that does nothing
BPFTRACE_FLOOR_PROG = 'usdt:%s:python:function__return { }' % PY
WORK = tempfile.mkdtemp(prefix="lt-perf-")
CUR_REC = [None]     # the newest Recorder (hold callbacks read its pid)
# (target CPU, tracer CPU): the workload pinned to one, the recorder or
# bpftrace to the other (hotpath.py --pin); None: unpinned
PIN = [None]
COMMANDS = {}       # label -> exact command line (first use)
NOTES = []          # things that did not work, for the report


def log(*a):
    print("bench:", *a, file=sys.stderr, flush=True)


def note_cmd(label, cmd):
    COMMANDS.setdefault(label, shlex.join(cmd) if isinstance(cmd, list) else cmd)


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                              timeout=30).stdout.strip()
    except Exception as e:      # an informative field only
        return f"({e})"


# ------------------------------------------------------------- workloads

WORKLOADS = {
    "loop": {"root": "run", "what": "tight call loop, `def f(i): return i`"},
    "torch": {"root": "infer_loop", "what": "tiny CNN forward (2 conv, BN, pool, 2 linear), torch CPU, 1 thread"},
}


def wl_cmd(w, hold=False):
    if w == "loop":
        c = [PY, os.path.join(HERE, "loop.py"), str(CFG["loop_n"])]
    else:
        c = [PY, os.path.join(HERE, "torch_infer.py"), str(CFG["torch_iters"])]
    return c + (["--hold"] if hold else [])


def read_json_line(stream, key):
    """read lines until a JSON object with `key`; returns it"""
    for line in stream:
        line = line.strip()
        if line.startswith("{") and key in line:
            try:
                d = json.loads(line)
            except ValueError:
                continue
            if key in d:
                return d
    raise RuntimeError(f"no {key} line from the workload")


def trailer(path):
    """the stats trailer of a trace (last line)"""
    if path.endswith(".gz"):
        last = None
        with gzip.open(path, "rt") as f:
            for last in f:
                pass
    else:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - 4096))
            last = f.read().decode().strip().splitlines()[-1]
    d = json.loads(last)
    if d.get("type") != "stats":
        raise RuntimeError(f"{path}: no stats trailer")
    return d


class RssSampler(threading.Thread):
    def __init__(self, pid, period=0.25):
        super().__init__(daemon=True)
        self.pid, self.period, self.samples, self.stop = pid, period, [], False

    def run(self):
        t0 = time.monotonic()
        while not self.stop:
            try:
                with open(f"/proc/{self.pid}/status") as f:
                    m = re.search(r"VmRSS:\s+(\d+)", f.read())
                if m:
                    self.samples.append((time.monotonic() - t0, int(m.group(1))))
            except OSError:
                break
            time.sleep(self.period)


def thread_cpu(pid):
    """CPU seconds (user+sys) of each of pid's threads so far, summed by
    thread name; the main thread (the recorder's consumer of the ring
    buffer) as "main", whatever the binary is called. The recorder names
    its other threads: "lt-writer" writes the trace."""
    out, tick = {}, os.sysconf("SC_CLK_TCK")
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/stat") as f:
                s = f.read()
        except OSError:
            continue	# a thread that ended in between
        name, rest = s[s.index("(") + 1:s.rindex(")")], s[s.rindex(")") + 2:].split()
        name = "main" if int(t) == pid else name
        # rest[0] is field 3 (state): utime and stime are fields 14 and 15
        out[name] = out.get(name, 0.0) + (int(rest[11]) + int(rest[12])) / tick
    return out


def take_opt(args, name, dflt):
    """the value after option name in args (both removed), else dflt"""
    if name in args:
        i = args.index(name)
        v = args[i + 1]
        del args[i:i + 2]
        return v
    return dflt


class bpf_stats_on:
    """kernel.bpf_stats_enabled set for a with-block, as it was after"""
    PATH = "/proc/sys/kernel/bpf_stats_enabled"

    def __enter__(self):
        with open(self.PATH) as f:
            self.old = f.read().strip()
        with open(self.PATH, "w") as f:
            f.write("1")

    def __exit__(self, *exc):
        with open(self.PATH, "w") as f:
            f.write(self.old)


def prog_stats(pid):
    """run_time_ns/run_cnt of the BPF programs whose fds process pid holds"""
    out = {}
    for fd in os.listdir(f"/proc/{pid}/fdinfo"):
        try:
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                info = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
        except OSError:
            continue
        if "prog_type" not in info or "run_cnt" not in info:
            continue
        pid_ = info["prog_id"].strip()
        try:
            name = json.loads(sh(f"bpftool prog show id {pid_} -j")).get("name", pid_)
        except ValueError:
            name = pid_
        out[name] = {"run_cnt": int(info["run_cnt"]), "run_time_ns": int(info["run_time_ns"])}
    return out


def controlled(cmd, label, hold_cb=None, pre_go=None, affinity=None):
    """run a workload command that prints ready, waits for go, prints its
    result (and with --hold waits again). Returns the result dict."""
    note_cmd(label, cmd)
    if affinity is None and PIN[0]:
        affinity = PIN[0][0]
    pre = (lambda: os.sched_setaffinity(0, {affinity})) if affinity is not None else None
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                         preexec_fn=pre)
    read_json_line(p.stdout, "ready")
    if pre_go:
        pre_go(p.pid)
    p.stdin.write("go\n")
    p.stdin.flush()
    res = read_json_line(p.stdout, "workload")
    if hold_cb:
        hold_cb(p.pid)
    p.stdin.close()
    p.stdout.read()
    p.wait(timeout=600)
    return res


class Recorder:
    """leaktrace record -p PID started after the target is ready; its own
    rusage comes from wait4 (the target is not its child)."""

    def __init__(self, extra, root, out, label, binary=None):
        self.extra, self.root, self.out, self.label = extra, root, out, label
        self.binary = binary or LT

    def start(self, target_pid):
        floor = "--floor" in self.extra
        cmd = [self.binary, "record", "-p", str(target_pid), "--root", self.root] + \
            ([] if floor else ["-o", self.out]) + self.extra
        note_cmd(self.label, cmd)
        self.err = open(os.path.join(WORK, "lt.err"), "w+")
        pre = (lambda: os.sched_setaffinity(0, {PIN[0][1]})) if PIN[0] else None
        self.p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.err, preexec_fn=pre)
        t0 = time.monotonic()
        last, stable = -1, 0
        while True:
            if floor:
                # --floor says nothing: attached when its uprobe perf
                # events have stopped appearing
                try:
                    n = sum("perf_event" in os.readlink(f"/proc/{self.p.pid}/fd/{x}")
                            for x in os.listdir(f"/proc/{self.p.pid}/fd"))
                except OSError:
                    n = 0
                stable = stable + 1 if n == last and n > 0 else 0
                last = n
                if stable >= 4:
                    break
            else:
                self.err.seek(0)
                if "tracing pid" in self.err.read():
                    break
            if self.p.poll() is not None or time.monotonic() - t0 > 60:
                self.err.seek(0)
                raise RuntimeError("leaktrace did not attach: " + self.err.read())
            time.sleep(0.05)
        self.rss = RssSampler(self.p.pid)
        self.rss.start()

    def finish(self):
        _, status, ru = os.wait4(self.p.pid, 0)
        self.p.returncode = status
        self.rss.stop = True
        self.err.seek(0)
        errtext = self.err.read()
        self.err.close()
        if status != 0:
            raise RuntimeError(f"leaktrace exited with status {status}: {errtext}")
        if "--floor" in self.extra:
            return {}
        t = trailer(self.out)
        r = {"lt_cpu_s": ru.ru_utime + ru.ru_stime, "lt_user_s": ru.ru_utime,
             "lt_sys_s": ru.ru_stime, "lt_maxrss_kb": ru.ru_maxrss,
             "rec_calls": t["calls"], "lost": t["lost_events"],
             "trace_bytes": os.path.getsize(self.out), "rss_samples": self.rss.samples}
        os.unlink(self.out)
        return r


# ------------------------------------------------------------------ modes

def run_mode(w, mode, hold_cb=None, label=None, wrap_pre_go=None):
    root = WORKLOADS[w]["root"]
    label = label or f"{mode}"
    hold = hold_cb is not None
    if mode == "untraced":
        return controlled(wl_cmd(w, hold), label, hold_cb)
    if mode in ("bpftrace", "bpftrace_floor"):
        prog = BPFTRACE_PROG if mode == "bpftrace" else BPFTRACE_FLOOR_PROG
        cmd = ["bpftrace", "-e", prog, "-c", shlex.join(wl_cmd(w, hold))]
        pin_child = None
        if PIN[0]:
            # bpftrace on the tracer's CPU, its child (the workload, ready
            # and waiting) moved to the target's
            cmd = ["taskset", "-c", str(PIN[0][1])] + cmd

            def pin_child(pid):
                with open(f"/proc/{pid}/task/{pid}/children") as f:
                    for c in f.read().split():
                        os.sched_setaffinity(int(c), {PIN[0][0]})
        note_cmd(label, cmd)
        if hold:
            # bpf stats: the workload (bpftrace's child) inherits the pipe
            # and holds; the programs are read from bpftrace's fds
            return controlled(cmd, label, hold_cb, pre_go=pin_child)
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=900)
        res = None
        for line in p.stdout.splitlines():
            if line.startswith('{"workload"'):
                res = json.loads(line)
        m = re.search(r"@\[f\]: (\d+)", p.stdout)
        if p.returncode or not res:
            raise RuntimeError("bpftrace failed: " + p.stderr[-500:])
        if w == "loop" and m:
            res["bpftrace_f_count"] = int(m.group(1))
        return res
    if mode == "inproc":
        out = os.path.join(WORK, "inproc.jsonl")
        cmd = [PY, os.path.join(HERE, "inproc_tracer.py"), "--root", root, "-o", out] + wl_cmd(w)[1:]
        res = controlled(cmd, label)
        res["rec_calls"] = trailer(out)["calls"]
        os.unlink(out)
        return res
    extra = {"floor": ["--floor"], "full": [], "novalues": ["--no-values"], "gz": [],
             "nodur_floor": ["--floor", "--no-durations"], "nodur": ["--no-durations"],
             "sites": ["--mechanism", "sites"], "sites_floor": ["--floor", "--mechanism", "sites"],
             "usdt": ["--mechanism", "usdt"], "usdt_floor": ["--floor", "--mechanism", "usdt"]}[mode]
    out = os.path.join(WORK, f"{w}-{mode}.jsonl" + (".gz" if mode == "gz" else ""))
    rec = Recorder(extra, root, out, label)
    CUR_REC[0] = rec
    if wrap_pre_go:
        def pre(pid):
            rec.start(pid)
            wrap_pre_go(pid)
    else:
        pre = rec.start
    res = controlled(wl_cmd(w, hold), "target (for -p)", hold_cb, pre_go=pre)
    res.update(rec.finish())
    return res


MODES = ["untraced", "floor", "full", "novalues", "gz", "nodur_floor", "nodur", "bpftrace_floor",
         "bpftrace", "inproc"]
# the floor each mode is compared with (the same probes, empty programs)
FLOOR_OF = {"nodur": "nodur_floor", "bpftrace": "bpftrace_floor"}
FLOORS = ("untraced", "floor", "nodur_floor", "bpftrace_floor")
MODE_DESC = {
    "untraced": "no tracer",
    "floor": "`record --floor`: same uprobes, empty BPF programs",
    "full": "`record` full capture, plain JSONL file",
    "novalues": "`record --no-values`",
    "gz": "`record`, gzip file (`.jsonl.gz`)",
    "nodur_floor": "`record --floor --no-durations`: the return probes only, empty BPF programs",
    "nodur": "`record --no-durations`: returns only (same trees and values, no durations)",
    "bpftrace_floor": "bpftrace on function__return with an empty action (its floor)",
    "bpftrace": "bpftrace name count on function__return",
    "inproc": "in-process `sys.setprofile` tracer (bench/inproc_tracer.py)",
}


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt(x, nd=2):
    if x is None or x != x:
        return "n/a"
    return f"{x:.{nd}f}"


def chunk_time(r):
    """a workload's time, robust to a burst of the machine's other work:
    its median chunk (bench/loop.py: 1/20 of the calls; torch: one
    iteration) times the number of chunks; the whole time where it has
    none (the generator)"""
    c = r.get("chunk_s")
    return statistics.median(c) * len(c) if c else r["loop_s"]


def summarize(runs):
    S = {}
    for w, modes in runs.items():
        base = med([r["loop_s"] for r in modes["untraced"]])
        if w == "loop":
            calls = med([r["calls"] for r in modes["untraced"]])
        else:
            calls = med([r["rec_calls"] for r in modes["full"]])
        base_rob = med([chunk_time(r) for r in modes["untraced"]])
        base_best = min(chunk_time(r) for r in modes["untraced"])
        S[w] = {"calls": calls, "base_s": base, "base_rob_s": base_rob, "modes": {}}
        for m, rs in modes.items():
            if not rs:
                continue
            ts = [r["loop_s"] for r in rs]
            ov = [(t - base) / calls * 1e6 for t in ts]
            d = {"n": len(rs), "loop_s": med(ts), "per_call_us": med(ts) / calls * 1e6,
                 "over_us": (med(ts) - base) / calls * 1e6, "over_min": min(ov), "over_max": max(ov),
                 # the verdicts' measure: other jobs only ever add time
                 "over_best_us": (min(chunk_time(r) for r in rs) - base_best) / calls * 1e6,
                 "over_rob_us": (med([chunk_time(r) for r in rs]) - base_rob) / calls * 1e6,
                 # per repetition, in run order (modes are interleaved, so
                 # repetition i of two modes ran minutes apart at most)
                 "over_rob_reps": [(chunk_time(r) - base_rob) / calls * 1e6 for r in rs],
                 "spread_pct": (max(ts) - min(ts)) / med(ts) * 100 if len(ts) > 1 else 0.0}
            if "lt_cpu_s" in rs[0]:
                d["lt_cpu_s"] = med([r["lt_cpu_s"] for r in rs])
                d["lt_user_s"] = med([r["lt_user_s"] for r in rs])
                d["lt_sys_s"] = med([r["lt_sys_s"] for r in rs])
                d["lt_maxrss_mb"] = max(r["lt_maxrss_kb"] for r in rs) / 1024
                d["rec_calls"] = med([r["rec_calls"] for r in rs])
                d["lost"] = max(r["lost"] for r in rs)
                d["trace_mb"] = med([r["trace_bytes"] for r in rs]) / 1e6
                d["lt_cpu_per_call_us"] = d["lt_cpu_s"] / d["rec_calls"] * 1e6
            S[w]["modes"][m] = d
    return S


# (label, mode, divided by mode) for the ratio lines under each table
RATIOS = (("full/floor", "full", "floor"), ("full/bpftrace", "full", "bpftrace"),
          ("full/in-process", "full", "inproc"), ("no-values/floor", "novalues", "floor"),
          ("gz/floor", "gz", "floor"), ("floor/bpftrace", "floor", "bpftrace"),
          ("floor/in-process", "floor", "inproc"), ("no-durations/its floor", "nodur", "nodur_floor"),
          ("no-durations/bpftrace", "nodur", "bpftrace"), ("no-durations/in-process", "nodur", "inproc"))
# the measure behind verdicts, the x floor column and the findings
V = "over_best_us"


def ratio(S, w, a, b, key="over_us"):
    ma, mb = S[w]["modes"].get(a), S[w]["modes"].get(b)
    if not ma or not mb or mb[key] <= 0:
        return None
    return ma[key] / mb[key]


def machine():
    model = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    return {
        "nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(),
        "mem": sh("free -m | awk '/Mem:/{print $2\" MiB\"}'"),
        "debian": sh("cat /etc/debian_version"),
        "pti": sh("cat /sys/devices/system/cpu/vulnerabilities/meltdown"),
        "virt": sh("systemd-detect-virt 2>/dev/null || true") or "unknown",
        "pcid": " pcid " in " " + sh("grep -m1 '^flags' /proc/cpuinfo") + " ",
        "pvm": "pvm" in sh("grep -m1 pvm /proc/kallsyms | head -c 200"),
    }


def versions():
    v = {}
    v["leaktrace"] = sh(f"git -C {REPO} rev-parse --short HEAD") + \
        (" (+ uncommitted changes)" if sh(f"git -C {REPO} status --porcelain -- user bpf") else "")
    v["python"] = sh(f"{PY} -c 'import sys; print(sys.version.split()[0])'")
    v["python build-id"] = sh(f"readelf -n {PY} | awk '/Build ID/{{print $3}}'")
    v["torch"] = sh(f"dpkg-query -W -f='${{Version}}' python3-torch")
    v["bpftrace"] = sh("bpftrace --version") if shutil.which("bpftrace") else "not installed"
    v["libbpf"] = sh("dpkg-query -W -f='${Version}' libbpf1")
    v["clang"] = sh("clang --version | head -1")
    v["perf"] = sh("perf --version") if shutil.which("perf") else "not installed"
    return v
