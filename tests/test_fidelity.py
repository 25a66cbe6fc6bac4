"""Fidelity on code nobody here wrote (issue 22): roots whatever their
name, under both capture modes; more cases of the issue below."""
import json
import os

import lt
import treecmp

HERE = os.path.dirname(os.path.abspath(__file__))


def lines(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]


def execs(path, script=None):
    """exec lines, those whose root is in script when given"""
    ex = [l for l in lines(path) if l["type"] == "exec"]
    return [e for e in ex if script is None or e["root"].get("file") == script]


NAMED = """\
f = lambda x: x + 1
f(41)
print(sum(i for i in range(3)))
def caf\u00e9(x):
    return x * 2
caf\u00e9(3)
class \u03a9:
    def \u65e5\u672c(self):
        return 7
\u03a9().\u65e5\u672c()
"""


@lt.test
def roots_of_any_name_are_calls():
    """--root '<lambda>', '<genexpr>', '<module>' and a non-ASCII name:
    each root written like any call (ret, and dur_ns with durations),
    complete, and no root marked synthetic; without --root the <thread>
    root is marked synthetic (FORMAT.md §2)"""
    lt.need_root()
    d = lt.tmpdir()
    script = lt.write_file(d, "named.py", NAMED)
    rec = os.path.join(d, "r.jsonl")
    want = {"<lambda>": ("int", 42, 1), "<genexpr>": ("int", 0, 4), "caf\u00e9": ("int", 6, 1),
            "<module>": ("NoneType", None, 1), "\u65e5\u672c": ("int", 7, 1),
            "\u03a9.\u65e5\u672c": ("int", 7, 1)}
    for mode in ([], ["--no-durations"]):
        for root, (typ, first, n) in want.items():
            lt.leaktrace("record", *mode, "--root", root, "-o", rec, "--", lt.PY, script)
            ex = execs(rec, script)
            what = (mode, root, [e["root"] for e in ex])
            assert len(ex) == n, what
            r = ex[0]["root"]
            assert r["fn"].endswith(root) and "synthetic" not in r, what
            assert r["ret"]["type"] == typ and r["ret"].get("value") == first, what
            assert ("dur_ns" in r) == (not mode), what
            assert all(e["complete"] for e in ex), what
    lt.leaktrace("record", "-o", rec, "--", lt.PY, script)
    ex = execs(rec)
    assert len(ex) == 1 and ex[0]["root"]["fn"] == "<thread>" and ex[0]["root"]["synthetic"] is True
    assert "ret" not in ex[0]["root"] and "dur_ns" not in ex[0]["root"]
    # analyze reads the <lambda> roots (leaves) as calls: the return 42 is
    # observed (as a synthetic root it was not: no observation at all)
    lt.leaktrace("record", "--root", "<lambda>", "-o", rec, "--", lt.PY, script)
    a = json.loads(lt.leaktrace("analyze", "--format", "json", rec, rec).stdout)
    assert a["observations"]["returns"]["D_E"] >= 1, a



NEVER_STARTED = """\
import gc
def g():
    yield 1
def closes():
    x = g()
    x.close()
    return 1
def collects():
    y = g()
    del y
    return 2
def cycle():
    l = [g()]
    l.append(l)
    del l
    gc.collect()
    return 3
def work():
    return closes() + collects() + cycle()
for i in range(3):
    work()
x = g(); x.close()
"""


@lt.test
def never_started_generators_closed_or_collected():
    """3.11 throws GeneratorExit into a generator closed or collected
    before it started: a call that runs no RESUME. It is named (not
    <unknown>), sits under its caller, and is no reason for an incomplete
    execution: equal call for call to the oracle; --root g gives one
    complete execution; the `(lambda: (yield))()` of _collections_abc at
    every start gives no incomplete <lambda> execution"""
    lt.need_root()
    d = lt.tmpdir()
    script = lt.write_file(d, "ns.py", NEVER_STARTED)
    rec, ora = os.path.join(d, "r.jsonl"), os.path.join(d, "o.jsonl")
    for _ in range(3):  # it used to depend on timing
        lt.leaktrace("record", "--root", "work", "-o", rec, "--", lt.PY, script)
        lt.run([lt.PY, os.path.join(HERE, "oracle.py"), "--root", "work", "-o", ora, script])
        problems = treecmp.compare(rec, ora)
        assert not problems, "\n".join(problems[:5])
        ex = execs(rec, script)
        assert len(ex) == 3 and all(e["complete"] for e in ex), ex
        lt.leaktrace("record", "--root", "g", "-o", rec, "--", lt.PY, script)
        ex = execs(rec)
        assert len(ex) == 10 and all(e["complete"] and e["root"]["ret"]["type"] == "<raise>"
                                     for e in ex), ex
        lt.leaktrace("record", "--root", "<lambda>", "-o", rec, "--", lt.PY, script)
        assert lines(rec)[-1]["incomplete_execs"] == 0, [e for e in execs(rec) if not e["complete"]]
        lt.leaktrace("record", "-o", rec, "--", lt.PY, script)
        ex = execs(rec)
        assert len(ex) == 1 and ex[0]["complete"], lines(rec)[-1]
        assert '"<unknown>"' not in open(rec).read()



