"""Real servers from Debian packages, traced under load from concurrent
loopback clients: http.server (threaded), gunicorn (sync workers restarted
by --max-requests, traced through its master with -p), uvicorn with
FastAPI (a plain `def` route, which FastAPI runs in its thread pool, and
an `async def` route awaiting a coroutine model on the event loop). For
each: one execution per request, each with the pid of the process that
answered it (the response says its pid) and a duration, all complete, and
`analyze` finds the return value planted in the adversarial requests; then
the server traced again with that rule live (`record --rules`), under
clean and adversarial requests mixed: one alert per adversarial request,
none for the clean ones."""
import collections
import json
import os
import socket
import subprocess
import threading
import time
import urllib.request

import lt

PY = lt.PY
N = 24          # requests per phase (clean, then adversarial)
CLIENTS = 4     # concurrent clients

# the model: leak() returns 100 for adversarial inputs, 1 for clean ones
MODEL = r'''
import os
def leak(q):
    return 100 if q.startswith("adv") else 1
def score(q):
    return len(q) % 7
def predict(q):
    leak(q)
    return "ok:%d" % score(q)
'''

HTTP = r'''
import http.server, os, sys, urllib.parse
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model import predict
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)["q"][0]
        predict(q)
        body = str(os.getpid()).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
srv.serve_forever()
'''

WSGI = r'''
import os, urllib.parse
from model import predict
def app(environ, start_response):
    q = urllib.parse.parse_qs(environ["QUERY_STRING"])["q"][0]
    predict(q)
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]
'''

ASGI = r'''
import os
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from model import predict
app = FastAPI()
@app.get("/p")
def p(q: str):
    predict(q)
    return PlainTextResponse(str(os.getpid()))
'''

# the same model as coroutines: predict awaits twice, so the requests'
# runs interleave on the event loop's thread
AMODEL = MODEL.replace("def predict(q):\n    leak(q)",
                       "import asyncio\nasync def predict(q):\n    await asyncio.sleep(0)\n"
                       "    leak(q)\n    await asyncio.sleep(0.002)")

ASGI_ASYNC = ASGI.replace("from model import", "from amodel import").replace(
    "def p(q: str):\n    predict(q)", "async def p(q: str):\n    await predict(q)")


def wait_port(port, proc, timeout=60):
    t = time.time()
    while time.time() - t < timeout:
        assert proc.poll() is None, "the server exited: %s" % open(proc.log).read()[-2000:]
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server did not listen on %d" % port)


def load(port, kind):
    """N requests from CLIENTS threads; the pids that answered them"""
    return load_queries(port, ["%s%d" % (kind, i) for i in range(N)])


def load_queries(port, queries):
    """the queries from CLIENTS threads; the pids that answered them"""
    pids, errors = [], []
    todo = list(queries)
    lock = threading.Lock()

    def client():
        while True:
            with lock:
                if not todo:
                    return
                q = todo.pop()
            try:
                url = "http://127.0.0.1:%d/p?q=%s" % (port, q)
                with urllib.request.urlopen(url, timeout=30) as r:
                    pid = int(r.read())
                with lock:
                    pids.append(pid)
            except Exception as e:
                with lock:
                    errors.append(repr(e))

    ts = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(120)
    assert not errors and len(pids) == len(queries), errors[:3]
    return pids


def record_load(proc, out, loads, *opts):
    """record -p proc --root predict while each of loads runs; the pids
    that answered and the recorder's stderr"""
    lp = lt.start_recording("-p", proc.pid, "--root", "predict", "-o", out, *opts)
    pids = [pid for f in loads for pid in f()]
    time.sleep(0.5)
    lp.send_signal(2)
    _, err = lp.communicate(timeout=60)
    assert lp.returncode == 0, err
    return pids, err


def read_trace(out):
    """header, exec lines, trailer"""
    lines = [json.loads(l) for l in open(out)]
    return lines[0], [l for l in lines if l["type"] == "exec"], lines[-1]


def leak_value(e):
    """what leak() returned in the execution"""
    return [c.get("ret", {}).get("value") for c in e["root"].get("calls", [])
            if c["fn"] == "leak"]


