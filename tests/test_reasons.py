"""Why an execution is incomplete (issue 22): every exec line with
complete:false has an "incomplete" list of reason tokens (FORMAT.md §1).
One workload per reason a user can cause, with the exact token, in full
capture and --no-durations, on Debian 3.11 and for stop and exit also on
pyenv 3.12 (sites); and no trace any of them makes has an
incomplete execution without a reason ("unknown")."""
import json
import os
import subprocess
import time

import lt

HERE = os.path.dirname(os.path.abspath(__file__))
WL = os.path.join(HERE, "workloads", "reasons.py")
PY = lt.PY
# a sites build (3.12+), where there is one: the reasons do not depend on
# the mechanism
PY312 = "/root/.pyenv/versions/3.12.1/bin/python3.12"
PYS = [PY] + ([PY312] if os.path.exists(PY312) else [])
RULES = os.path.join(lt.tmpdir(), "rules.json")
with open(RULES, "w") as _f:
    _f.write('{"format":1,"rules":[{"observation":"returns","key":"leaf","value":"int:1"}]}')


def execs(path):
    with open(path) as f:
        lines = [json.loads(l) for l in f if l.strip()]
    ex = [l for l in lines if l["type"] == "exec"]
    for e in ex:
        # the writer's contract: a reason on every incomplete execution,
        # none on a complete one, never "unknown"
        if e["complete"]:
            assert "incomplete" not in e, e
        else:
            r = e.get("incomplete")
            assert r and len(set(r)) == len(r) and "unknown" not in r, (path, r)
    return ex


def reasons(ex):
    return sorted({tuple(e["incomplete"]) for e in ex if not e["complete"]})


@lt.test
def stopped_while_running():
    """--duration ends recording while the root runs: "stopped"; the same
    without --root in both capture modes (the thread's calls still live)"""
    lt.need_root()
    d = lt.tmpdir()
    for py in PYS:
        for opts in (["--root", "run"], [], ["--no-durations"]):
            rec = os.path.join(d, "s.jsonl")
            lt.leaktrace("record", *opts, "--duration", "3", "-o", rec, "--", py, WL, "long", "8",
                         timeout=120)
            ex = execs(rec)
            assert ex and reasons(ex) == [("stopped",)], (py, opts, reasons(ex), len(ex))
    # without -o, the line per execution says it too
    p = lt.leaktrace("record", "--root", "run", "--duration", "3", "--", PY, WL, "long", "8",
                     timeout=120)
    assert "calls (incomplete: stopped)" in p.stdout, p.stdout[-500:]


@lt.test
def root_running_before_attach():
    """-p while the root runs: its execution is "before_attach", both modes"""
    lt.need_root()
    d = lt.tmpdir()
    for opts in ([], ["--no-durations"]):
        t = subprocess.Popen([PY, WL, "long", "5"], stdout=subprocess.PIPE, text=True)
        try:
            assert t.stdout.readline().strip() == "ready"
            time.sleep(0.5)
            rec = os.path.join(d, "a.jsonl")
            lt.leaktrace("record", "--root", "run", *opts, "-p", t.pid, "-o", rec, timeout=120)
        finally:
            t.kill()
            t.wait()
        ex = execs(rec)
        assert len(ex) == 1 and reasons(ex) == [("before_attach",)], (opts, reasons(ex))


@lt.test
def process_exits_inside():
    """a thread calls os._exit() inside the root: "exited" (full capture);
    without --root the thread's execution, both modes"""
    lt.need_root()
    d = lt.tmpdir()
    for opts in [o + [py] for py in PYS for o in (["--root", "run_exit"], [], ["--no-durations"])]:
        opts, py = opts[:-1], opts[-1]
        rec = os.path.join(d, "x.jsonl")
        lt.leaktrace("record", *opts, "-o", rec, "--", py, WL, "exit", timeout=120)
        ex = execs(rec)
        # (without --root the main thread, in join(), exits inside too)
        assert ex and reasons(ex) == [("exited",)], (opts, reasons(ex))
        assert len(ex) == 1 or "--root" not in opts, len(ex)
        if "--root" in opts:
            assert ex[0]["root"]["fn"] == "run_exit", ex[0]["root"]["fn"]


@lt.test
def lost_events_simulated():
    """records dropped (LEAKTRACE_SIMFAIL, as test_resync): the executions
    touched say "lost_events" (with "stale_frames" where the resync closed
    frames), both modes"""
    lt.need_root()
    d = lt.tmpdir()
    wl = os.path.join(HERE, "workloads", "resync.py")
    for opts in ([], ["--no-durations"]):
        rec = os.path.join(d, "l.jsonl")
        env = dict(os.environ, LEAKTRACE_SIMFAIL="7:3")
        lt.run([lt.LEAKTRACE, "record", "--root", "run", *opts, "-o", rec, "--", PY, wl, "150"],
               env=env, timeout=300)
        ex = execs(rec)
        inc = [e for e in ex if not e["complete"]]
        assert inc, opts
        for e in inc:
            assert "lost_events" in e["incomplete"] and \
                set(e["incomplete"]) <= {"lost_events", "stale_frames"}, (opts, e["incomplete"])


