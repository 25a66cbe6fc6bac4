#!/usr/bin/python3.11
"""Per-call cost of full capture on each CPython build here, as a ratio to
its own probe floor (`record --floor`: the same probes, empty programs),
measured in one run (issue 16: 3.14 and 3.15 into docs/PERFORMANCE.md).

usage: bench/versions.py [N]   (N calls of f per run, default 200000)

Builds: Debian's /usr/bin/python3.11 (USDT) and the Debian sid root's
python3.13/3.14/3.15 (tools/mkroots.sh; stripped, no debug info, traced
from what the binary holds). Each mode runs 3 times, interleaved; the time
is bench/loop.py's own (perf_counter around the loop, start-up excluded),
the median of the runs. The floor is two probe hits per call, so half of
it approximates the trap cost of this machine; a ratio means something
only within one run. Prints a Markdown table.
"""
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LT = os.path.join(ROOT, ".output", "leaktrace")
SID = "/var/tmp/leaktrace-roots/sid"


def builds():
    out = [("Debian 3.11 (USDT)", "/usr/bin/python3.11", None)]
    for v in ("3.13", "3.14", "3.15"):
        exe = os.path.join(SID, "usr/bin/python" + v)
        if os.path.exists(exe):
            out.append(("Debian sid %s (stripped)" % v, exe, v))
    return out


def run_once(exe, minor, mode, n):
    if minor:  # inside the root, so that its stdlib is the build's own
        os.makedirs(os.path.join(SID, "tmp"), exist_ok=True)
        with open(os.path.join(HERE, "loop.py")) as f, open(os.path.join(SID, "tmp/loop.py"), "w") as g:
            g.write(f.read())
        cmd = ["chroot", SID, "python" + minor, "/tmp/loop.py", str(n)]
    else:
        cmd = [exe, os.path.join(HERE, "loop.py"), str(n)]
    if mode != "untraced":
        extra = ["--floor"] if mode == "floor" else ["--root", "run", "-o", "/dev/null"]
        cmd = [LT, "record", "--python", exe] + extra + ["--"] + cmd
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    lines = [l for l in p.stdout.splitlines() if l.startswith("{") and "loop_s" in l]
    if p.returncode or not lines:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), p.returncode, p.stderr[-400:]))
    r = json.loads(lines[-1])
    return r["loop_s"] / r["calls"] * 1e6


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
    modes = ("untraced", "floor", "full")
    print("| build | untraced us/call | floor us/call | full us/call | full / floor |")
    print("|---|---|---|---|---|")
    for label, exe, minor in builds():
        t = {m: [] for m in modes}
        for _ in range(3):
            for m in modes:
                t[m].append(run_once(exe, minor, m, n))
        med = {m: statistics.median(t[m]) for m in modes}
        print("| %s | %.3f | %.2f | %.2f | %.2fx |" % (label, med["untraced"], med["floor"], med["full"],
                                                       (med["full"] - med["untraced"]) /
                                                       (med["floor"] - med["untraced"])), flush=True)


if __name__ == "__main__":
    main()