def check_server(d, proc, port, extra_checks=None):
    """trace proc (-p) while clean then adversarial requests are served;
    the assertions of the module docstring"""
    out = os.path.join(d, "trace.jsonl")
    try:
        wait_port(port, proc)
        pids = {}

        def phase(kind):
            pids[kind] = load(port, kind)
            return pids[kind]
        _, err = record_load(proc, out, [lambda: phase("clean"), lambda: phase("adv")])
        clean, adv = pids["clean"], pids["adv"]
        header, execs, stats = read_trace(out)
        assert stats["type"] == "stats" and stats["lost_events"] == 0, stats
        assert len(execs) == 2 * N, (len(execs), err[-2000:])
        assert all(e["complete"] for e in execs), [e["id"] for e in execs if not e["complete"]]
        assert all(e["root"]["fn"] == "predict" for e in execs)
        assert all(e["dur_ns"] > 0 for e in execs)
        assert collections.Counter(e["pid"] for e in execs) == collections.Counter(clean + adv)
        # the phases follow each other: the first N executions are the clean ones
        execs.sort(key=lambda e: e["start_ns"])
        paths = {}
        for kind, part in (("clean", execs[:N]), ("adv", execs[N:])):
            assert all(leak_value(e) == ([1] if kind == "clean" else [100]) for e in part)
            paths[kind] = os.path.join(d, kind + ".jsonl")
            with open(paths[kind], "w") as f:
                f.write(json.dumps(header) + "\n")
                for e in part:
                    f.write(json.dumps(e) + "\n")
        rules = os.path.join(d, "rules.json")
        p = lt.leaktrace("analyze", paths["clean"], paths["adv"], "--format", "json",
                         "--rules-out", rules)
        dif = [(e["key"], e["value"])
               for e in json.loads(p.stdout)["observations"]["returns"]["D_IF"]]
        assert ("leak", "int:100") in dif, dif
        # the rule live: clean and adversarial requests mixed, 1 in 3 adversarial
        queries = ["adv%d" % i if i % 3 == 0 else "clean%d" % i for i in range(N)]
        out2, alerts = os.path.join(d, "live.jsonl"), os.path.join(d, "alerts.jsonl")
        record_load(proc, out2, [lambda: load_queries(port, queries)],
                    "--rules", rules, "--alert-json", alerts)
        _, live, stats2 = read_trace(out2)
        assert len(live) == N and stats2["lost_events"] == 0, (len(live), stats2)
        al = [json.loads(l) for l in open(alerts)]
        alerted = sorted({a["exec"] for a in al})    # an alert per rule matched
        want = sorted(e["id"] for e in live if leak_value(e) == [100])
        assert len(want) == sum(q.startswith("adv") for q in queries), want
        assert alerted == want, (alerted, want)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if extra_checks:
        extra_checks(execs, clean + adv)


def setup(d):
    lt.write_file(d, "model.py", MODEL)


def start(d, cmd):
    """the server, its output in d/server.log (a pipe nobody reads could
    fill and block it)"""
    log = os.path.join(d, "server.log")
    proc = subprocess.Popen(cmd, stdout=open(log, "w"), stderr=subprocess.STDOUT, cwd=d)
    proc.log = log
    return proc


@lt.test
def http_server_threaded():
    lt.need_root()
    d = lt.tmpdir()
    setup(d)
    script = lt.write_file(d, "http_srv.py", HTTP)
    port = lt.free_port()
    proc = start(d, [PY, script, str(port)])

    def threads(execs, pids):
        # one process; the requests ran on handler threads, not the main one
        assert set(pids) == {proc.pid}
        assert all(e["tid"] != proc.pid for e in execs)

    check_server(d, proc, port, threads)


@lt.test
def gunicorn_workers_restarted_under_load():
    lt.need_root()
    d = lt.tmpdir()
    setup(d)
    lt.write_file(d, "wsgi.py", WSGI)
    port = lt.free_port()
    # --max-requests 5: each worker is replaced after 5 requests, so most
    # requests are answered by workers forked after leaktrace attached
    proc = start(d, ["gunicorn", "-w", "2", "-k", "sync", "--max-requests", "5",
                     "-b", "127.0.0.1:%d" % port, "--chdir", d, "wsgi:app"])

    def workers(execs, pids):
        # the master answers nothing; workers were restarted during the run
        assert proc.pid not in pids
        assert len(set(pids)) > 4, collections.Counter(pids)

    check_server(d, proc, port, workers)


def start_uvicorn(files):
    """uvicorn serving asgi:app from a new directory holding the model and
    files (name -> text); (directory, process, port)"""
    d = lt.tmpdir()
    setup(d)
    for name, text in files.items():
        lt.write_file(d, name, text)
    port = lt.free_port()
    proc = start(d, [PY, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port),
                     "--log-level", "warning", "asgi:app"])
    return d, proc, port


@lt.test
def uvicorn_fastapi_thread_pool_route():
    lt.need_root()
    d, proc, port = start_uvicorn({"asgi.py": ASGI})

    def pool(execs, pids):
        assert set(pids) == {proc.pid}
        assert all(e["tid"] != proc.pid for e in execs)   # FastAPI's thread pool

    check_server(d, proc, port, pool)


@lt.test
def uvicorn_fastapi_async_route():
    """an async def route awaiting the coroutine predict: each request is
    one execution, its awaits stitched, while requests interleave on the
    event loop's thread"""
    lt.need_root()
    d, proc, port = start_uvicorn({"amodel.py": AMODEL, "asgi.py": ASGI_ASYNC})

    def loop(execs, pids):
        assert set(pids) == {proc.pid}
        assert all(e["tid"] == proc.pid for e in execs)   # the event loop's thread
        # suspended for the awaits: ran less than it lasted
        assert all(0 < e["root"]["run_ns"] < e["dur_ns"] for e in execs), execs[0]
        # requests in flight together: some execution starts before another ends
        spans = sorted((e["start_ns"], e["start_ns"] + e["dur_ns"]) for e in execs)
        assert any(b[0] < a[1] for a, b in zip(spans, spans[1:])), spans[:6]

    check_server(d, proc, port, loop)


if __name__ == "__main__":
    lt.main()