SHUTDOWN = """\
def g():
    try:
        yield 1
    finally:
        pass
x = g()
next(x)
"""


@lt.test
def generator_finalised_at_exit():
    """a suspended generator finalised at interpreter exit (GeneratorExit
    thrown in, no Python frame running) is a call of the thread's
    execution, which stays complete; as a root, a complete execution of its
    own. (The oracle has stopped by then: its blind spot.)"""
    lt.need_root()
    d = lt.tmpdir()
    script = lt.write_file(d, "sd.py", SHUTDOWN)
    rec = os.path.join(d, "r.jsonl")
    lt.leaktrace("record", "-o", rec, "--", lt.PY, script)
    ex = execs(rec)
    assert len(ex) == 1 and ex[0]["complete"], lines(rec)[-1]
    last = ex[0]["root"]["calls"][-1]
    assert last["fn"] == "g" and last["ret"]["type"] == "<raise>", last
    lt.leaktrace("record", "--root", "g", "-o", rec, "--", lt.PY, script)
    ex = execs(rec)
    assert [(e["complete"], e["root"]["ret"]["type"]) for e in ex] == [(True, "int"), (True, "<raise>")], ex



@lt.test
def generator_chain_collected():
    """a chain of suspended generators collected (test_generators' sieve
    doctest): closing each one closes the next from inside itself, a frame
    that was thrown into and so never seen starting; its exit comes after
    its callee's. Never a wrong tree marked complete: complete executions
    equal the oracle's, the others are flagged (the records match those of
    `yield from` delegation when the closer was seen suspended)"""
    lt.need_root()
    d = lt.tmpdir()
    script = os.path.join(HERE, "workloads", "gen_chain.py")
    rec, ora = os.path.join(d, "r.jsonl"), os.path.join(d, "o.jsonl")
    lt.leaktrace("record", "--root", "work", "-o", rec, "--", lt.PY, script)
    lt.run([lt.PY, os.path.join(HERE, "oracle.py"), "--root", "work", "-o", ora, script])
    ex = execs(rec)
    assert len(ex) == 3, len(ex)
    # a generator thrown into that closes one it holds gives the records of
    # `yield from` delegation (tests/test_coro.py): such an execution is
    # flagged incomplete; every complete one must equal the oracle's
    flagged = {"execution %d" % e["id"] for e in ex if not e["complete"]}
    problems = [p for p in treecmp.compare(rec, ora)
                if p.split(":")[0].replace(" is incomplete", "") not in flagged]
    assert not problems, "\n".join(problems[:5])


def shape(path):
    """executions as (complete, nested [fn, ret, calls]), durations left out"""
    def strip(n):
        return [n["fn"], n.get("ret"), [strip(c) for c in n.get("calls", [])]]
    return [(e["complete"], strip(e["root"])) for e in execs(path)]


def interp_tags(ex):
    """[(fn, interp, depth)] of every node that carries "interp" in executions ex"""
    out = []
    for e in ex:
        stack = [(e["root"], 0)]
        while stack:
            n, depth = stack.pop()
            if "interp" in n:
                out.append((n["fn"], n["interp"], depth))
            stack.extend((c, depth + 1) for c in n.get("calls", []))
    return out


