"""Target safety and no-silent-loss tests of leaktrace record (issue 8;
docs/FORMAT.md §1 and the README's "What leaktrace reads from the
target"): 100 attach/detach cycles at random moments while a
deterministic workload runs (each of the 100 must exit 0; a recorder
still running 60 s after it was told to stop is a failure) (its output and exit status must equal an
untraced run); a target that forks, execs, starts threads, raises through
many frames, runs generators and async code, traced whole (trees equal to
the in-process oracle); ring buffer overflow counted and skipped; disk full.
Needs root (BPF); uses Debian's /usr/bin/python3.11."""
import gzip
import json
import os
import random
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lt

HERE = os.path.dirname(os.path.abspath(__file__))

WORKLOAD = r'''
"""Deterministic workload for leaktrace's target-safety tests: recursion,
exceptions through many frames, generators, async code, threads that start
and end, fork, fork+exec, and finally an exec of the process itself.
usage: wl.py (--count N | --until FILE) [--no-exec]"""
import asyncio
import os
import subprocess
import sys
import threading
import time


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def deep_raise(n):
    if n == 0:
        raise ValueError("bottom")
    return deep_raise(n - 1)


def gen(n):
    for i in range(n):
        yield i * i


def closing_gen():
    try:
        yield 1
        yield 2
    finally:
        pass


async def co(i):
    await asyncio.sleep(0)
    if i == 3:
        raise KeyError(i)
    return i + 1


async def amain(n):
    res = await asyncio.gather(*(co(i) for i in range(n)), return_exceptions=True)
    return [r if isinstance(r, int) else type(r).__name__ for r in res]


def worker(k, out):
    out[k] = fib(10 + k)


def step(i):
    r = [fib(12)]
    try:
        deep_raise(40 + i % 30)
    except ValueError as e:
        r.append(str(e))
    r.append(sum(gen(50)))
    g = closing_gen()
    r.append(next(g))
    g.close()
    r.append(LOOP.run_until_complete(amain(5)))
    out = {}
    ts = [threading.Thread(target=worker, args=(k, out)) for k in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    r.append(sorted(out.items()))
    if i % 4 == 0:
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            os._exit(fib(9) % 256)
        r.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
    if i % 8 == 1:
        r.append(subprocess.run([sys.executable, "-c", "import sys; sys.exit(sum(range(5)))"]).returncode)
    return r


LOOP = None


def main():
    global LOOP
    LOOP = asyncio.new_event_loop()  # outside step(): its fds differ under the oracle
    # 3.12+ warns when it forks while other OS threads exist, and a joined
    # thread's OS thread may not have exited yet: whether the warning (and
    # its Python calls) happens would depend on timing
    import warnings
    warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
    args = sys.argv[1:]
    count, until, do_exec = None, None, "--no-exec" not in args
    if "--count" in args:
        count = int(args[args.index("--count") + 1])
    if "--until" in args:
        until = args[args.index("--until") + 1]
    i = 0
    while (count is None or i < count) and (until is None or not os.path.exists(until)):
        print(i, step(i), flush=True)
        i += 1
        if until:
            time.sleep(0.01)
    print("done", i, flush=True)
    if do_exec:
        os.execv(sys.executable, [sys.executable, "-c", "import sys; print('after exec'); sys.exit(3)"])
    sys.exit(4)


if __name__ == "__main__":
    main()
'''


def workload(d):
    p = os.path.join(d, "workload.py")
    with open(p, "w") as f:
        f.write(WORKLOAD)
    return p


