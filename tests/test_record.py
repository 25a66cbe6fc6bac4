"""leaktrace record on Debian's CPython 3.11 (a USDT build, traced through its return sites by default): trees compared call for
call with the in-process oracle, durations, attach/detach, bad input."""
import contextlib
import gzip
import json
import os
import signal
import shutil
import subprocess
import sys
import time

import lt
import treecmp

HERE = os.path.dirname(os.path.abspath(__file__))
WL = os.path.join(HERE, "workloads")
CALLS = os.path.join(WL, "calls.py")


@contextlib.contextmanager
def busy_target(d):
    """a target that calls tick(1) every 5 ms until the block ends"""
    script = lt.write_file(d, "busy.py", "import time\ndef tick(i):\n    return i\n"
                                         "while True:\n    tick(1)\n    time.sleep(0.005)\n")
    proc = subprocess.Popen([lt.PY, script])
    try:
        lt.wait_mapped(proc.pid)
        yield proc
    finally:
        proc.kill()
        proc.wait()


def check_busy_thread_exec(ls):
    """the busy target traced without --root from after its start: one
    execution, its thread's, with the module frame's tick calls at the
    top; incomplete, since the module frame began before attach"""
    ex = [l for l in ls if l["type"] == "exec"]
    assert len(ex) == 1 and ex[0]["root"]["fn"] == "<thread>"
    assert ex[0]["complete"] is False
    ticks = [c for c in ex[0]["root"]["calls"] if c["fn"] == "tick"]
    assert len(ticks) > 20 and all(c["ret"] == {"type": "int", "value": 1} for c in ticks)


def record(*args, check=True, timeout=300):
    return lt.leaktrace("record", *args, check=check, timeout=timeout)


def oracle(out, script, *args, root="run", str_len=64):
    lt.run([lt.PY, os.path.join(HERE, "oracle.py"), "--root", root, "--str-len", str(str_len),
            "-o", out, script] + [str(a) for a in args])