def subinterp_pythons(sid_versions):
    """(label, command prefix, leaktrace options, the workload's path, None
    in sid's root), sid's root: Debian 3.11, pyenv 3.12.1 (sites),
    sid's python of each of sid_versions (sites, in their root) where
    present"""
    out = [("3.11", [lt.PY], [], os.path.join(HERE, "workloads", "subinterp.py"))]
    py312 = "/root/.pyenv/versions/3.12.1/bin/python3.12"
    if os.path.exists(py312):
        out.append(("3.12", [py312], [], out[0][3]))
    sid, runs = lt.sid_pythons(sid_versions)
    out += [r + (None,) for r in runs]
    return out, sid


@lt.test
def sub_interpreter_same_tree_both_modes():
    """calls of a sub-interpreter (run on the calling thread) are no calls
    of the frame that started it: with --root work only work's own calls;
    without --root top-level calls of the thread; a root inside the
    sub-interpreter its own execution. Full capture and --no-durations
    build the same trees (they differed: 2 executions vs 1), on 3.11,
    3.12 and sid's 3.13-3.15"""
    lt.need_root()
    import shutil
    d = lt.tmpdir()
    full, ro = os.path.join(d, "f.jsonl"), os.path.join(d, "r.jsonl")
    pythons, sid = subinterp_pythons(("3.13", "3.14", "3.15"))
    inner = "/tmp/lt-si-%d" % os.getpid()
    if len(pythons) > 2:
        os.makedirs(sid + inner, exist_ok=True)
        shutil.copy2(os.path.join(HERE, "workloads", "subinterp.py"), sid + inner)
    try:
        for label, cmd, opts, script in pythons:
            script = script or inner + "/subinterp.py"
            roots = [["--root", "work"], ["--root", "sub"], []]
            for root in roots:
                lt.leaktrace("record", *opts, *root, "-o", full, "--", *cmd, script)
                lt.leaktrace("record", *opts, "--no-durations", *root, "-o", ro, "--", *cmd, script)
                a, b = shape(full), shape(ro)
                assert a == b, (label, root, json.dumps(a)[:800], json.dumps(b)[:800])
                assert all(c for c, _ in a), (label, root)
                if root == ["--root", "work"]:
                    assert a == [(True, ["work", {"type": "int", "value": 1},
                                         [["inner", {"type": "int", "value": 1}, []]]])], (label, a)
                if root == ["--root", "sub"]:
                    assert a == [(True, ["sub", {"type": "int", "value": 7}, []])], (label, a)
    finally:
        if len(pythons) > 2:
            shutil.rmtree(sid + inner, ignore_errors=True)


@lt.test
def sub_interpreter_ids_both_modes():
    """the trace says which interpreter a call ran in (FORMAT.md §2
    "interp"): two sub-interpreters run in turn, each writes the id it
    reports itself (get_current()). Without --root the outermost node of
    each one's calls (its script's <module>, the imports of its start) is
    a top-level call with "interp" its id, their calls and the main
    interpreter's calls carry none; --root sub: one execution whose root
    has the second id; --root work (main) none anywhere. Both capture
    modes, on Debian 3.11, 3.12 and sid's 3.13, 3.14 and 3.15 (sites)"""
    lt.need_root()
    import shutil
    d = lt.tmpdir()
    rec = os.path.join(d, "r.jsonl")
    pythons, sid = subinterp_pythons(("3.13", "3.14", "3.15"))
    inner = "/tmp/lt-si-%d" % os.getpid()
    if len(pythons) > 2:
        os.makedirs(sid + inner, exist_ok=True)
        shutil.copy2(os.path.join(HERE, "workloads", "subinterp.py"), sid + inner)
    try:
        for label, cmd, opts, script in pythons:
            if script is None:  # in sid's root: paths as it sees them
                script, ids_in, ids_out = inner + "/subinterp.py", inner + "/ids", sid + inner + "/ids"
            else:
                ids_in = ids_out = os.path.join(d, "ids")
            for mode in ([], ["--no-durations"]):
                for root in ([], ["--root", "sub"], ["--root", "work"]):
                    what = (label, mode, root)
                    if os.path.exists(ids_out):
                        os.unlink(ids_out)
                    lt.leaktrace("record", *opts, *mode, *root, "-o", rec, "--", *cmd, script, ids_in)
                    ids = [int(x) for x in open(ids_out).read().split()]
                    assert len(ids) == 2 and 0 not in ids and ids[0] != ids[1], (what, ids)
                    ex = execs(rec)
                    assert ex and all(e["complete"] for e in ex), what
                    tags = interp_tags(ex)
                    if root == ["--root", "sub"]:
                        assert len(ex) == 1 and tags == [("sub", ids[1], 0)], (what, tags)
                    elif root == ["--root", "work"]:
                        assert len(ex) == 1 and tags == [], (what, tags)
                    else:
                        assert len(ex) == 1, what
                        top = ex[0]["root"]["calls"]
                        mods = [(c["fn"], c.get("interp")) for c in top
                                if c.get("file") in ("<string>", "<script>")]
                        assert mods == [("<module>", ids[0]), ("<module>", ids[1])], (what, mods)
                        # tags only on top-level calls, of the two
                        # interpreters (and of none of the main one's)
                        assert tags and all(depth == 1 and i in ids for _, i, depth in tags), \
                            (what, tags)
                        assert {i for _, i, _ in tags} == set(ids), (what, tags)
                        assert all("interp" not in c for c in top if c.get("file") == script), what
    finally:
        if len(pythons) > 2:
            shutil.rmtree(sid + inner, ignore_errors=True)


