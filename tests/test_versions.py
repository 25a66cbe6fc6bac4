"""Every CPython on this machine: the recorded trees equal the oracle run
under the same interpreter, or the tool refuses with a clear error. The
support matrix in README.md must equal what this test measures
(UPDATE_README=1 rewrites it)."""
import glob
import os
import re

import lt
import treecmp

HERE = os.path.dirname(os.path.abspath(__file__))
CALLS = os.path.join(HERE, "workloads", "calls.py")
README = os.path.join(os.path.dirname(HERE), "README.md")


def pyenv_dir(version):
    """/root/.pyenv/versions/VERSION, or the test is skipped"""
    d = "/root/.pyenv/versions/" + version
    if not os.path.isdir(d):
        raise lt.Skip("no pyenv %s here" % version)
    return d


def pyenv_python(version):
    return os.path.join(pyenv_dir(version), "bin", "python" + ".".join(version.split(".")[:2]))


def pythons():
    """(label, build kind, interpreter, extra record args)"""
    out = [("3.11 (Debian)", "system, return sites (default)", lt.PY, []),
           ("3.11 (Debian)", "system, USDT", lt.PY, ["--mechanism", "usdt"])]
    vkey = lambda d: [int(x) for x in re.findall(r"\d+", os.path.basename(d))]
    for d in sorted(glob.glob("/root/.pyenv/versions/*"), key=vkey):
        v = os.path.basename(d)
        exe = os.path.join(d, "bin", "python" + ".".join(v.split(".")[:2]))
        if os.path.exists(exe):
            out.append((v + " (pyenv)", "no probes", exe, []))
            if v.startswith(("3.12.", "3.13.")):
                out.append((v + " (pyenv)", "no probes, perf trampoline", exe,
                            ["--mechanism", "evalframe"]))
    return out


def measure(label, kind, exe, extra, d):
    rec, ora = os.path.join(d, "r.jsonl"), os.path.join(d, "o.jsonl")
    p = lt.leaktrace("record", "--root", "run", "-o", rec, *extra, "--", exe, CALLS, "2", check=False)
    if p.returncode != 0:
        msg = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else "exit %d" % p.returncode
        return p.returncode, msg
    lt.run([exe, os.path.join(HERE, "oracle.py"), "--root", "run", "-o", ora, CALLS, "2"])
    problems = treecmp.compare(rec, ora)
    assert not problems, "%s %s: %s" % (label, kind, "\n".join(problems[:3]))
    mech = treecmp_header(rec)["mechanism"]
    return 0, mech


def treecmp_header(path):
    import json
    with open(path) as f:
        return json.loads(f.readline())


def matrix_rows():
    rows = []
    for label, kind, exe, extra in pythons():
        rc, what = measure(label, kind, exe, extra, lt.tmpdir())
        if rc == 0:
            rows.append((label, kind, "exact trees, values, durations (%s)" % what))
        else:
            assert rc == 2, (label, rc, what)
            assert "not supported" in what or "no USDT probes" in what, what
            rows.append((label, kind, "refused: " + re.sub(r"^leaktrace: python \S+ at \S+: ", "", what)))
    return rows


@lt.test
def every_python_exact_or_refused():
    lt.need_root()
    rows = matrix_rows()
    table = "| CPython | build | recorded |\n|---|---|---|\n" + "".join(
        "| %s | %s | %s |\n" % r for r in rows)
    text = open(README).read()
    begin, end = "<!-- support-matrix:begin -->\n", "<!-- support-matrix:end -->"
    assert begin in text and end in text, "README has no support matrix markers"
    cur = text.split(begin)[1].split(end)[0]
    if os.environ.get("UPDATE_README"):
        open(README, "w").write(text.replace(begin + cur + end, begin + table + end))
    else:
        assert cur == table, "README support matrix differs from the measured one:\n" + table
    # the Debian build and the pyenv 3.11 build must both be exact
    assert sum(1 for r in rows if r[2].startswith("exact")) >= 2, rows