def lines(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rt") as f:
        return [json.loads(l) for l in f]


@lt.test
def trees_match_oracle():
    lt.need_root()
    d = lt.tmpdir()
    rec, ora = os.path.join(d, "r.jsonl"), os.path.join(d, "o.jsonl")
    p = record("--root", "run", "-o", rec, "--", lt.PY, CALLS, "4")
    oracle(ora, CALLS, "4")
    problems = treecmp.compare(rec, ora)
    assert not problems, "\n".join(problems[:5])
    ls = lines(rec)
    assert ls[0]["type"] == "header" and ls[0]["python"].startswith("3.11") and ls[0]["root"] == "run"
    # 4 calls of run() on the main thread, 2 Thread.run executions
    assert ls[-1]["type"] == "stats" and ls[-1]["execs"] == 6 and ls[-1]["lost_events"] == 0
    assert len([l for l in ls if l["type"] == "exec"]) == 6
    assert "6 executions (0 incomplete)" in p.stderr, p.stderr


@lt.test
def values_and_types_exact():
    lt.need_root()
    d = lt.tmpdir()
    rec = os.path.join(d, "r.jsonl")
    record("--root", "values", "-o", rec, "--", lt.PY, CALLS, "1")
    ex = [l for l in lines(rec) if l["type"] == "exec"]
    got = {c["fn"].split(".")[-1]: c["ret"] for c in ex[0]["root"]["calls"]}
    assert got["big"] == {"type": "int", "value": str(2 ** 100)}, got["big"]
    assert got["neg_big"] == {"type": "int", "value": str(-(2 ** 70))}
    assert got["edge"] == {"type": "int", "value": -2 ** 63}
    assert got["special"] == {"type": "float", "value": "nan"}
    assert got["latin"] == {"type": "str", "value": "caf\xe9 0"}
    assert got["astral"]["value"] == "\U0001f600 smile 0"
    assert got["long_str"]["truncated"] is True and len(got["long_str"]["value"].encode()) <= 64
    assert got["boolean"] == {"type": "bool", "value": True}
    assert got["enum_member"] == {"type": "Color"}, "IntEnum carries only its type"
    assert got["none"] == {"type": "NoneType"}
    assert got["a_list"] == {"type": "list"}


@lt.test
def str_len_and_no_values():
    lt.need_root()
    d = lt.tmpdir()
    a, b = os.path.join(d, "a.jsonl"), os.path.join(d, "b.jsonl")
    record("--root", "values", "--str-len", "5", "-o", a, "--", lt.PY, CALLS, "1")
    got = {c["fn"].split(".")[-1]: c["ret"] for c in lines(a)[1]["root"]["calls"]}
    assert got["latin"] == {"type": "str", "value": "caf\xe9", "truncated": True}, got["latin"]
    assert got["bmp"] == {"type": "str", "value": "\u4e2d", "truncated": True}, got["bmp"]
    record("--root", "values", "--no-values", "-o", b, "--", lt.PY, CALLS, "1")
    for c in lines(b)[1]["root"]["calls"]:
        assert "value" not in c["ret"] or c["ret"]["type"] == "bool", c


@lt.test
def positional_args():
    lt.need_root()
    d = lt.tmpdir()
    script, rec = os.path.join(d, "a.py"), os.path.join(d, "a.jsonl")
    with open(script, "w") as f:
        f.write("def f(a, b, c='x', *rest, k=1):\n    return a\n"
                "class C:\n    def m(self, x):\n        return x\n"
                "def run():\n    f(1, 2.5)\n    f('h\\xe9', None, 'zz', 4, 5)\n    C().m(True)\n"
                "run()\n")
    record("--args", "--root", "run", "-o", rec, "--", lt.PY, script)
    calls = lines(rec)[1]["root"]["calls"]
    assert calls[0]["args"] == [{"type": "int", "value": 1}, {"type": "float", "value": 2.5},
                                {"type": "str", "value": "x"}], calls[0]
    assert calls[1]["args"] == [{"type": "str", "value": "h\xe9"}, {"type": "NoneType"},
                                {"type": "str", "value": "zz"}], calls[1]
    assert calls[2]["args"] == [{"type": "C"}, {"type": "bool", "value": True}], calls[2]
    # without --args no "args" key
    record("--root", "run", "-o", rec, "--", lt.PY, script)
    assert all("args" not in c for c in lines(rec)[1]["root"]["calls"])


@lt.test
def hash_values_stable_with_key():
    lt.need_root()
    d = lt.tmpdir()
    key, a, b = os.path.join(d, "k"), os.path.join(d, "a.jsonl"), os.path.join(d, "b.jsonl")
    record("--root", "values", "--hash-values", "--hash-key", key, "-o", a, "--", lt.PY, CALLS, "1")
    record("--root", "values", "--hash-values", "--hash-key", key, "-o", b, "--", lt.PY, CALLS, "1")
    assert (os.stat(key).st_mode & 0o777) == 0o600
    ra, rb = lines(a)[1]["root"]["calls"], lines(b)[1]["root"]["calls"]
    assert [c["ret"] for c in ra] == [c["ret"] for c in rb]
    text = open(a).read()
    # (words with letters beyond a-f: hex digests cannot contain them by chance)
    assert "caf\\u00e9" not in text and "caf\xe9" not in text and "smile" not in text
    assert "1267650600228229401496703205376" not in text
    vals = {c["fn"].split(".")[-1]: c["ret"] for c in ra}
    assert vals["latin"]["value"].startswith("h:") and vals["none"] == {"type": "NoneType"}


@lt.test
def sleep_duration_50ms():
    lt.need_root()
    d = lt.tmpdir()
    script = lt.write_file(d, "s.py", "import time\ndef nap():\n    time.sleep(0.05)\n    return 1\n"
                                      "for _ in range(5):\n    t = time.monotonic_ns()\n    nap()\n"
                                      "    print(time.monotonic_ns() - t)\n")
    rec = os.path.join(d, "r.jsonl")
    p = record("--root", "nap", "-o", rec, "--", lt.PY, script)
    inside = [int(x) for x in p.stdout.split()]
    ex = [l for l in lines(rec) if l["type"] == "exec"]
    assert len(ex) == 5
    for e, t in zip(ex, inside):
        ms = e["root"]["dur_ns"] / 1e6
        # what the tracer measured is what the target itself measured
        # around the call (which adds the call itself, so at most a little more)
        assert 0 <= t / 1e6 - ms < 1.0, "recorded %.3f ms, the target measured %.3f ms" % (ms, t / 1e6)
        # and 50 +- 5 ms unless the machine itself overslept
        assert 50 <= ms <= 55 or t / 1e6 > 55, "nap took %.2f ms" % ms


@lt.test
def gzip_output_same_as_plain():
    lt.need_root()
    d = lt.tmpdir()
    a, b = os.path.join(d, "a.jsonl"), os.path.join(d, "b.jsonl.gz")
    record("--root", "run", "-o", a, "--", lt.PY, CALLS, "2")
    record("--root", "run", "-o", b, "--", lt.PY, CALLS, "2")
    with gzip.open(b, "rt") as f:
        assert f.read(2) == '{"'
    strip = lambda ls: [treecmp.node_key(l["root"]) for l in ls if l["type"] == "exec"]
    assert strip(lines(a)) == strip(lines(b))
    assert (os.stat(a).st_mode & 0o777) == 0o600, oct(os.stat(a).st_mode)


@lt.test
def human_lines_without_output():
    lt.need_root()
    p = record("--root", "run", "--", lt.PY, CALLS, "2")
    # the target prints to the same stdout: find the lines wherever they start
    import re
    ls = re.findall(r"exec \d+ tid \d+ .*", p.stdout)
    assert len(ls) == 4, p.stdout
    assert " run " in ls[0] and "calls: " in ls[0]


@lt.test
def json_lines_without_output():
    lt.need_root()
    p = record("-j", "--root", "run", "--", lt.PY, CALLS, "2")
    ex = [json.loads(l[l.index("{"):]) for l in p.stdout.splitlines() if '{"type":"exec"' in l]
    assert len(ex) == 4, p.stdout
    # 102: a coroutine frame is one call however often it resumed
    # (co_main and co_leaf run twice); a plain generator's runs are calls
    assert ex[0]["root"] == "run" and ex[0]["calls"] == 102 and ex[0]["complete"] is True, ex[0]
    assert ex[0]["first_layer"][:3] == ["Box.__init__", "Box.get", "Box.double"]


@lt.test
def attach_detach_does_not_change_output():
    lt.need_root()
    d = lt.tmpdir()
    script = lt.write_file(d, "loop.py", "import sys, time\n"
                                         "def step(i):\n    return sum(k * i for k in range(200))\n"
                                         "t0 = time.time()\nacc = 0\n"
                                         "for i in range(30):\n    acc += step(i)\n    print(i, acc, flush=True)\n    time.sleep(0.1)\n"
                                         "sys.exit(3)\n")
    plain = subprocess.run([lt.PY, script], capture_output=True, text=True)
    proc = subprocess.Popen([lt.PY, script], stdout=subprocess.PIPE, text=True)
    time.sleep(0.5)
    rec = os.path.join(d, "r.jsonl")
    for _ in range(2):  # attach, detach, attach again
        record("-p", proc.pid, "--root", "step", "--duration", "0.7", "-o", rec)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == plain.returncode == 3
    assert out == plain.stdout
    ex = [l for l in lines(rec) if l["type"] == "exec"]
    assert ex and all(e["root"]["fn"] == "step" for e in ex)
    assert all(e["root"]["ret"]["type"] == "int" for e in ex if e["complete"])


@lt.test
def thread_mode_and_trailer_on_sigint():
    lt.need_root()
    d = lt.tmpdir()
    with busy_target(d) as proc:
        time.sleep(0.3)
        rec = os.path.join(d, "r.jsonl")
        lp = lt.start_recording("-p", proc.pid, "-o", rec)
        time.sleep(1.0)
        lp.send_signal(signal.SIGINT)
        _, err = lp.communicate(timeout=30)
        assert lp.returncode == 0, err
        ls = lines(rec)
        assert ls[0]["type"] == "header" and ls[-1]["type"] == "stats"
        # the module frame is still running
        check_busy_thread_exec(ls)


@lt.test
def calls_before_a_thread_spins_on_its_cpu_reach_the_trace():
    """the probes' records go out in per-CPU batches (FORMAT.md §3): a
    thread that makes its calls and then keeps its CPU without another
    call or a context switch (pinned, spinning in bytecode) still has them
    all in the trace, sent while it spins or when the recording stops"""
    lt.need_root()
    d = lt.tmpdir()
    script = lt.write_file(d, "spin.py", """import os, sys
os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
def f(i):
    return i
def run():
    t = 0
    for i in range(50):
        t += f(i)
    return t
print("ready", flush=True)
sys.stdin.readline()
run()
print("done", flush=True)
while True:
    pass
""")
    proc = subprocess.Popen([lt.PY, script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline() == "ready\n"
        rec = os.path.join(d, "r.jsonl")
        lp = lt.start_recording("-p", proc.pid, "--root", "run", "-o", rec)
        if len(os.sched_getaffinity(0)) > 1:
            os.sched_setaffinity(lp.pid, {min(os.sched_getaffinity(0))})
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline() == "done\n"
        time.sleep(0.5)
        lp.send_signal(signal.SIGINT)
        _, err = lp.communicate(timeout=30)
        assert lp.returncode == 0, err
    finally:
        proc.kill()
        proc.wait()
    ex = [l for l in lines(rec) if l["type"] == "exec"]
    assert len(ex) == 1 and ex[0]["complete"], (len(ex), err)
    assert ex[0]["root"]["ret"] == {"type": "int", "value": 1225}
    assert [c["ret"]["value"] for c in ex[0]["root"]["calls"]] == list(range(50))


@lt.test
def sighup_reopens_output_for_log_rotation():
    lt.need_root()
    d = lt.tmpdir()
    with busy_target(d) as proc:
        rec = os.path.join(d, "r.jsonl")
        lp = lt.start_recording("-p", proc.pid, "--root", "tick", "-o", rec)
        time.sleep(0.5)
        os.rename(rec, rec + ".1")
        lp.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        lp.send_signal(signal.SIGINT)
        lp.communicate(timeout=30)
        assert lp.returncode == 0
    ids = []
    for path in (rec + ".1", rec):
        ls = lines(path)
        assert ls[0]["type"] == "header" and ls[-1]["type"] == "stats", path
        ex = [l for l in ls if l["type"] == "exec"]
        assert len(ex) > 10 and ls[-1]["execs"] == len(ex), (path, len(ex), ls[-1])
        ids += [e["id"] for e in ex]
    assert ids == list(range(ids[0], ids[0] + len(ids))), "executions lost or repeated at rotation"


@lt.test
def target_killed_mid_execution():
    lt.need_root()
    d = lt.tmpdir()
    script = lt.write_file(d, "k.py", "import os, signal, time\ndef work(i):\n    if i == 3:\n"
                                      "        os.kill(os.getpid(), signal.SIGKILL)\n    return i\n"
                                      "for i in range(5):\n    work(i)\n")
    rec = os.path.join(d, "r.jsonl")
    p = record("--root", "work", "-o", rec, "--", lt.PY, script, check=False)
    # record -- CMD exits as the command did: 128+9 for SIGKILL
    assert p.returncode == 137 and "killed by signal 9 (status 137)" in p.stderr, p.stderr
    ls = lines(rec)
    assert ls[-1]["type"] == "stats"
    ex = [l for l in ls if l["type"] == "exec"]
    assert [e["complete"] for e in ex] == [True, True, True, False], ex


@lt.test
def exit_status_is_the_commands():
    """record -- CMD exits with the command's status, as time and strace
    do, and its summary line says so; leaktrace's own errors are 1 and 2,
    told apart by the summary line, which only a recording that worked
    writes"""
    lt.need_root()
    d = lt.tmpdir()
    rec = os.path.join(d, "r.jsonl")
    for code, args, said in ((3, ["-c", "raise SystemExit(3)"], "exited with status 3"),
                             (0, ["-c", "pass"], "exited with status 0"),
                             (2, ["-c", "import sys; sys.exit(2)"], "exited with status 2"),
                             (1, ["-c", "raise KeyError(1)"], "exited with status 1"),
                             # SIG_DFL first: a caller that ignores SIGINT (a background
                             # job of a shell) passes that on, as leaktrace does
                             (130, ["-c", "import os, signal; signal.signal(signal.SIGINT, "
                                    "signal.SIG_DFL); os.kill(os.getpid(), signal.SIGINT)"],
                              "killed by signal 2 (status 130)")):
        ref = subprocess.run([lt.PY] + args, capture_output=True)
        p = record("-o", rec, "--", lt.PY, *args, check=False)
        assert p.returncode == code and (ref.returncode == code or ref.returncode == -2), \
            (args, p.returncode, ref.returncode, p.stderr)
        summary = p.stderr.strip().splitlines()[-1]
        assert " executions (" in summary and summary.endswith(said), (args, p.stderr)
        assert lines(rec)[-1]["type"] == "stats"
        # without -o, a failing command's status is still said (a line of its own)
        p = record("--root", "nothing", "--", lt.PY, *args, check=False)
        assert p.returncode == code, (args, p.returncode, p.stderr)
        assert (said in p.stderr) == (code != 0), (args, p.stderr)
    # leaktrace's own usage error: 2 and no summary line
    p = record("--root", "x", "--ringbuf-mb", "0", "--", lt.PY, "-c", "pass", check=False)
    assert p.returncode == 2 and "exited with status" not in p.stderr, p.stderr


@lt.test
def live_rules_alert_on_matching_executions():
    lt.need_root()
    d = lt.tmpdir()
    script, rules = os.path.join(d, "s.py"), os.path.join(d, "r.json")
    with open(script, "w") as f:
        f.write("def check(x):\n    return x % 3\ndef handle(i):\n    return check(i)\n"
                "for i in range(7):\n    handle(i)\n")
    with open(rules, "w") as f:
        json.dump({"format": 1, "rules": [{"observation": "returns", "key": "check",
                                           "value": "int:2", "key_kind": "name"}]}, f)
    rec = os.path.join(d, "t.jsonl")
    p = record("--root", "handle", "--rules", rules, "-o", rec, "--", lt.PY, script)
    alerts = [l for l in p.stdout.splitlines() if l.startswith("ALERT")]
    assert len(alerts) == 2 and " exec 2 " in alerts[0] and " exec 5 " in alerts[1], p.stdout
    assert "returns check = int:2" in alerts[0]
    assert len([l for l in lines(rec) if l["type"] == "exec"]) == 7
    with open(os.path.join(d, "bad.json"), "w") as f:
        f.write("{bad")
    rc, err = err_of("record", "--root", "handle", "--rules", os.path.join(d, "bad.json"),
                     "--", lt.PY, script)
    assert rc == 2 and "bad.json" in err, err


@lt.test
def trace_owned_by_sudo_user():
    lt.need_root()
    d = lt.tmpdir()
    os.chmod(d, 0o777)
    rec = os.path.join(d, "t.jsonl")
    env = dict(os.environ, SUDO_UID="65534", SUDO_GID="65534")
    lt.run([lt.LEAKTRACE, "record", "--root", "f", "-o", rec, "--", lt.PY, "-c", "def f(): pass\nf()"],
           env=env)
    st = os.stat(rec)
    assert st.st_uid == 65534 and (st.st_mode & 0o777) == 0o600


def err_of(*args, **kw):
    p = lt.leaktrace(*args, check=False, **kw)
    return p.returncode, p.stderr.strip()


@lt.test
def bad_input_unknown_pid():
    rc, err = err_of("record", "-p", "999999")
    assert rc == 2 and "no process with pid 999999" in err, err


@lt.test
def pid_started_a_moment_ago_is_waited_for():
    """python app.py & leaktrace -p $!: the pid can still be the shell
    between its fork and its exec. Here it stays a shell for 0.6 s, then
    execs python; record -p waits for the exec (the process's first
    second) and traces it to its exit. Debian's python3.11 holds its
    interpreter; pyenv's links libpython, which its loader maps and
    relocates after the exec"""
    lt.need_root()
    d = lt.tmpdir()
    n = 600
    script = lt.write_file(d, "late.py", "import time\ndef tick(i):\n    return i\n"
                                         "for i in range(%d):\n    tick(i)\n    time.sleep(0.005)\n" % n)
    for py in (lt.PY, "/root/.pyenv/versions/3.11.7/bin/python3.11"):
        out = os.path.join(d, "t.jsonl")
        proc = subprocess.Popen(["sh", "-c", "sleep 0.6; exec %s %s" % (py, script)])
        try:
            exe = os.readlink("/proc/%d/exe" % proc.pid)
            assert "python" not in exe, exe      # still the shell
            p = record("--root", "tick", "-o", out, "-p", proc.pid)
        finally:
            proc.kill()
            proc.wait()
        assert "tracing pid %d" % proc.pid in p.stderr, (py, p.stderr)
        ex = [l for l in lines(out) if l["type"] == "exec"]
        # attached some time after the exec: the first ticks are missed,
        # then every one is traced, the first maybe from its middle
        assert ex and [e["root"]["ret"]["value"] for e in ex] == list(range(n - len(ex), n)), \
            (py, len(ex))
        assert all(e["complete"] for e in ex[1:]), py


@lt.test
def bad_input_not_python():
    """a process started a moment ago that does not run python: refused
    once it is 1 s old (the wait above ends)"""
    lt.need_root()
    proc = subprocess.Popen(["sleep", "30"])
    try:
        rc, err = err_of("-p", str(proc.pid))
        assert rc == 2 and "is not a CPython process" in err, err
    finally:
        proc.kill()
        proc.wait()


@lt.test
def bad_input_python_that_is_not_cpython():
    """--python naming a file that is no CPython (libz here): one line, exit 2;
    a CPython is recognised by content (Py_Version or its version string),
    not by name or build-id"""
    lt.need_root()
    lib = "/lib/x86_64-linux-gnu/libz.so.1"
    rc, err = err_of("record", "--root", "f", "--python", lib, "--", lt.PY, "-c", "pass")
    assert rc == 2 and "is not a CPython" in err and len(err.strip().splitlines()) == 1, err


@lt.test
def stripped_interpreter_is_traced():
    """a python binary stripped of its symbol table (as some images ship
    it) keeps its build-id, dynamic symbols and USDT notes: it is traced
    like the original, even under a name that does not say python"""
    lt.need_root()
    d = lt.tmpdir()
    exe, rec = os.path.join(d, "interp"), os.path.join(d, "r.jsonl")
    shutil.copy(lt.PY, exe)
    lt.run(["strip", "--strip-all", exe])
    assert ".symtab" not in lt.run(["readelf", "-S", exe]).stdout
    lt.leaktrace("record", "--root", "f", "-o", rec, "--", exe, "-c",
                 "def f(x):\n    return x * 2\nfor i in range(3):\n    f(i)\n")
    ex = [json.loads(l) for l in open(rec) if '"exec"' in l]
    assert [e["root"]["ret"]["value"] for e in ex] == [0, 2, 4], ex


@lt.test
def bad_input_python_the_pid_does_not_run():
    """offsets are checked against the live process before anything is
    attached: a --python file the pid does not map is refused"""
    lt.need_root()
    lib = "/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0"
    if not os.path.exists(lib):
        raise lt.Skip("no pyenv 3.11.7 here")
    proc = subprocess.Popen([lt.PY, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.3)
        rc, err = err_of("record", "-p", str(proc.pid), "--root", "f", "--python", lib)
        assert rc == 2 and "does not map" in err, err
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


@lt.test
def bad_input_not_root():
    rc, err = err_of("record", "-p", "1", env=dict(os.environ), preexec_fn=lambda: os.setuid(65534))
    assert rc == 2 and "needs root" in err, err


@lt.test
def bad_input_unwritable_output():
    lt.need_root()
    rc, err = err_of("record", "--root", "f", "-o", "/proc/leaktrace-test.jsonl", "--", lt.PY, "-c", "pass")
    assert rc == 2 and "/proc/leaktrace-test.jsonl" in err, err


@lt.test
def bad_input_usage():
    rc, err = err_of("record", "--str-len", "abc", "-p", "1")
    assert rc == 2 and "--str-len" in err
    rc, err = err_of("record")
    assert rc == 2 and "exactly one target" in err
    for opt in (["--args"], ["--max-depth", "3"]):
        rc, err = err_of("record", "--no-durations", *opt, "-p", "1")
        assert rc == 2 and "--no-durations does not go with " + opt[0] in err, err
    rc, err = err_of("record", "--no-durations", "-a")
    assert rc == 2 and "does not go with -a" in err, err


def nodes(n):
    stack = [n]
    while stack:
        x = stack.pop()
        yield x
        stack.extend(x.get("calls", []))


@lt.test
def no_durations_same_trees_one_probe_per_call():
    lt.need_root()
    d = lt.tmpdir()
    rec, ora = os.path.join(d, "r.jsonl"), os.path.join(d, "o.jsonl")
    p = record("--no-durations", "--root", "run", "-o", rec, "--", lt.PY, CALLS, "4")
    oracle(ora, CALLS, "4")
    problems = treecmp.compare(rec, ora)
    assert not problems, "\n".join(problems[:5])
    ls = lines(rec)
    # Debian's build has both: the return sites are preferred (no USDT
    # semaphore, so CPython does not compute line numbers per call)
    assert ls[0]["mechanism"] == "return-sites", ls[0]
    ex = [l for l in ls if l["type"] == "exec"]
    assert len(ex) == 6 and all(e["complete"] for e in ex)
    assert not any("dur_ns" in n for e in ex for n in nodes(e["root"])), "a node has dur_ns"
    assert all("dur_ns" not in e for e in ex)
    assert "6 executions (0 incomplete)" in p.stderr, p.stderr


@lt.test
def no_durations_start_times_follow_executions():
    """--no-durations reads the clock once per 8 returns, and at a root's
    return and the return after it: executions of one call each (a leaf
    root) still start in their order, apart, and between the run's bounds"""
    lt.need_root()
    d = lt.tmpdir()
    script = lt.write_file(d, "leaf.py", "def f(i):\n    return i\n"
                                         "def h(i):\n    return -i\n"
                                         "for i in range(300):\n    f(i)\n"
                                         "    if i % 3 == 0:\n        h(i)\n")
    rec = os.path.join(d, "r.jsonl")
    t0 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    record("--no-durations", "--root", "f", "-o", rec, "--", lt.PY, script)
    t1 = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    ex = [l for l in lines(rec) if l["type"] == "exec"]
    assert len(ex) == 300 and all(e["complete"] for e in ex), len(ex)
    starts = [e["start_ns"] for e in ex]
    assert all(a < b for a, b in zip(starts, starts[1:])), "start_ns out of order or tied"
    assert t0 < starts[0] and starts[-1] < t1, (t0, starts[0], starts[-1], t1)


@lt.test
def by_pid_nested_roots_and_attach_mid_execution():
    """The execution running at attach lacks its first calls: it is written
    with complete:false, as is (with frame starts) the one running at exit.
    With --no-durations the root's first call returns before its outer
    call: only the BPF walk up the callers tells a nested root from an
    execution, and only the frames read at attach tell an execution that
    began before."""
    lt.need_root()
    d = lt.tmpdir()
    script = lt.write_file(d, "srv.py", "import time\n"
                                        "def a():\n    return 1\n"
                                        "def b():\n    return 2\n"
                                        "def predict(i, inner=False):\n"
                                        "    x = a()\n"
                                        "    if not inner:\n        x += predict(i, True)\n"
                                        "    time.sleep(0.05 if inner else 0.15)\n"
                                        "    return x + b() + i\n"
                                        "i = 0\nwhile True:\n    predict(i)\n    i += 1\n")
    for mode in ([], ["--no-durations"]):
        proc = subprocess.Popen([lt.PY, script])
        try:
            time.sleep(0.5)
            rec = os.path.join(d, "r.jsonl")
            record("-p", proc.pid, *mode, "--root", "predict", "--duration", "1.5", "-o", rec)
        finally:
            proc.kill()
            proc.wait()
        ex = [l for l in lines(rec) if l["type"] == "exec"]
        assert len(ex) >= 5, (mode, ex)
        # attach fell inside an execution (it sleeps 200 of every ~200 ms);
        # its root is named even though its start was not seen. With frame
        # starts, an inner predict running at attach cannot be told from
        # an outermost one: it is written as an incomplete execution too
        lead = 1 if mode else next(k for k, e in enumerate(ex) if e["complete"])
        assert 1 <= lead <= 2, (mode, ex[:3])
        assert all(not e["complete"] and e["root"]["fn"] == "predict" for e in ex[:lead]), (mode, ex[:3])
        ex = ex[lead - 1:]
        if not mode:    # the one running at exit
            assert not ex[-1]["complete"] and ex[-1]["root"]["fn"] == "predict", ex[-1]
            ex = ex[:-1]
        shape = lambda e: [c["fn"] for c in e["root"].get("calls", [])]
        for e in ex[1:]:
            assert e["complete"], (mode, e)
            assert shape(e) == ["a", "predict", "b"], (mode, e)
            inner = e["root"]["calls"][1]
            assert [c["fn"] for c in inner["calls"]] == ["a", "b"], (mode, inner)
            i = (e["root"]["ret"]["value"] - 6) // 2   # outer: 1 + (3 + i) + 2 + i
            assert inner["ret"]["value"] == 3 + i, (mode, e)
            assert ("dur_ns" in e["root"]) == (not mode), (mode, e)
        # consecutive executions: i counts up
        vals = [e["root"]["ret"]["value"] for e in ex[1:]]
        assert vals == list(range(vals[0], vals[0] + 2 * len(vals), 2)), (mode, vals)


@lt.test
def no_durations_thread_mode_by_pid():
    lt.need_root()
    d = lt.tmpdir()
    with busy_target(d) as proc:
        time.sleep(0.3)
        rec = os.path.join(d, "r.jsonl")
        record("-p", proc.pid, "--no-durations", "--duration", "1", "-o", rec)
    # without frame starts, the module frame's calls are still the
    # thread's top-level calls
    check_busy_thread_exec(lines(rec))


if __name__ == "__main__":
    lt.main()