@lt.test
def oracle_sees_threads_forks_and_sys_path():
    """the oracle (tests/oracle.py) runs a script with sys.path[0] its
    directory, sees a _thread thread and the executions a forked child
    completes (written once each, by the child); call for call equal to the
    recorder, which follows the fork as well"""
    lt.need_root()
    d = lt.tmpdir()
    script = os.path.join(HERE, "workloads", "oracle_scope.py")
    rec, ora = os.path.join(d, "r.jsonl"), os.path.join(d, "o.jsonl")
    p = lt.run([lt.PY, os.path.join(HERE, "oracle.py"), "--root", "step", "-o", ora, script])
    assert p.stdout.strip() == "True", p.stdout
    oe = execs(ora)
    pids = {e["pid"] for e in oe}
    assert len(oe) == 4 and len(pids) == 2 and len({e["tid"] for e in oe}) == 3, oe
    assert [e["root"]["ret"]["value"] for e in oe] == [20, 2, 4, 6], oe
    lt.leaktrace("record", "--root", "step", "-o", rec, "--", lt.PY, script)
    # record -- CMD follows the fork too: both see the same four
    problems = treecmp.compare(rec, ora)
    assert not problems, "\n".join(problems[:5])


HOOKS = {
    "settrace": """\
import sys
def hook(frame, event, arg):
    if event == "return" and frame.f_code.co_name == "f":
        raise ValueError("from the tracer")
    return hook
def on():
    sys.settrace(hook)
def off():
    sys.settrace(None)
""",
    "setprofile": """\
import sys
def hook(frame, event, arg):
    if event == "return" and frame.f_code.co_name == "f":
        raise ValueError("from the profiler")
def on():
    sys.setprofile(hook)
def off():
    sys.setprofile(None)
""",
    "monitoring": """\
import sys
M = sys.monitoring
def hook(code, off, val):
    if code.co_name == "f":
        raise ValueError("from sys.monitoring")
def on():
    M.use_tool_id(3, "t")
    M.register_callback(3, M.events.PY_RETURN, hook)
    M.set_events(3, M.events.PY_RETURN)
def off():
    M.set_events(3, 0)
    M.free_tool_id(3)
"""}

HOOKED = """\
def f(x):
    return x + 1
def h():
    return 2
def work():
    on()
    try:
        f(1)
    except ValueError:
        pass
    off()
    h()
    return 3
work()
"""


def hooked_tree(rec):
    ex = execs(rec)
    assert len(ex) == 1, ex
    root = ex[0]["root"]
    fs = [c for c in root.get("calls", []) if c["fn"] == "f"]
    return ex[0]["complete"], root, fs


