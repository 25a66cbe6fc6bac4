"""record -a: every process of every supported CPython build on the host,
including processes started after leaktrace, tagged with pid and command
line; --comm keeps one command."""
import json
import os
import subprocess
import time

import lt

SCRIPT = """import sys, time
time.sleep(0.8)
def f(x):
    return x * 2
for i in range(3):
    f(i)
"""


def run_all(d, *extra):
    script = lt.write_file(d, "sw.py", SCRIPT)
    alt = os.path.join(d, "pyalt")  # same binary, another comm
    os.symlink(lt.PY, alt)
    pythons = [lt.PY, alt]
    pyenv = "/root/.pyenv/versions/3.11.7/bin/python3.11"
    if os.path.exists(pyenv):
        pythons.append(pyenv)
    out = os.path.join(d, "all.jsonl")
    lp = lt.start_recording("-a", "--root", "f", "-o", out, *extra)
    err = lp.attach_log
    procs = [subprocess.Popen([py, script]) for py in pythons]
    for p in procs:
        assert p.wait(timeout=60) == 0
    time.sleep(0.3)
    lp.send_signal(2)
    _, rest = lp.communicate(timeout=30)
    assert lp.returncode == 0, err + rest
    ex = [json.loads(l) for l in open(out) if '"exec"' in l]
    return {p.pid: py for p, py in zip(procs, pythons)}, ex


@lt.test
def processes_started_later_are_traced():
    lt.need_root()
    pids, ex = run_all(lt.tmpdir())
    for pid, py in pids.items():
        mine = [e for e in ex if e["pid"] == pid]
        assert [e["root"]["ret"]["value"] for e in mine] == [0, 2, 4], (py, mine)
        assert all(e["complete"] and e["cmdline"].endswith("sw.py") for e in mine), mine


@lt.test
def comm_filter():
    lt.need_root()
    pids, ex = run_all(lt.tmpdir(), "--comm", "pyalt")
    seen = {e["pid"] for e in ex}
    want = {pid for pid, py in pids.items() if py.endswith("pyalt")}
    assert seen == want, (seen, pids)


@lt.test
def new_build_started_later_is_attached():
    """a copy of python (another inode, as a container's own python is)
    started after leaktrace: attached when it calls execve"""
    lt.need_root()
    import shutil
    d = lt.tmpdir()
    os.makedirs(os.path.join(d, "bin"))
    py = os.path.join(d, "bin", "python3.11")
    shutil.copy2(lt.PY, py)
    script = lt.write_file(d, "sw.py", SCRIPT)
    out = os.path.join(d, "all.jsonl")
    lp = lt.start_recording("-a", "--root", "f", "-o", out)
    p = subprocess.Popen([py, script])
    assert p.wait(timeout=60) == 0
    time.sleep(0.3)
    lp.send_signal(2)
    _, err = lp.communicate(timeout=30)
    assert "now also tracing python 3.11.2 at %s" % py in err, err
    ex = [json.loads(l) for l in open(out) if '"exec"' in l]
    mine = [e for e in ex if e["pid"] == p.pid]
    assert [e["root"]["ret"]["value"] for e in mine] == [0, 2, 4], mine



@lt.test
def python_exiting_while_attaching_is_no_error():
    """a build found through a running process (its /proc/PID/map_files
    entry) whose process exits before the probes are attached: the file is
    held open from the moment it is found, so -a still starts, and traces
    that build's later processes (it failed with "return site ... is
    outside" when the process was gone)"""
    lt.need_root()
    import shutil
    d = lt.tmpdir()
    copies = []
    for i in range(5):      # other inodes: each one a build of its own
        py = os.path.join(d, "python%d" % i, "python3.11")
        os.makedirs(os.path.dirname(py))
        shutil.copy2(lt.PY, py)
        copies.append(py)
    script = lt.write_file(d, "sw.py", SCRIPT)
    for rnd in range(4):
        # each copy's process exits a little later than the one before,
        # while leaktrace reads the builds it found and attaches
        short = [subprocess.Popen([py, "-c", "import time; time.sleep(%.2f)" % (0.2 + 0.05 * k)])
                 for k, py in enumerate(copies)]
        time.sleep(0.1)
        out = os.path.join(d, "all%d.jsonl" % rnd)
        lp = lt.start_recording("-a", "--root", "f", "-o", out)
        for p in short:
            p.wait(timeout=60)
        later = subprocess.Popen([copies[-1], script])
        assert later.wait(timeout=60) == 0
        time.sleep(0.3)
        lp.send_signal(2)
        _, err = lp.communicate(timeout=30)
        assert lp.returncode == 0, lp.attach_log + err
        ex = [json.loads(l) for l in open(out) if '"exec"' in l]
        mine = [e["root"]["ret"]["value"] for e in ex if e["pid"] == later.pid]
        assert mine == [0, 2, 4], (rnd, mine, err)


if __name__ == "__main__":
    lt.main()