@lt.test
def throw_through_unseen_generator_exact():
    """generators closed through a delegating one never seen starting
    (tests/workloads/delegation.py close_through): exact, complete; also
    under a 3.12+ sys.monitoring tool on the delegating one: an instruction
    event's (INSTRUMENTED_INSTRUCTION hides its opcodes: the BPF side reads
    them from the code's monitoring data) or a yield event's
    (INSTRUMENTED_YIELD_VALUE). On pyenv 3.12.1 and sid's 3.13-3.15 (in
    its root). (The "throw_ambiguous" reason, for a caller whose opcode
    cannot be read, is checked in tests/unit/test_rebuild.c)"""
    lt.need_root()
    import shutil
    wl = os.path.join(HERE, "workloads", "delegation.py")
    runs = []       # (label, command prefix, record options, workload as the python sees it)
    if os.path.exists(PY312):
        runs.append(("pyenv 3.12.1", [PY312], [], wl))
    inner = "/tmp/lt-deleg-%d" % os.getpid()
    sid, sids = lt.sid_pythons(("3.13", "3.14", "3.15"))
    runs += [r + (inner + "/delegation.py",) for r in sids]
    assert len(runs) >= 2, [r[0] for r in runs]
    d = lt.tmpdir()
    rec = os.path.join(d, "t.jsonl")
    os.makedirs(sid + inner, exist_ok=True)
    try:
        shutil.copy2(wl, sid + inner)
        for label, cmd, opts, script in runs:
            for opt in ([], ["--watch-instructions"], ["--watch-yields"]):
                what = (label, opt)
                lt.leaktrace("record", *opts, "--root", "close_through", "-o", rec, "--", *cmd,
                             script, *opt, "3", timeout=120)
                ex = execs(rec)
                assert len(ex) == 3 and all(e["complete"] for e in ex), (what, reasons(ex))
                # still delegation: inner's runs thrown into and closed
                # through outer are calls of close_through, none under
                # outer's (whose calls are the instruction tool's
                # callbacks, if any)
                for e in ex:
                    top = [(c["fn"], c["ret"]["type"]) for c in e["root"]["calls"]]
                    assert top.count(("inner", "<raise>")) == 2, (what, top)
                    assert not [c for c in e["root"]["calls"] if c["fn"] == "outer" and
                                c["ret"]["type"] == "<raise>" and
                                "inner" in [k["fn"] for k in c.get("calls", [])]], (what, e["root"])
    finally:
        shutil.rmtree(sid + inner, ignore_errors=True)


@lt.test
def coroutine_moved_threads_no_durations():
    """--no-durations: a coroutine root resumed on another thread: its
    parts say "other_thread" or "exited" (its first thread ended while it
    was suspended)"""
    lt.need_root()
    d = lt.tmpdir()
    rec = os.path.join(d, "c.jsonl")
    lt.leaktrace("record", "--root", "handle", "--no-durations", "-o", rec, "--", PY,
                 os.path.join(HERE, "workloads", "coro_threads.py"), "2", timeout=120)
    ex = execs(rec)
    got = {r for e in ex for r in e.get("incomplete", [])}
    assert "other_thread" in got and got <= {"other_thread", "exited"}, got


@lt.test
def readers_keep_reasons():
    """analyze and summarize read the field; a trace without it (older
    leaktrace) still reads"""
    lt.need_root()
    d = lt.tmpdir()
    rec = os.path.join(d, "s.jsonl")
    lt.leaktrace("record", "--root", "run", "--duration", "3", "-o", rec, "--", PY, WL, "long", "6",
                 timeout=120)
    old = os.path.join(d, "old.jsonl")
    with open(rec) as f, open(old, "w") as o:
        for l in f:
            j = json.loads(l)
            j.pop("incomplete", None)
            o.write(json.dumps(j, separators=(",", ":")) + "\n")
    # the fast reader (writer's key order) and the generic one (any order)
    # read the reasons alike: chrome export shows them on the root event
    srt = os.path.join(d, "sorted.jsonl")
    with open(rec) as f, open(srt, "w") as o:
        for l in f:
            o.write(json.dumps(json.loads(l), sort_keys=True) + "\n")
    for path in (rec, srt):
        out = os.path.join(d, "c.json")
        lt.leaktrace("export", "--format", "chrome", path, "-o", out)
        with open(out) as f:
            assert '"complete":false,"incomplete":["stopped"]' in f.read().replace(" ", ""), path
    for path in (rec, old):
        p = lt.leaktrace("analyze", path, path, check=False)
        assert p.returncode == 2 and "no complete execution" in p.stderr, p.stderr
        p = lt.leaktrace("detect", "--rules", RULES, path)
        assert "incomplete (skipped)" in p.stdout, p.stdout


@lt.test
def no_trace_without_reason():
    """every trace the tests left in their temporary directories (those run
    before this one, and earlier runs): no incomplete execution written
    with "unknown" (the recorder's mark for a missing reason)"""
    import glob
    import tempfile
    bad, seen = [], 0
    for path in glob.glob(os.path.join(tempfile.gettempdir(), "lt-test-*", "*.jsonl")):
        try:
            if os.path.getsize(path) > 64 << 20:
                continue
            with open(path, "rb") as f:
                data = f.read()
        except OSError:
            continue
        seen += 1
        if b'"incomplete":[' in data and b'"unknown"]' in data:
            for l in data.splitlines():
                if b'"incomplete":[' in l:
                    i = l.index(b'"incomplete":[')
                    if b'"unknown"' in l[i:l.index(b"]", i)]:
                        bad.append(path)
                        break
    print("  %d traces checked" % seen)
    assert not bad, bad[:5]


lt.main()