@lt.test
def hooks_raising_on_return():
    """a sys.settrace / sys.setprofile hook (3.12+: a sys.monitoring
    PY_RETURN callback) raising on f's return event: f ran once and ended
    by that exception, the hook's calls inside it. Through the return sites
    the tree is that, complete (it was f twice, 7 calls); through 3.11's
    USDT note, which CPython skips on this path, the execution is marked
    incomplete, never a wrong complete tree. --no-durations ("ro") too.
    (The two modes still differ on where the hook's call event for f
    goes: before f, or, by its caller, inside it.)"""
    lt.need_root()
    d = lt.tmpdir()
    rec = os.path.join(d, "r.jsonl")
    runs = [(lt.PY, h, m) for h in ("settrace", "setprofile") for m in ("sites", "usdt", "ro")]
    for py in ("/root/.pyenv/versions/3.12.1/bin/python3.12", "/root/.pyenv/versions/3.13.0/bin/python3.13"):
        if os.path.exists(py):
            runs += [(py, h, "auto") for h in HOOKS]
    for py, hook, mech in runs:
        script = lt.write_file(d, "hk_%s.py" % hook, HOOKS[hook] + HOOKED)
        mode = ["--no-durations"] if mech == "ro" else ["--mechanism", mech]
        lt.leaktrace("record", *mode, "--root", "work", "-o", rec, "--", py, script)
        complete, root, fs = hooked_tree(rec)
        what = (py, hook, mech, root)
        if mech == "usdt":
            assert not complete, what
            continue
        assert complete and len(fs) == 1 and fs[0]["ret"]["type"] == "<raise>", what
        inner = [c for c in fs[0].get("calls", []) if c["fn"] == "hook"]
        assert inner and inner[-1]["ret"]["type"] == "<raise>", what
        assert [c["fn"] for c in root["calls"]][-3:] == ["f", "off", "h"], what


TRACERS = os.path.join(HERE, "workloads", "tracers.py")
TRACER_HOOKS = {"mon_hook", "mon_disable", "trace_hook", "profile_hook"}


def hooks_out(path, out):
    """path's executions written to out without the calls of the target's
    hooks (leaves: the hooks make no Python call); returns their number"""
    n = 0

    def strip(node):
        nonlocal n
        keep = []
        for c in node.get("calls", []):
            if c["fn"] in TRACER_HOOKS:
                assert not c.get("calls"), ("a hook with calls", c)
                n += 1
            else:
                keep.append(strip(c))
        node["calls"] = keep
        return node
    with open(out, "w") as f:
        for e in execs(path):
            strip(e["root"])
            f.write(json.dumps(e) + "\n")
    return n


@lt.test
def tracers_in_the_target():
    """the target runs its own tracer or profiler (tests/workloads/
    tracers.py): a sys.monitoring tool with PY_START, PY_RETURN and CALL
    callbacks, the same returning DISABLE, sys.settrace, sys.setprofile;
    on pyenv's 3.12.1 and sid's 3.13, 3.14 and 3.15 (in its root), and Debian's
    3.11 (settrace, setprofile), both capture modes. Generators driven by
    next() and left suspended: through return sites a hook's call at a
    yield (3.11 also at a return) follows that frame's return, and
    --no-durations once lost such calls and the calls around them from a
    tree still marked complete. The target's output is unchanged; the hooks' calls are in the
    trace, as many as the target counted; without them the tree is the
    oracle's (run with the same hook; under settrace, which replaces the
    oracle's own, without), values included and every execution complete:
    3.12+ settrace's LINE events hide the opcode of a return that starts
    its line, read from the code's monitoring data (PYTHON_VERSIONS.md).
    (Where a hook call sits differs between the modes for a generator's
    resume: not compared.)"""
    lt.need_root()
    import shutil
    d = lt.tmpdir()
    rec, strip, ora = (os.path.join(d, n) for n in ("r.jsonl", "s.jsonl", "o.jsonl"))
    pythons = []    # (label, command prefix, leaktrace options, workload dir as the python sees it)
    if os.path.exists(lt.PY):
        # its return sites (the default): a hook runs after the site
        # (generators closed as their creator's frame is cleared were
        # placed beside their run); its USDT note: before
        pythons.append(("debian 3.11", [lt.PY], [], HERE + "/workloads"))
        pythons.append(("debian 3.11 usdt", [lt.PY], ["--mechanism", "usdt"], HERE + "/workloads"))
    py312 = "/root/.pyenv/versions/3.12.1/bin/python3.12"
    if os.path.exists(py312):
        pythons.append(("pyenv 3.12.1", [py312], [], HERE + "/workloads"))
    inner = "/tmp/lt-fid-%d" % os.getpid()
    sid, runs = lt.sid_pythons(("3.13", "3.14", "3.15"))
    pythons += [r + (inner,) for r in runs]
    if not pythons:
        raise lt.Skip("no python3.11, no pyenv 3.12.1, no python3.13-3.15 in " + sid)
    os.makedirs(sid + inner, exist_ok=True)
    try:
        for f in ("oracle.py", "workloads/tracers.py"):
            shutil.copy2(os.path.join(HERE, f), sid + inner)
        for label, cmd, opts, wd in pythons:
            script = wd + "/tracers.py"
            for mode in ("monitoring", "disable", "settrace", "setprofile"):
                if mode in ("monitoring", "disable") and label.startswith("debian 3.11"):
                    continue    # no sys.monitoring before 3.12
                ref = lt.run(cmd + [script, mode]).stdout
                counted = int(ref.split()[-1])
                assert counted > 0, (label, mode, ref)
                # the oracle in the python's own file system (sid: the root's)
                if wd == inner:
                    lt.run(cmd + [inner + "/oracle.py", "--root", "work", "-o", inner + "/o.jsonl",
                                  script, "none" if mode == "settrace" else mode])
                    shutil.copy(sid + inner + "/o.jsonl", ora)
                else:
                    lt.run(cmd + [os.path.join(HERE, "oracle.py"), "--root", "work", "-o", ora,
                                  script, "none" if mode == "settrace" else mode])
                for ro in ([], ["--no-durations"]):
                    what = (label, mode, ro)
                    p = lt.leaktrace("record", *opts, *ro, "--root", "work", "-o", rec, "--",
                                     *cmd, script, mode)
                    assert p.stdout == ref, (what, p.stdout, ref)
                    assert lines(rec)[-1]["lost_events"] == 0, what
                    assert hooks_out(rec, strip) == counted, (what, counted)
                    (x,), (y,) = execs(strip), execs(ora)
                    assert x["complete"], what
                    d = treecmp.diff_nodes(x["root"], y["root"])
                    assert not d, (what, d)
    finally:
        shutil.rmtree(sid + inner, ignore_errors=True)