def lines(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rt") as f:
        return [json.loads(l) for l in f]


def check_trace(path):
    """A finished trace: header first, trailer last, every line JSON; the
    trailer's counts agree with the exec lines. Returns the exec lines."""
    ls = lines(path)
    assert ls and ls[0]["type"] == "header", "%s: no header" % path
    assert ls[-1]["type"] == "stats", "%s: no trailer" % path
    ex = [l for l in ls if l["type"] == "exec"]
    st = ls[-1]
    assert st["execs"] == len(ex), (st, len(ex))
    assert st["incomplete_execs"] == sum(1 for e in ex if not e["complete"]), st
    return ex


def same_tree(a, b, path=""):
    """Call for call: fn, file, line, return type, yield, value (except
    floats: the workload's event loop returns clock readings)."""
    stack = [(a, b, a["fn"])]
    while stack:
        x, y, p = stack.pop()
        rx, ry = x.get("ret", {}), y.get("ret", {})
        kx = [x["fn"], x.get("file"), x.get("line"), rx.get("type"), rx.get("yield", False)]
        ky = [y["fn"], y.get("file"), y.get("line"), ry.get("type"), ry.get("yield", False)]
        if rx.get("type") != "float":
            kx.append(json.dumps(rx.get("value")))
            ky.append(json.dumps(ry.get("value")))
        if kx != ky:
            return "%s: %r != %r" % (p, kx, ky)
        cx, cy = x.get("calls", []), y.get("calls", [])
        if len(cx) != len(cy):
            return "%s: %d calls != %d" % (p, len(cx), len(cy))
        for i, (u, v) in enumerate(zip(cx, cy)):
            stack.append((u, v, "%s/%s[%d]" % (p, u["fn"], i)))
    return None


def wait_sigint_handler(p, timeout=60):
    """until p (a leaktrace) catches SIGINT, as /proc/PID/status SigCgt
    says: record.c installs its handler first thing, and a SIGINT before
    that (while the dynamic loader runs) would kill it by the default
    action, which says nothing about leaktrace"""
    bit = 1 << (signal.SIGINT - 1)
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout and p.poll() is None:
        try:
            with open("/proc/%d/status" % p.pid) as f:
                for l in f:
                    if l.startswith("SigCgt:") and int(l.split()[1], 16) & bit:
                        return
        except OSError:
            return
        time.sleep(0.001)
    assert p.poll() is not None, "leaktrace %d never installed its SIGINT handler" % p.pid


def untraced(script, count, *extra):
    return subprocess.run([lt.PY, script, "--count", str(count)] + list(extra),
                          capture_output=True, text=True, timeout=300)


@lt.test
def attach_detach_100_cycles():
    """100 recorders attach to and detach from one running target, two at a
    time, stopped by --duration or by SIGINT at a random moment (also while
    still attaching); the last one is attached when the target execs itself.
    The target's output and exit status equal an untraced run's."""
    lt.need_root()
    d = lt.tmpdir()
    script, stop = workload(d), os.path.join(d, "stop")
    target = subprocess.Popen([lt.PY, script, "--until", stop], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    lt.wait_mapped(target.pid)
    rng = random.Random(8)
    complete = cycles = 0
    try:
        for rnd in range(50):
            procs = []
            for k in range(2):
                args = [lt.LEAKTRACE, "record", "-p", str(target.pid)]
                out = None
                mode = rng.randrange(4)
                if mode:
                    out = os.path.join(d, "t%d_%d.jsonl%s" % (rnd, k, ".gz" if mode == 3 else ""))
                    args += ["-o", out]
                if rng.random() < 0.5:
                    args += ["--root", "step"]
                args += rng.choice([[], ["--args"], ["--no-values"], ["--str-len", "3"]])
                stop_by = rng.choice(["duration", "sigint"])
                if stop_by == "duration":
                    args += ["--duration", "%.2f" % rng.uniform(0.05, 0.5)]
                procs.append((subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                               text=True), out, stop_by,
                              rng.uniform(0, 0.3) if rng.random() < 0.15 else rng.uniform(0.6, 1.8)))
            t0 = time.monotonic()
            for p, out, stop_by, delay in sorted(procs, key=lambda x: x[3]):
                if stop_by == "sigint":
                    time.sleep(max(0, t0 + delay - time.monotonic()))
                    wait_sigint_handler(p)
                    p.send_signal(signal.SIGINT)
            for p, out, stop_by, delay in procs:
                try:
                    _, err = p.communicate(timeout=60)
                except subprocess.TimeoutExpired:
                    # a hung recorder is a failure: its stacks for the
                    # report, then SIGKILL (the target must survive that)
                    bt = subprocess.run(["gdb", "-p", str(p.pid), "-batch", "-ex", "thread apply all bt"],
                                        capture_output=True, text=True, timeout=120).stdout
                    p.kill()
                    p.communicate()
                    raise AssertionError("round %d: recorder %d (%s, %s) still running 60 s after it "
                                         "was told to stop (target %s):\n%s" % (
                                             rnd, p.pid, stop_by, " ".join(p.args[2:]),
                                             "alive" if target.poll() is None else "dead",
                                             "\n".join(l for l in bt.splitlines()
                                                       if l.startswith("#"))[:3000]))
                assert target.poll() is None, "the target died in round %d" % rnd
                assert p.returncode == 0, "round %d: leaktrace exited %d: %s" % (rnd, p.returncode, err[-500:])
                cycles += 1
                if out and os.path.exists(out):
                    complete += sum(1 for e in check_trace(out) if e["complete"])
        # the last recorder sees the target exec itself and exit
        last = subprocess.Popen([lt.LEAKTRACE, "record", "-p", str(target.pid), "-o",
                                 os.path.join(d, "last.jsonl")], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        time.sleep(1.5)
        open(stop, "w").close()
        out, err = target.communicate(timeout=120)
        _, lerr = last.communicate(timeout=60)
        assert last.returncode == 0, lerr
        check_trace(os.path.join(d, "last.jsonl"))
    finally:
        if target.poll() is None:
            target.kill()
            target.wait()
    n = int(out.splitlines()[-2].split()[1])  # "done N", then "after exec"
    ref = untraced(script, n)
    assert target.returncode == ref.returncode == 3, (target.returncode, ref.returncode, err[-800:])
    assert out == ref.stdout, "output differs from the untraced run"
    assert err == ref.stderr == "", err[-800:]
    assert complete > 0, "no complete execution recorded in 100 cycles"
    # every one of the 100 recorders ran to its end and exited 0
    assert cycles == 100, "only %d of 100 recorders ran to their end" % cycles
    print("attach/detach: %d cycles ran, %d complete executions" % (cycles, complete))


@lt.test
def fork_exec_threads_raise_generators_async_traced_whole():
    """record -- CMD of the whole workload: same output and exit status as
    untraced, every execution complete and equal call for call to the
    in-process oracle (tests/oracle.py)."""
    lt.need_root()
    d = lt.tmpdir()
    script = workload(d)
    rec, ora = os.path.join(d, "r.jsonl"), os.path.join(d, "o.jsonl")
    p = lt.run([lt.LEAKTRACE, "record", "--root", "step", "-o", rec, "--", lt.PY, script,
                "--count", "9", "--no-exec"], check=False)
    ref = untraced(script, 9, "--no-exec")
    # record -- CMD exits as the command did
    assert p.returncode == ref.returncode == 4, (p.returncode, p.stderr)
    assert p.stdout == ref.stdout, (p.stdout[-500:], ref.stdout[-500:])
    ex = check_trace(rec)
    assert len(ex) == 9 and all(e["complete"] for e in ex), [e["complete"] for e in ex]
    assert lines(rec)[-1]["lost_events"] == 0
    lt.run([lt.PY, os.path.join(HERE, "oracle.py"), "--root", "step", "-o", ora, script,
            "--count", "9", "--no-exec"], check=False)
    oe = [l for l in lines(ora) if l["type"] == "exec"]
    assert len(oe) == 9, len(oe)
    for x, y in zip(ex, oe):
        diff = same_tree(x["root"], y["root"])
        assert diff is None, "execution %d: %s" % (x["id"], diff)
    # and with exec at the end: exit status of the exec'd program
    p = lt.run([lt.LEAKTRACE, "record", "-o", os.path.join(d, "x.jsonl"), "--", lt.PY, script,
                "--count", "2"], check=False)
    ref = untraced(script, 2)
    assert p.returncode == ref.returncode == 3, (p.returncode, p.stderr)
    assert p.stdout == ref.stdout, (p.stdout, ref.stdout)
    check_trace(os.path.join(d, "x.jsonl"))


@lt.test
def same_workload_exact_on_312_and_313():
    """the workload above (fork, threads, deep raises, generators, asyncio)
    under 3.12 and 3.13, traced through their probe sites: every execution
    complete and equal call for call to the oracle under the same Python"""
    lt.need_root()
    pys = [p for p in ("/root/.pyenv/versions/3.12.1/bin/python3.12",
                       "/root/.pyenv/versions/3.13.0/bin/python3.13") if os.path.exists(p)]
    if not pys:
        raise lt.Skip("no pyenv 3.12 or 3.13 here")
    for py in pys:
        d = lt.tmpdir()
        script = workload(d)
        rec, ora = os.path.join(d, "r.jsonl"), os.path.join(d, "o.jsonl")
        p = lt.run([lt.LEAKTRACE, "record", "--root", "step", "-o", rec, "--", py, script,
                    "--count", "9", "--no-exec"], check=False)
        assert p.returncode == 4, (py, p.stderr)  # the workload's own status
        assert lines(rec)[0]["mechanism"] == "resume+return-sites", py
        ex = check_trace(rec)
        assert len(ex) == 9 and all(e["complete"] for e in ex), (py, [e["complete"] for e in ex])
        lt.run([py, os.path.join(HERE, "oracle.py"), "--root", "step", "-o", ora, script,
                "--count", "9", "--no-exec"], check=False)
        oe = [l for l in lines(ora) if l["type"] == "exec"]
        assert len(oe) == 9, (py, len(oe))
        for x, y in zip(ex, oe):
            diff = same_tree(x["root"], y["root"])
            assert diff is None, "%s execution %d: %s" % (py, x["id"], diff)


FAST = r'''
import os, sys
def leaf(i):
    return i
def run(n):
    s = 0
    for i in range(n):
        s += leaf(i)
    return s
k = 0
while not os.path.exists(sys.argv[1]):
    run(2000)
    k += 1
print("ok", k > 0)
'''


@lt.test
def ring_buffer_overflow_is_counted_and_skipped():
    """--ringbuf-mb 1 (the minimum) and a recorder that stops reading for a
    while (SIGSTOP) on a fast workload: events are dropped, the trailer
    counts them, the executions concerned are complete:false, and analyze
    skips them and says how many."""
    lt.need_root()
    d = lt.tmpdir()
    script, stop, rec = os.path.join(d, "fast.py"), os.path.join(d, "stop"), os.path.join(d, "r.jsonl")
    with open(script, "w") as f:
        f.write(FAST)
    target = subprocess.Popen([lt.PY, script, stop], stdout=subprocess.PIPE, text=True)
    try:
        lt.wait_mapped(target.pid)
        rp = subprocess.Popen([lt.LEAKTRACE, "record", "-p", str(target.pid), "--root", "run",
                               "--ringbuf-mb", "1", "-o", rec], stderr=subprocess.PIPE, text=True)
        time.sleep(2)  # attach
        rp.send_signal(signal.SIGSTOP)
        time.sleep(3)  # the target fills 1 MiB many times over
        rp.send_signal(signal.SIGCONT)
        time.sleep(1)
        rp.send_signal(signal.SIGINT)
        _, err = rp.communicate(timeout=60)
    finally:
        open(stop, "w").close()
        out, _ = target.communicate(timeout=60)
    assert rp.returncode == 0, err
    assert out == "ok True\n" and target.returncode == 0
    st = lines(rec)[-1]
    ex = check_trace(rec)
    assert st["lost_events"] > 0, st
    assert "events lost (ring buffer full)" in err, err
    bad = [e for e in ex if not e["complete"]]
    good = [e for e in ex if e["complete"]]
    assert bad and good, (len(bad), len(good))
    # complete executions are whole: run(2000) makes 2000 leaf calls
    for e in good:
        assert e["root"]["fn"] == "run" and len(e["root"].get("calls", [])) == 2000, e["id"]
        assert e["root"]["ret"] == {"type": "int", "value": 1999000}
    a = json.loads(lt.leaktrace("analyze", "-q", "-j", rec, rec).stdout)
    assert a["skipped"] == 2 * len(bad) and a["E"] == a["E_prime"] == len(good), (a["skipped"], len(bad))
    p = lt.leaktrace("analyze", rec, rec)
    assert "skipped" in (p.stdout + p.stderr), p.stdout[:500]


BURST2 = r'''
import os
def f(i):
    return i
def run(n):
    for i in range(n):
        f(i)
    return n
kids = []
for _ in range(2):
    pid = os.fork()
    if pid == 0:
        run(150000)
        os._exit(0)
    kids.append(pid)
print(all(os.waitpid(k, 0)[1] == 0 for k in kids))
'''


@lt.test
def small_ring_wakes_the_consumer_behind():
    """The consumer polls every 20 ms and is not woken per record; where it
    falls behind by a quarter of the ring buffer, the BPF side wakes it.
    Two processes of the tree bursting into a 1 MiB ring (together they
    make a quarter of it in about 10 ms here): -v says the consumer was
    woken, nothing is lost, each burst is whole. -v also names the default
    size."""
    lt.need_root()
    d = lt.tmpdir()
    script, rec = os.path.join(d, "burst2.py"), os.path.join(d, "r.jsonl")
    with open(script, "w") as f:
        f.write(BURST2)
    p = lt.leaktrace("record", "-v", "--ringbuf-mb", "1", "--root", "run", "-o", rec, "--",
                     lt.PY, script)
    woken = re.search(r"ring buffer of 1 MiB: the consumer was woken (\d+) times", p.stderr)
    assert woken and int(woken.group(1)) > 0, p.stderr[-2000:]
    st = lines(rec)[-1]
    assert st["lost_events"] == 0, st
    ex = check_trace(rec)
    assert len(ex) == 2 and all(e["complete"] and e["root"]["ret"]["value"] == 150000 and
                                len(e["root"]["calls"]) == 150000 for e in ex), len(ex)
    p = lt.leaktrace("record", "-v", "--root", "x", "-o", os.path.join(d, "q.jsonl"), "--",
                     lt.PY, "-c", "pass")
    assert "ring buffer of 4 MiB: the consumer was woken 0 times" in p.stderr, p.stderr[-1000:]


@lt.test
def ringbuf_size_flag_bounds():
    for bad in ("0", "3", "4096", "x"):
        p = lt.leaktrace("record", "--ringbuf-mb", bad, "-p", "1", check=False)
        assert p.returncode == 2 and "--ringbuf-mb" in p.stderr, (bad, p.stderr)


@lt.test
def disk_full_gives_clear_error():
    """The trace on a 64 KiB tmpfs: leaktrace stops, names the file and
    ENOSPC, exits 1; the target goes on unharmed. A plain file is cut after
    its last whole line and ends with a trailer saying the write failed
    (whole lines are given up for its room); a gzip file ends early and
    readers say so."""
    lt.need_root()
    d = lt.tmpdir()
    mnt = os.path.join(d, "full")
    os.mkdir(mnt)
    lt.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt])
    script, stop = os.path.join(d, "fast.py"), os.path.join(d, "stop")
    with open(script, "w") as f:
        f.write(FAST)
    target = subprocess.Popen([lt.PY, script, stop], stdout=subprocess.PIPE, text=True)
    try:
        lt.wait_mapped(target.pid)
        for name in ("t.jsonl", "t.jsonl.gz"):
            out = os.path.join(mnt, name)
            p = lt.leaktrace("record", "-p", target.pid, "--root", "leaf", "-o", out,
                             check=False, timeout=120)
            assert p.returncode == 1, (p.returncode, p.stderr)
            assert "%s: write failed: No space left on device" % out in p.stderr, p.stderr
            assert "the trace is incomplete" in p.stderr, p.stderr
            assert target.poll() is None, "target died"
            raw = open(out, "rb").read()
            if name.endswith(".gz"):
                a = lt.leaktrace("analyze", "-q", "-j", out, out, check=False)
                assert "compressed data ends early" in a.stderr or "no stats trailer" in a.stderr, a.stderr
            else:
                assert raw.endswith(b"\n"), "a line is cut short"
                whole = [json.loads(l) for l in raw.decode().splitlines()]
                assert whole[0]["type"] == "header"
                assert whole[-1] == {"type": "stats", "error": "write failed: No space left on device"}, whole[-1]
                assert "marked as failed" in p.stderr, p.stderr
                a = lt.leaktrace("analyze", "-q", "-j", out, out, check=False)
                assert a.returncode in (0, 2), a.stderr
            os.unlink(out)
    finally:
        open(stop, "w").close()
        target.communicate(timeout=60)
        subprocess.run(["umount", mnt])
    assert target.returncode == 0


if __name__ == "__main__":
    lt.main()
