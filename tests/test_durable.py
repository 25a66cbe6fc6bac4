"""Durable output: a trace is written as executions complete (flushed at
least every second, gzip with sync flushes), so that a recorder killed with
SIGKILL leaves a readable trace (no trailer: analyze warns and reads it),
and `tail -f` shows executions while recording."""
import gzip
import json
import os
import signal
import subprocess
import time
import zlib

import lt

SLOW = ("import time\ndef req(i):\n    return i % 7\n"
        "i = 0\nwhile True:\n    req(i)\n    i += 1\n    time.sleep(0.1)\n")


def raw_lines(path):
    """the whole lines a reader gets from path as it is now (gzip: what
    decompresses, without needing the end of the stream)"""
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".gz"):
        data = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data)
    text = data.decode()
    return [json.loads(l) for l in text.split("\n")[:-1]]


def wait_for(cond, what, timeout=60):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def killed_recorder(name):
    lt.need_root()
    d = lt.tmpdir()
    script = lt.write_file(d, "slow.py", SLOW)
    rec = os.path.join(d, name)
    lp = subprocess.Popen([lt.LEAKTRACE, "record", "--root", "req", "-o", rec, "--", lt.PY, script],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    child = None
    try:
        # executions reach the file while the recorder runs (tail -f)
        def execs_now():
            try:
                ls = raw_lines(rec)
            except (OSError, EOFError, zlib.error, ValueError):
                return None
            ex = [l for l in ls if l["type"] == "exec"]
            return ls if len(ex) >= 10 else None
        ls = wait_for(execs_now, "10 executions in the file while recording")
        assert ls[0]["type"] == "header"
        child = ls[0]["pid"]
        seen = len([l for l in ls if l["type"] == "exec"])
        lp.send_signal(signal.SIGKILL)
        lp.wait(timeout=30)
    finally:
        if lp.poll() is None:
            lp.kill()
            lp.wait()
        if child:
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass
    ls = raw_lines(rec)
    ex = [l for l in ls if l["type"] == "exec"]
    assert ls[-1]["type"] != "stats"
    assert len(ex) >= seen, (len(ex), seen)
    assert [e["id"] for e in ex] == list(range(len(ex)))
    # analyze reads it, with a warning, and counts every execution
    p = lt.leaktrace("analyze", "--format", "json", "-q", rec, rec)
    assert "no stats trailer" in p.stderr, p.stderr
    out = json.loads(p.stdout)
    assert out["E"] == len(ex) and out["E_prime"] == len(ex), (out, len(ex))


@lt.test
def sigkill_leaves_readable_plain_trace():
    killed_recorder("t.jsonl")


@lt.test
def sigkill_leaves_readable_gzip_trace():
    killed_recorder("t.jsonl.gz")


lt.main()