JITTED = r"""
import os, subprocess, sys
def work(i):
    return i * 2
for i in range(3):
    work(i)
if len(sys.argv) == 1:
    for jit in ("1", "0"):
        env = dict(os.environ, PYTHON_JIT=jit)
        subprocess.run([sys.executable, __file__, jit], env=env, check=True)
"""


@lt.test
def jit_on_in_a_followed_process_is_flagged():
    """a python of the traced tree started with PYTHON_JIT=1, on a build
    with the JIT compiled in (Debian's 3.14): calls of JIT code pass no
    probe, so each of its executions is written incomplete with the reason
    "jit" (and a warning names the pid); its parent's and a PYTHON_JIT=0
    sibling's stay complete (the command itself with the JIT on is
    refused at start, as before)"""
    lt.need_root()
    import shutil
    sid, runs = lt.sid_pythons(("3.14",))
    if not runs:
        raise lt.Skip("no python3.14 in " + sid)
    _, cmd, opts = runs[0]
    inner = "/tmp/lt-jit-%d" % os.getpid()
    os.makedirs(sid + inner, exist_ok=True)
    d = lt.tmpdir()
    try:
        lt.write_file(sid + inner, "jitted.py", JITTED)
        out = os.path.join(d, "t.jsonl")
        p = lt.leaktrace("record", "--root", "work", "-o", out, *opts, "--", *cmd,
                         inner + "/jitted.py")
        ex = [json.loads(l) for l in open(out) if '"exec"' in l]
        by = {}
        for e in ex:
            by.setdefault(e["cmdline"].split()[-1], []).append(e)
        assert sorted(by) == sorted(["0", "1", inner + "/jitted.py"]), sorted(by)
        assert all(len(v) == 3 for v in by.values()), {k: len(v) for k, v in by.items()}
        jit_pid = by["1"][0]["pid"]
        for k, v in by.items():
            if k == "1":
                assert all(not e["complete"] and e["incomplete"] == ["jit"] for e in v), v
            else:
                assert all(e["complete"] for e in v), v
        assert "pid %d runs python 3.14" % jit_pid in p.stderr and "JIT on" in p.stderr, p.stderr
        assert p.stderr.count("JIT on") == 1, p.stderr
        # the command itself with the JIT on: refused, before it runs
        r = lt.leaktrace("record", "--root", "work", *opts, "--", *cmd, inner + "/jitted.py",
                         check=False, env=dict(os.environ, PYTHON_JIT="1"))
        assert r.returncode == 2 and "JIT on" in r.stderr, r.stderr
    finally:
        shutil.rmtree(sid + inner, ignore_errors=True)


lt.main()