@lt.test
def py312_pid_without_perf_trampoline():
    """3.12 inlines Python-to-Python calls: -p traces any process through
    the interpreter's probe sites; --mechanism evalframe needs the perf
    trampoline and must refuse a process started without it"""
    lt.need_root()
    import subprocess, json, time
    py = pyenv_python("3.12.1")
    d = lt.tmpdir()
    script = lt.write_file(d, "loop.py", "import time\ndef tick(i):\n    return i\n"
                                         "while True:\n    tick(2)\n    time.sleep(0.005)\n")
    plain = subprocess.Popen([py, script])
    perf = subprocess.Popen([py, "-X", "perf", script])
    try:
        time.sleep(0.5)
        p = lt.leaktrace("record", "-p", plain.pid, "--root", "tick", "--mechanism", "evalframe",
                         check=False)
        assert p.returncode == 2 and "-X perf or PYTHONPERFSUPPORT=1" in p.stderr, p.stderr
        for pid, extra in ((plain.pid, []), (perf.pid, ["--mechanism", "evalframe"])):
            rec = os.path.join(d, "r.jsonl")
            lt.leaktrace("record", "-p", pid, "--root", "tick", "--duration", "0.5", "-o", rec,
                         *extra)
            ex = [json.loads(l) for l in open(rec) if '"exec"' in l]
            assert len(ex) > 10, (extra, len(ex))
            # a tick running at attach or at the stop is cut, and says so
            cut = [e.get("incomplete") for e in ex if not e["complete"]]
            assert all(r in (["before_attach"], ["stopped"]) for r in cut) and len(cut) <= 2, \
                (extra, cut)
            assert all(e["root"]["ret"] == {"type": "int", "value": 2} for e in ex
                       if e["complete"]), extra
    finally:
        for p in (plain, perf):
            p.kill()
            p.wait()


@lt.test
def py313_pid_deep_and_inlined_init():
    """3.13 attached with -p (no -X perf): a 150-deep recursion is complete
    (the sites have no depth limit) and __init__, which 3.13 runs inline
    through a shim frame, appears once under its caller, shim left out"""
    lt.need_root()
    import subprocess, json, time
    py = pyenv_python("3.13.0")
    d = lt.tmpdir()
    script = lt.write_file(d, "loop.py", "import time\nclass P:\n    def __init__(self, v):\n        self.v = v\n"
                                         "def down(n):\n    return 0 if n == 0 else 1 + down(n - 1)\n"
                                         "def tick():\n    return P(3).v + down(150)\n"
                                         "while True:\n    tick()\n    time.sleep(0.005)\n")
    proc = subprocess.Popen([py, script])
    try:
        time.sleep(0.5)
        rec = os.path.join(d, "r.jsonl")
        lt.leaktrace("record", "-p", proc.pid, "--root", "tick", "--duration", "0.5", "-o", rec)
        lines = [json.loads(l) for l in open(rec)]
        assert lines[0]["mechanism"] == "resume+return-sites", lines[0]
        ex = [l for l in lines if l["type"] == "exec"]
        # the one in flight when --duration ends is cut: incomplete, last;
        # one running at attach is written first, incomplete
        if not ex[-1]["complete"]:
            ex.pop()
        if not ex[0]["complete"]:
            assert ex[0]["root"]["fn"] == "tick", ex[0]
            ex.pop(0)
        assert len(ex) > 10, len(ex)
        for e in ex:
            r = e["root"]
            assert e["complete"] and r["ret"] == {"type": "int", "value": 153}, e
            assert [c["fn"] for c in r["calls"]] == ["P.__init__", "down"], r["calls"]
            depth, n = 0, r["calls"][1]
            while n.get("calls"):
                depth, n = depth + 1, n["calls"][0]
            assert depth == 150, depth
    finally:
        proc.kill()
        proc.wait()


