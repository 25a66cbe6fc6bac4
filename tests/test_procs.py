"""Process trees: -p PID and -- CMD follow the target's descendants
(forked before or after attach, exec'ed pythons of multiprocessing),
wrappers (env, sh -c, shell scripts), the live view per process, the
qualified --root forms. Every execution carries the pid that ran it."""
import collections
import json
import os
import signal
import subprocess
import time

import lt

PY = lt.PY


def execs_of(path):
    """(header, exec lines, stats) of a trace file"""
    header, execs, stats = None, [], None
    with open(path) as f:
        for line in f:
            d = json.loads(line)
            if d["type"] == "header":
                header = d
            elif d["type"] == "exec":
                execs.append(d)
            elif d["type"] == "stats":
                stats = d
    return header, execs, stats


def record_cmd(d, name, *args, timeout=120):
    """record -o d/name.jsonl ARGS run in d"""
    out = os.path.join(d, name + ".jsonl")
    p = lt.leaktrace("record", "-o", out, *args, timeout=timeout, cwd=d)
    return p, execs_of(out)


FORKER = r'''
import os, sys, time
def predict(x):
    return x * 2
def serve(n, pause):
    for i in range(n):
        predict(i)
        time.sleep(pause)
# two children before attach (the parent waits for the go file), one after
kids = []
for k in range(2):
    pid = os.fork()
    if pid == 0:
        while not os.path.exists(sys.argv[1]):
            time.sleep(0.01)
        serve(5, 0.01)
        os._exit(0)
    kids.append(pid)
print("ready", flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.01)
pid = os.fork()
if pid == 0:
    serve(4, 0)
    os._exit(0)
kids.append(pid)
for p in kids:
    os.waitpid(p, 0)
serve(3, 0)
print(" ".join(map(str, kids)), flush=True)
'''


