"""Resynchronisation after lost records (issue 18): records dropped on
purpose before the rebuild (LEAKTRACE_SIMFAIL, user/record/simfail.h), with
many seeds, on Debian's 3.11 (USDT note and return sites), sites builds (pyenv 3.12, 3.13) and
the evalframe probes (pyenv 3.10); and a real ring-buffer loss. Every
execution no drop touched is exactly the oracle's; the touched ones are
incomplete; every drop is counted in lost_events."""
import json
import os
import signal
import subprocess
import time

import lt
import treecmp

HERE = os.path.dirname(os.path.abspath(__file__))
WL = os.path.join(HERE, "workloads", "resync.py")
N = 150


def oracle(py, out):
    lt.run([py, os.path.join(HERE, "oracle.py"), "--root", "run", "-o", out, WL, str(N)])
    return treecmp.load(out)


def record_with_drops(py, d, seed, permille, *opts):
    rec, log = os.path.join(d, "r%d.jsonl" % seed), os.path.join(d, "drops%d.txt" % seed)
    env = dict(os.environ, LEAKTRACE_SIMFAIL="%d:%d" % (seed, permille), LEAKTRACE_SIMFAIL_LOG=log)
    p = lt.run([lt.LEAKTRACE, "record", "--root", "run", *opts, "-o", rec, "--", py, WL, str(N)],
               env=env, timeout=300)
    assert "LEAKTRACE_SIMFAIL" in p.stderr, "the knob says so on stderr"
    with open(log) as f:
        drops = [int(l.split()[2]) for l in f]
    with open(rec) as f:
        return [json.loads(l) for l in f], drops


def check(lines, drops, ora, seed):
    """executions not touched by a drop exact; the others incomplete, with
    a drop around them; returns the number of whole executions"""
    ex = [l for l in lines if l["type"] == "exec"]
    st = lines[-1]
    assert st["type"] == "stats" and st["lost_events"] == len(drops) > 0, (st, len(drops))
    assert st["incomplete_execs"] == sum(not e["complete"] for e in ex)
    by_val = {o["root"]["ret"]["value"]: o for o in ora}
    assert sorted(by_val) == list(range(N))
    whole = {}
    for e in ex:
        if not e["complete"]:
            continue
        v = e["root"]["ret"]["value"]
        diff = treecmp.diff_nodes(e["root"], by_val[v]["root"])
        assert diff is None, "seed %d: run(%d) complete but not the oracle's: %s" % (seed, v, diff)
        assert v not in whole, "seed %d: run(%d) written twice" % (seed, v)
        end = e["start_ns"] + e["dur_ns"]
        inside = [t for t in drops if e["start_ns"] <= t <= end]
        assert not inside, "seed %d: run(%d) complete though a record of it was dropped" % (seed, v)
        whole[v] = e
    for v in range(N):
        if v in whole:
            continue
        lo = max([whole[u]["start_ns"] + whole[u]["dur_ns"] for u in whole if u < v], default=0)
        hi = min([whole[u]["start_ns"] for u in whole if u > v], default=1 << 64)
        assert any(lo < t < hi for t in drops), "seed %d: run(%d) not whole, no drop near it" % (seed, v)
    # a drop touches one execution at most: the rest come out whole
    assert len(whole) >= N - len(drops), (seed, len(whole), len(drops))
    return len(whole)


def seeds(py, label, runs, *opts):
    lt.need_root()
    d = lt.tmpdir()
    ora = oracle(py, os.path.join(d, "o.jsonl"))
    assert len(ora) == N and all(o["complete"] for o in ora)
    for seed, permille in runs:
        lines, drops = record_with_drops(py, d, seed, permille, *opts)
        n = check(lines, drops, ora, seed)
        print("  %s seed %d: %d drops, %d of %d executions whole" % (label, seed, len(drops), n, N))


@lt.test
def drops_touch_only_their_executions_311():
    seeds(lt.PY, "3.11 usdt", [(s, 5) for s in range(1, 5)] + [(7, 40), (8, 100)],
          "--mechanism", "usdt")
    seeds(lt.PY, "3.11 sites", [(s, 5) for s in range(41, 45)] + [(45, 40)])


@lt.test
def drops_touch_only_their_executions_312_sites():
    py = "/root/.pyenv/versions/3.12.1/bin/python3.12"
    if not os.path.exists(py):
        raise lt.Skip("no pyenv 3.12.1 here")
    seeds(py, "3.12 sites", [(s, 5) for s in range(11, 15)] + [(15, 60)])