@lt.test
def offsets_that_fail_the_live_check_are_refused():
    """a 3.13 libpython whose _Py_DebugOffsets puts the thread's current
    frame 8 bytes off: file and process agree (the process maps that very
    copy), but the frames walked with it are no frames; -p must refuse
    before attaching, in one line, the target untouched"""
    lt.need_root()
    import subprocess, time
    v = pyenv_dir("3.13.0")
    lib = v + "/lib/libpython3.13.so.1.0"
    sec = subprocess.run(["readelf", "-SW", lib], capture_output=True, text=True, check=True).stdout
    m = re.search(r"\.PyRuntime\s+PROGBITS\s+[0-9a-f]+\s+([0-9a-f]+)", sec)
    assert m, "no .PyRuntime section in " + lib
    # 3.13's _Py_DebugOffsets: head (24 bytes), runtime_state (3 words),
    # interpreter_state (13 words), then thread_state: size, prev, next,
    # interp, current_frame
    at = int(m.group(1), 16) + 24 + 3 * 8 + 13 * 8 + 4 * 8
    data = bytearray(open(lib, "rb").read())
    assert int.from_bytes(data[at:at + 8], "little") == 72, \
        "tstate.current_frame is not where 3.13.0 has it"
    data[at:at + 8] = (80).to_bytes(8, "little")
    d = lt.tmpdir()
    open(os.path.join(d, "libpython3.13.so.1.0"), "wb").write(data)
    proc = subprocess.Popen([v + "/bin/python3.13", "-c", "import time; time.sleep(30)"],
                            env=dict(os.environ, LD_LIBRARY_PATH=d))
    try:
        time.sleep(0.5)
        p = lt.leaktrace("record", "-p", proc.pid, "--root", "f", check=False)
        assert p.returncode == 2 and "do not fit pid" in p.stderr, p.stderr
        assert len(p.stderr.strip().splitlines()) == 1, p.stderr
        assert proc.poll() is None, "the target was harmed"
    finally:
        proc.kill()
        proc.wait()


@lt.test
def instrumented_code_is_traced():
    """a target that runs a sys.monitoring tool (coverage, debuggers: LINE
    and PY_START events) executes INSTRUMENTED_RESUME, INSTRUMENTED_
    RETURN_VALUE and INSTRUMENTED_YIELD_VALUE instead of the plain opcodes,
    and INSTRUMENTED_LINE over the first instruction of each line: a
    return that starts its line (calls.py's `return None`, `return "done"`)
    has its opcode, and so where its value is, only in the code's
    monitoring data. The trees equal the oracle's, values included, every
    execution complete, in both capture modes: pyenv 3.12.1 and 3.13.0
    (that data as {opcode, line delta} pairs) and sid's 3.13, 3.14 and
    3.15 (a bytes_per_entry header), in their root"""
    lt.need_root()
    import shutil
    runs = []       # (label, command prefix, record options, dir as the python sees it)
    for v in ("3.12.1", "3.13.0"):
        exe = "/root/.pyenv/versions/%s/bin/python%s" % (v, v[:4])
        if os.path.exists(exe):
            runs.append(("pyenv " + v, [exe], [], None))
    inner = "/tmp/lt-mon-%d" % os.getpid()
    sid, sids = lt.sid_pythons(("3.13", "3.14", "3.15"))
    runs += [r + (inner,) for r in sids]
    assert len(runs) >= 3, "fewer than three builds with sys.monitoring: %s" % [r[0] for r in runs]
    os.makedirs(sid + inner, exist_ok=True)
    try:
        for label, cmd, opts, wd in runs:
            d = lt.tmpdir() if wd is None else sid + wd
            at = d if wd is None else wd        # the directory as the python sees it
            shutil.copy2(CALLS, d)
            shutil.copy2(os.path.join(HERE, "oracle.py"), d)
            lt.write_file(d, "cov.py", (
                "import runpy, sys\n"
                "m = sys.monitoring\n"
                "m.use_tool_id(3, 'cov')\n"
                "lines, starts = {}, {}\n"
                # builtins as callbacks: a Python callback is a call that the
                # recorder sees (rightly) and the oracle's settrace does not
                "m.register_callback(3, m.events.LINE, lines.__setitem__)\n"
                "m.register_callback(3, m.events.PY_START, starts.__setitem__)\n"
                "m.set_events(3, m.events.LINE | m.events.PY_START)\n"
                "sys.argv = [%r, '2']\n"
                "runpy.run_path(%r, run_name='__main__')\n"
                "assert lines\n") % (at + "/calls.py", at + "/calls.py"))
            lt.run(cmd + [at + "/oracle.py", "--root", "run", "-o", at + "/o.jsonl", at + "/cov.py"])
            ora = os.path.join(d, "o.jsonl")
            for ro in ([], ["--no-durations"]):
                rec = os.path.join(d, "r.jsonl")
                lt.leaktrace("record", *opts, *ro, "--root", "run", "-o", rec, "--", *cmd,
                             at + "/cov.py")
                # closed_gens: see treecmp.closed_at_yield (3.13.x+ skips the
                # frame; the oracle's settrace turns that off)
                problems = treecmp.compare(rec, ora, closed_gens=wd is not None)
                assert not problems, "%s %s with sys.monitoring: %s" % (label, ro, "\n".join(problems[:3]))
                recs = treecmp.load(rec)
                assert recs and all(x["complete"] for x in recs), (label, ro)
    finally:
        shutil.rmtree(sid + inner, ignore_errors=True)