def run_forker(d, *opts):
    """the forker traced by -p with opts; (parent pid, child pids, execs)"""
    script = lt.write_file(d, "forker.py", FORKER)
    go = os.path.join(d, "go")
    if os.path.exists(go):
        os.unlink(go)
    out = os.path.join(d, "forker.jsonl")
    p = subprocess.Popen([PY, script, go], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        lp = lt.start_recording("-p", p.pid, "--root", "predict", "-o", out, *opts)
        open(go, "w").close()
        kids = [int(x) for x in p.stdout.readline().split()]
        p.wait(timeout=60)
        lp.communicate(timeout=60)
        assert lp.returncode == 0, lp.attach_log
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return p.pid, kids, execs_of(out)[1]


@lt.test
def children_forked_before_and_after_attach():
    """both capture modes (--no-durations reads the frames of the
    processes of the tree at attach, and of each child held at its fork)"""
    lt.need_root()
    d = lt.tmpdir()
    for mode in ([], ["--no-durations"]):
        parent, kids, execs = run_forker(d, *mode)
        per_pid = collections.Counter(e["pid"] for e in execs)
        assert per_pid == {kids[0]: 5, kids[1]: 5, kids[2]: 4, parent: 3}, \
            (mode, per_pid, parent, kids)
        assert all(e["complete"] for e in execs), mode
        # each execution's thread is its process's (forked, single-threaded)
        assert all(e["tid"] == e["pid"] for e in execs), mode


INFLIGHT = r'''
import os
def helper(x):
    return x + 100
def predict(x):
    helper(x)
    if x == 1:
        pid = os.fork()
        if pid == 0:
            helper(-1)
            return "child"
        os.waitpid(pid, 0)
    return x
for i in range(3):
    predict(i)
'''


@lt.test
def execution_forked_in_flight_is_incomplete():
    """predict forks: the child's return of it (its start, and its first
    call, were the parent's) is incomplete, never a complete tree without
    them; the child's next execution, and the parent's, are whole. Both
    capture modes"""
    lt.need_root()
    d = lt.tmpdir()
    script = lt.write_file(d, "inflight.py", INFLIGHT)
    for mode in ([], ["--no-durations"]):
        p, (hdr, execs, stats) = record_cmd(d, "inflight", *mode, "--root", "predict", "--", PY,
                                            script)
        got = sorted((e["pid"] == hdr["pid"], str(e["root"]["ret"]["value"]), e["complete"])
                     for e in execs)
        assert got == [(False, "2", True), (False, "child", False), (True, "0", True),
                       (True, "1", True), (True, "2", True)], (mode, got)
        assert all(e["root"]["calls"][0]["fn"] == "helper" for e in execs if e["complete"]), mode


@lt.test
def no_follow_traces_the_process_alone():
    lt.need_root()
    d = lt.tmpdir()
    parent, kids, execs = run_forker(d, "--no-follow")
    assert collections.Counter(e["pid"] for e in execs) == {parent: 3}


MP = r'''
import multiprocessing as mp, sys
def predict(x):
    return x * 3
def work(x):
    return predict(x)
if __name__ == "__main__":
    mp.set_start_method(sys.argv[1])
    with mp.Pool(2) as pool:
        print(sum(pool.map(work, range(20), chunksize=1)))
'''


@lt.test
def multiprocessing_fork_spawn_forkserver():
    lt.need_root()
    d = lt.tmpdir()
    script = lt.write_file(d, "mp.py", MP)
    for method in ("fork", "spawn", "forkserver"):
        for mode in ([], ["--no-durations"]):
            what = (method, mode)
            p, (hdr, execs, stats) = record_cmd(d, method, *mode, "--root", "predict", "--", PY,
                                                script, method)
            assert p.stdout.strip() == "570", (what, p.stdout)
            assert len(execs) == 20, (what, len(execs), p.stderr)
            assert all(e["complete"] for e in execs), what
            assert hdr["pid"] not in {e["pid"] for e in execs}, what   # the pool's workers
            rets = sorted(e["root"]["ret"]["value"] for e in execs)
            assert rets == [3 * i for i in range(20)], (what, rets)


LATE = r'''
import time
time.sleep(1)
def predict(x):
    return x + 10
for i in range(3):
    predict(i)
'''


@lt.test
def child_running_another_build_is_attached_when_it_execs():
    """a subprocess runs another copy of python (another inode, as a
    virtualenv's or a container's): its probes are attached at its exec"""
    lt.need_root()
    import shutil
    d = lt.tmpdir()
    os.makedirs(os.path.join(d, "bin"))
    other = os.path.join(d, "bin", "python3.11")
    shutil.copy2(PY, other)
    late = lt.write_file(d, "late.py", LATE)
    p, (hdr, execs, stats) = record_cmd(
        d, "late", "--root", "predict", "--", PY, "-c",
        "import subprocess, sys; sys.exit(subprocess.run([%r, %r]).returncode)" % (other, late))
    assert "now also tracing python 3.11.2 at %s" % other in p.stderr, p.stderr
    assert [e["root"]["ret"]["value"] for e in execs] == [10, 11, 12], execs
    assert execs[0]["pid"] != hdr["pid"] and execs[0]["cmdline"] == "%s %s" % (other, late)


SHORT = r'''
def predict(x):
    return x * 2
print(sum(predict(i) for i in range(3)))
'''


def calls_of(execs):
    """what a user compares between two recordings of one run: each
    execution's command line, whether complete, and its calls in order"""
    def walk(n, out):
        out.append((n["fn"], n.get("file")))
        for c in n.get("calls", []):
            walk(c, out)
        return out
    return [(e.get("cmdline"), e["complete"], walk(e["root"], [])) for e in execs]


def held_at_exec(d, python, cmd, host_exe):
    """cmd, a command naming no python, runs a short-lived python of a
    build not traced at the start: recorded from its first call, as with
    --python naming that build; with durations and without (the build
    found at exec gets that mode's probes)"""
    for mode in ([], ["--no-durations"]):
        held_at_exec_mode(d, python, cmd, host_exe, mode)


def held_at_exec_mode(d, python, cmd, host_exe, mode):
    p, (_, execs, _) = record_cmd(d, "late", *mode, "--", *cmd)
    assert p.returncode == 0, p.stderr
    assert "now also tracing python %s" % python in p.stderr, p.stderr
    assert "started no CPython" not in p.stderr, p.stderr
    ref, (_, rexecs, _) = record_cmd(d, "ref", *mode, "--python", host_exe, "--", *cmd)
    assert ref.returncode == 0, ref.stderr
    got, want = calls_of(execs), calls_of(rexecs)
    assert [g[:2] for g in got] == [w[:2] for w in want], ([g[:2] for g in got], [w[:2] for w in want])
    for (_, _, g), (_, _, w) in zip(got, want):
        assert g == w, [(i, a, b) for i, (a, b) in enumerate(zip(g, w)) if a != b][:3] or (len(g), len(w))
    assert all(g[1] for g in got), got
    calls = [c for g in got for c in g[2]]
    # the interpreter's start-up (importlib's first module) and the script
    assert calls[1] == ("<module>", "<frozen importlib._bootstrap>"), calls[:3]
    assert sum(c[0] == "predict" for c in calls) == 3, calls[-10:]


@lt.test
def short_python_of_a_new_build_is_traced_from_its_start():
    """`record -- chroot ROOT python3.14 ...`: the exec of a build not
    traced yet holds the process until that build's probes are on"""
    lt.need_root()
    sid, pys = lt.sid_pythons(["3.14"])
    if not pys:
        raise lt.Skip("sid has no python3.14")
    d = lt.tmpdir()
    with open(os.path.join(sid, "tmp", "short_%d.py" % os.getpid()), "w") as f:
        f.write(SHORT)
    try:
        ver = subprocess.run(["chroot", sid, "python3.14", "-c",
                              "import platform; print(platform.python_version())"],
                             capture_output=True, text=True, check=True).stdout.strip()
        held_at_exec(d, ver, ["chroot", sid, "python3.14", "/tmp/short_%d.py" % os.getpid()],
                     os.path.join(sid, "usr/bin/python3.14"))
    finally:
        os.unlink(os.path.join(sid, "tmp", "short_%d.py" % os.getpid()))


def pyenv312_and_libpython():
    """pyenv's 3.12 (its interpreter in the libpython it links): the
    executable, the libraries it loads and [that libpython]; a skip if
    there is none"""
    import glob
    exes = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12.*/bin/python3.12")))
    if not exes:
        raise lt.Skip("no pyenv 3.12")
    libs = lt.ldd_libs([exes[-1]])
    lib = [p for p in libs if os.path.basename(p).startswith("libpython")]
    if not lib:
        raise lt.Skip("%s links no libpython" % exes[-1])
    return exes[-1], libs, lib


@lt.test
def short_python_linking_libpython_is_traced_from_its_start():
    """a script runs a python whose interpreter is in the libpython it
    links (pyenv's builds): held at exec, its libpython found as its
    loader will find it and probed before it is mapped"""
    lt.need_root()
    exe, _, lib = pyenv312_and_libpython()
    d = lt.tmpdir()
    app = lt.write_file(d, "short.py", SHORT)
    # the script's words name no python: found at its exec only
    head, tail = exe.rsplit("python", 1)
    script = lt.write_file(d, "run.sh", "#!/bin/sh\np=python\nexec %s${p}%s %s\n" % (head, tail, app))
    os.chmod(script, 0o755)
    held_at_exec(d, os.path.basename(os.path.dirname(os.path.dirname(exe))), [script],
                 os.path.realpath(lib[0]))


@lt.test
def short_python_in_a_root_linking_its_libpython_is_traced_from_its_start():
    """a container-like root whose python links a libpython that only the
    root has (/usr/lib/x86_64-linux-gnu there, as Ubuntu's and the python
    images' shared builds): found through the held process's root"""
    lt.need_root()
    import shutil
    exe, libs, lib = pyenv312_and_libpython()
    prefix = os.path.dirname(os.path.dirname(exe))
    d = lt.tmpdir()
    root = os.path.join(d, "root")
    multiarch = os.path.join(root, "usr/lib/x86_64-linux-gnu")
    for sub in ("usr/bin", "usr/lib/python3.12", "tmp", "usr/lib/x86_64-linux-gnu"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    shutil.copy2(exe, os.path.join(root, "usr/bin/python3.12"))
    shutil.copy2(os.path.realpath(lib[0]), os.path.join(multiarch, os.path.basename(lib[0])))
    lt.copy_into_root(root, [p for p in libs if p not in lib])
    with open(os.path.join(root, "tmp/short.py"), "w") as f:
        f.write(SHORT)
    # the script's words name no python
    script = lt.write_file(d, "run.sh", "#!/bin/sh\np=python\nexec chroot %s /usr/bin/${p}3.12 "
                           "/tmp/short.py\n" % root)
    os.chmod(script, 0o755)
    stdlib = os.path.join(root, "usr/lib/python3.12")
    lt.run(["mount", "--bind", os.path.join(prefix, "lib/python3.12"), stdlib])
    try:
        held_at_exec(d, os.path.basename(prefix), [script],
                     os.path.join(multiarch, os.path.basename(lib[0])))
    finally:
        lt.run(["umount", stdlib])


APP = r'''
import sys
def predict(x):
    return x + 1
for i in range(3):
    predict(i)
'''


@lt.test
def wrappers_env_sh_and_scripts():
    lt.need_root()
    d = lt.tmpdir()
    app = lt.write_file(d, "app.py", APP)
    script = lt.write_file(d, "run.sh", "#!/bin/sh\nset -e\ncd %s\nexec %s app.py \"$@\"\n" % (d, PY))
    os.chmod(script, 0o755)
    twice = lt.write_file(d, "twice.sh", "#!/bin/sh\n%s %s\n%s %s\n" % (PY, app, PY, app))
    os.chmod(twice, 0o755)
    # a console script: a #! line naming python, the code importing app
    console = lt.write_file(d, "app-cli", "#!%s\nimport sys\nsys.path.insert(0, %r)\nimport app\n" % (PY, d))
    os.chmod(console, 0o755)
    # a script named like a python, as pyenv's shims are
    os.makedirs(os.path.join(d, "shims"), exist_ok=True)
    shim = lt.write_file(os.path.join(d, "shims"), "python3.11",
                         "#!/usr/bin/env bash\nexec %s \"$@\"\n" % PY)
    os.chmod(shim, 0o755)
    cases = [
        ([shim, app], 3),
        ([console], 3),
        (["env", "X=1", PY, app], 3),
        (["sh", "-c", "%s %s" % (PY, app)], 3),
        (["bash", "-c", "cd /; %s %s; true" % (PY, app)], 3),
        # a directory named like a python (a stdlib's) is no python
        (["sh", "-c", "cd /usr/lib/python3.11 && %s %s" % (PY, app)], 3),
        ([script], 3),
        ([twice], 6),
        ([PY, "-m", "app"], 3),
        # launchers: programs that run the command in their words
        (["timeout", "60", PY, app], 3),
        (["nice", "-n", "1", "env", "X=1", PY, app], 3),
        (["setpriv", "--reuid=0", "sh", "-c", "%s %s" % (PY, app)], 3),
        # no python in the words: the system's builds, on the tree only
        (["sh", "-c", 'exec "$(echo %s)%s" app.py' % (PY[:-7], PY[-7:])], 3),
    ]
    for i, (cmd, n) in enumerate(cases):
        p, (hdr, execs, stats) = record_cmd(d, "w%d" % i, "--root", "predict", "--", *cmd)
        assert len(execs) == n and all(e["complete"] for e in execs), (cmd, len(execs), p.stderr)
        assert sorted(e["root"]["ret"]["value"] for e in execs) == sorted([1, 2, 3] * (n // 3)), cmd
        if "$(echo" in cmd[-1]:
            assert "names no python in its words" in p.stderr, p.stderr
    # a command that starts no python is bad input that says so (exit 2),
    # also when its tree runs other programs
    for cmd in (["sh", "-c", "true"], ["sh", "-c", "ls / >/dev/null; sleep 0.2"], ["env", "true"],
                ["timeout", "5", "true"]):
        p = lt.leaktrace("record", "--", *cmd, check=False)
        assert p.returncode == 2 and "%s started no CPython" % cmd[0] in p.stderr, (cmd, p.stderr)


WRAPPED = r'''
import os, sys, time
def predict(x):
    return x + 1
print("ready", os.getpid(), flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.01)
for i in range(5):
    predict(i)
'''


@lt.test
def pid_of_a_wrapper_traces_its_pythons():
    """-p of a process that runs no python (a shell that started one):
    the pythons it started are traced, and stderr names them; both
    capture modes. A wrapper with no python below it: exit 2, said"""
    lt.need_root()
    d = lt.tmpdir()
    script = lt.write_file(d, "wrapped.py", WRAPPED)
    go, out = os.path.join(d, "go"), os.path.join(d, "w.jsonl")
    for mode in ([], ["--no-durations"]):
        if os.path.exists(go):
            os.unlink(go)
        sh = subprocess.Popen(["sh", "-c", "%s %s %s; echo done" % (PY, script, go)],
                              stdout=subprocess.PIPE, text=True)
        try:
            word, child = sh.stdout.readline().split()
            assert word == "ready"
            lp = lt.start_recording("-p", sh.pid, "--root", "predict", "-o", out, *mode)
            assert "pid %d runs no python; tracing the python processes it started: %s" % (
                sh.pid, child) in lp.attach_log, lp.attach_log
            open(go, "w").close()
            assert sh.stdout.readline().strip() == "done"
            sh.wait(timeout=60)
            lp.communicate(timeout=60)
            assert lp.returncode == 0, lp.attach_log
        finally:
            if sh.poll() is None:
                sh.kill()
                sh.wait()
        execs = execs_of(out)[1]
        assert [(e["pid"], e["root"]["ret"]["value"], e["complete"]) for e in execs] == \
            [(int(child), i + 1, True) for i in range(5)], (mode, execs)
    sh = subprocess.Popen(["sh", "-c", "sleep 30"])
    try:
        time.sleep(0.3)
        p = lt.leaktrace("record", "-p", sh.pid, "--root", "predict", check=False)
        assert p.returncode == 2 and "is not a CPython process" in p.stderr, p.stderr
    finally:
        sh.kill()
        sh.wait()


BUSY = r'''
import os, sys, time
def inner(x):
    return x + 1
def busy():
    s = 0
    for i in range(500):
        s = inner(s)
    return s
print("ready", flush=True)
if os.fork() == 0:
    t = time.time()
    while time.time() - t < 6:
        busy()
        time.sleep(0.005)
    os._exit(0)
os.wait()
'''


@lt.test
def live_view_names_functions_per_process():
    lt.need_root()
    d = lt.tmpdir()
    script = lt.write_file(d, "busy.py", BUSY)
    p = subprocess.Popen([PY, script], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        lp = subprocess.Popen([lt.LEAKTRACE, "-p", str(p.pid), "-j", "--duration", "3"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = lp.communicate(timeout=60)
        assert lp.returncode == 0, err
    finally:
        p.kill()
        p.wait()
    lines = [json.loads(l) for l in out.splitlines()]
    busy = [l for l in lines if l.get("pid") and l["pid"] != p.pid]
    assert busy, out
    for l in busy:
        assert l["top"][0]["fn"] == "inner" and l["top"][0]["file"] == script, l
        assert l["top"][0]["line"] == 3, l         # BUSY's def inner
        assert l["threads"][0]["tid"] == l["pid"] and l["calls_per_s"] > 0, l
    assert not any(t["fn"] in ("?", "<unknown>") for l in busy for t in l["top"]), out
    # --where: file:line after each name, in the text view
    p = subprocess.Popen([PY, script], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        r = lt.leaktrace("-p", p.pid, "--where", "--duration", "3")
    finally:
        p.kill()
        p.wait()
    assert "top: inner (%s:3) " % script in r.stdout, r.stdout


@lt.test
def live_view_says_idle():
    lt.need_root()
    p = subprocess.Popen([PY, "-c", "import time; print('ready', flush=True); time.sleep(30)"],
                         stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        r = lt.leaktrace("-p", p.pid, "--duration", "2.5")
        j = lt.leaktrace("-p", p.pid, "-j", "--duration", "2.5")
    finally:
        p.kill()
        p.wait()
    assert r.stdout.startswith("idle: no Python call"), r.stdout
    lines = [json.loads(l) for l in j.stdout.splitlines()]
    assert lines and all(l == {"type": "live", "idle": True, "processes": 1} for l in lines), j.stdout


NSFORK = r'''
import os, sys, time
def predict(x):
    return x
while not os.path.exists(sys.argv[1]):
    time.sleep(0.01)
kids = []
for k in range(2):
    pid = os.fork()
    if pid == 0:
        for i in range(3):
            predict(i)
        os._exit(0)
    kids.append(pid)
for p in kids:
    os.waitpid(p, 0)
predict(9)
print(" ".join(map(str, [os.getpid()] + kids)), flush=True)
'''


@lt.test
def descendants_in_a_pid_namespace_carry_their_own_nspid():
    lt.need_root()
    d = lt.tmpdir()
    script = lt.write_file(d, "nsfork.py", NSFORK)
    go = os.path.join(d, "go")
    out = os.path.join(d, "ns.jsonl")
    u = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", PY, script, go],
                         stdout=subprocess.PIPE, text=True)
    try:
        host = lt.child_pid(u.pid)
        lp = lt.start_recording("-p", host, "--root", "predict", "-o", out)
        open(go, "w").close()
        inner = [int(x) for x in u.stdout.readline().split()]
        u.wait(timeout=60)
        lp.communicate(timeout=60)
    finally:
        if u.poll() is None:
            u.kill()
            u.wait()
    execs = execs_of(out)[1]
    assert inner[0] == 1 and len(execs) == 7, (inner, execs)
    by_nspid = collections.Counter(e["nspid"] for e in execs)
    assert by_nspid == {1: 1, inner[1]: 3, inner[2]: 3}, by_nspid
    assert all(e["nstid"] == e["nspid"] for e in execs)
    assert len({e["pid"] for e in execs}) == 3


ROOTS = r'''
import sys
sys.path.insert(0, sys.argv[1])
from app import server
def predict(x):
    return -x
def run():
    for i in range(3):
        server.predict(i)
        predict(i)
run()
'''


@lt.test
def root_by_module_or_file():
    lt.need_root()
    d = lt.tmpdir()
    os.mkdir(os.path.join(d, "app"))
    lt.write_file(os.path.join(d, "app"), "__init__.py", "")
    lt.write_file(os.path.join(d, "app"), "server.py", "def predict(x):\n    return x * 2\n")
    script = lt.write_file(d, "main.py", ROOTS)
    for root, rets in (("app.server:predict", [0, 2, 4]), ("predict@server.py", [0, 2, 4]),
                       ("predict@app/server.py", [0, 2, 4]), ("predict@main.py", [-2, -1, 0]),
                       ("__init__:predict", None), ("predict", [-2, -1, 0, 0, 2, 4])):
        p, (hdr, execs, stats) = record_cmd(d, "r", "--root", root, "--", PY, script, d)
        got = sorted(e["root"]["ret"]["value"] for e in execs)
        if rets is None:
            assert got == [] and "never matched" in p.stderr, (root, p.stderr)
        else:
            assert got == rets, (root, got)
    # a dotted name is a qualname: it never matches a module's function,
    # and the exit line says so with the names that come near
    p, (hdr, execs, stats) = record_cmd(d, "r", "--root", "server.predict", "--", PY, script, d)
    assert not execs
    assert "--root server.predict never matched" in p.stderr, p.stderr
    assert "nearest: predict (%s/app/server.py:1)" % d in p.stderr or \
        "predict (%s/app/server.py:1)" % d in p.stderr, p.stderr
    assert "--root server:predict" in p.stderr, p.stderr
    r = lt.leaktrace("record", "--root", "bad:", "--", PY, script, d, check=False)
    assert r.returncode == 2 and "MODULE:QUALNAME" in r.stderr, r.stderr


if __name__ == "__main__":
    lt.main()