@lt.test
def drops_touch_only_their_executions_310_evalframe_313_sites():
    for py, label, base in (("/root/.pyenv/versions/3.10.13/bin/python3.10", "3.10 evalframe", 21),
                            ("/root/.pyenv/versions/3.13.0/bin/python3.13", "3.13 sites", 31)):
        if not os.path.exists(py):
            raise lt.Skip("no %s here" % py)
        seeds(py, label, [(base, 5), (base + 1, 5), (base + 2, 40)])


@lt.test
def drops_touch_only_their_executions_no_durations():
    """--no-durations (returns only): an execution opens at its first
    return, so a loss just before it must still mark it"""
    lt.need_root()
    d = lt.tmpdir()
    ora = {o["root"]["ret"]["value"]: o for o in oracle(lt.PY, os.path.join(d, "o.jsonl"))}
    for seed in (1, 2, 3, 4):
        lines, drops = record_with_drops(lt.PY, d, seed, 5, "--no-durations")
        ex = [l for l in lines if l["type"] == "exec"]
        assert lines[-1]["lost_events"] == len(drops) > 0
        whole = [e for e in ex if e["complete"]]
        for e in whole:
            v = e["root"]["ret"]["value"]
            diff = treecmp.diff_nodes(e["root"], ora[v]["root"])
            assert diff is None, "seed %d: run(%d) complete but not the oracle's: %s" % (seed, v, diff)
        assert len(whole) >= N - len(drops), (seed, len(whole), len(drops))
        print("  3.11 --no-durations seed %d: %d drops, %d of %d executions whole" % (
            seed, len(drops), len(whole), N))


@lt.test
def simfail_knob_refuses_bad_values():
    lt.need_root()
    env = dict(os.environ, LEAKTRACE_SIMFAIL="x")
    p = lt.run([lt.LEAKTRACE, "record", "--root", "run", "-o", "/dev/null", "--", lt.PY, WL, "1"],
               env=env, check=False)
    assert p.returncode == 2 and "SEED:PERMILLE" in p.stderr, p.stderr


BURST = r"""
import os, sys, time
go, small = sys.argv[1], sys.argv[2]
def leaf(i):
    return i
def run(n):
    t = 0
    for i in range(n):
        t += leaf(i)
    return t
print("ready", flush=True)
while not os.path.exists(go):
    run(2000)
while not os.path.exists(small):
    time.sleep(0.01)
for i in range(20):
    run(3)
"""


@lt.test
def real_loss_then_twenty_whole_executions():
    """--ringbuf-mb 1, the recorder stopped (SIGSTOP) during a burst: many
    events lost, roots' returns among them; the 20 small executions after
    it are whole (before the resync: none was)"""
    lt.need_root()
    d = lt.tmpdir()
    script = lt.write_file(d, "burst.py", BURST)
    go, small, rec = os.path.join(d, "go"), os.path.join(d, "small"), os.path.join(d, "r.jsonl")
    target = subprocess.Popen([lt.PY, script, go, small], stdout=subprocess.PIPE, text=True)
    rp = None
    try:
        assert target.stdout.readline() == "ready\n"
        rp = lt.start_recording("-p", target.pid, "--root", "run", "--ringbuf-mb", "1", "-o", rec)
        time.sleep(1)
        rp.send_signal(signal.SIGSTOP)
        time.sleep(3)       # the burst fills 1 MiB many times over
        open(go, "w").close()
        time.sleep(0.5)
        rp.send_signal(signal.SIGCONT)
        time.sleep(2)       # the consumer drains what is left
        open(small, "w").close()
        target.wait(timeout=60)
        _, err = rp.communicate(timeout=60)
    finally:
        open(go, "w").close()
        open(small, "w").close()
        if target.poll() is None:
            target.kill()
        if rp and rp.poll() is None:
            rp.kill()
    assert rp.returncode == 0, err
    with open(rec) as f:
        lines = [json.loads(l) for l in f]
    st = lines[-1]
    ex = [l for l in lines if l["type"] == "exec"]
    assert st["type"] == "stats" and st["lost_events"] > 10000, st
    assert any(not e["complete"] for e in ex)
    last = ex[-20:]
    assert all(e["complete"] for e in last), [(e["id"], e["complete"]) for e in last]
    for e in last:
        assert e["root"]["ret"] == {"type": "int", "value": 3}, e["root"]["ret"]
        assert [c["ret"]["value"] for c in e["root"]["calls"]] == [0, 1, 2]
    # complete executions of the burst are whole too
    for e in ex[:-20]:
        if e["complete"]:
            assert len(e["root"]["calls"]) == 2000 and e["root"]["ret"]["value"] == 1999000
    print("  %d events lost, %d executions, %d incomplete, stale_frames %s" % (
        st["lost_events"], len(ex), st["incomplete_execs"], st.get("stale_frames")))


lt.main()