@lt.test
def evalframe_deeper_than_uretprobe_limit_is_incomplete():
    """3.8-3.10 use uretprobes; the kernel keeps 64 pending per task, so an
    execution deeper than that cannot be exact: it must say so"""
    lt.need_root()
    py = pyenv_python("3.10.13")
    d = lt.tmpdir()
    script, rec = os.path.join(d, "deep.py"), os.path.join(d, "r.jsonl")
    with open(script, "w") as f:
        f.write("def down(n):\n    return 0 if n == 0 else 1 + down(n - 1)\n"
                "def shallow():\n    return down(10)\ndef deep():\n    return down(100)\n"
                "shallow()\ndeep()\nshallow()\n")
    for root in ("shallow", "deep"):
        lt.leaktrace("record", "--root", root, "-o", rec, "--", py, script)
        import json
        ex = [json.loads(l) for l in open(rec) if '"exec"' in l]
        stats = [json.loads(l) for l in open(rec)][-1]
        # each run's deep() passes the limit: counted in the trailer, not
        # as a loss that would mark the next shallow() execution
        assert stats["unprobed_returns"] > 0 and stats["lost_events"] == 0, stats
        if root == "shallow":
            assert [e["complete"] for e in ex] == [True, True], ex
            assert ex[0]["root"]["ret"] == {"type": "int", "value": 10}
        else:
            assert [e["complete"] for e in ex] == [False], "a 100-deep execution passed as complete"
            assert "stale_frames" in ex[0]["incomplete"], ex[0]["incomplete"]


@lt.test
def no_durations_exact_or_refused_on_every_python():
    """--no-durations builds the same trees from returns alone wherever
    returns are probed without an entry probe; evalframe refuses it"""
    lt.need_root()
    seen, exact = set(), []
    for label, kind, exe, extra in pythons():
        if "--mechanism" in extra and extra[-1] == "evalframe" or (exe, tuple(extra)) in seen:
            continue
        seen.add((exe, tuple(extra)))
        d = lt.tmpdir()
        rec, ora = os.path.join(d, "r.jsonl"), os.path.join(d, "o.jsonl")
        p = lt.leaktrace("record", "--no-durations", "--root", "run", "-o", rec, *extra, "--",
                         exe, CALLS, "2", check=False)
        if p.returncode:
            assert p.returncode == 2, (label, p.stderr)
            assert "--no-durations needs the USDT or probe-site mechanism" in p.stderr or \
                "not supported" in p.stderr, (label, p.stderr)
            continue
        lt.run([exe, os.path.join(HERE, "oracle.py"), "--root", "run", "-o", ora, CALLS, "2"])
        problems = treecmp.compare(rec, ora)
        assert not problems, "%s %s: %s" % (label, kind, "\n".join(problems[:3]))
        assert treecmp_header(rec)["mechanism"] in ("return-sites", "usdt-returns"), label
        exact.append(label)
    # Debian 3.11 (return sites), pyenv 3.11, 3.12, 3.13
    assert len(exact) >= 4, exact


if __name__ == "__main__":
    lt.main()
