#!/usr/bin/python3.11
"""Soak: leaktrace attached to a threaded HTTP server under loopback load
for --minutes (default 10), the trace rotated with SIGHUP every --rotate-s
(default 60 s, as logrotate would: rename, then SIGHUP). Samples the
recorder's RSS and open descriptors every 5 s. At the end checks what a
user would: no event lost, no incomplete execution, every request the
clients got an answer for is exactly one execution across the rotated
files, RSS and fds flat. Prints a markdown table and a summary line; exits
1 if a check fails. Needs root. Not part of `make test` (it runs minutes).

    sudo bench/soak.py --minutes 2
"""
import argparse
import glob
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import http.client

HERE = os.path.dirname(os.path.abspath(__file__))
LT = os.path.join(os.path.dirname(HERE), ".output", "leaktrace")
PY = "/usr/bin/python3.11"

SERVER = r'''
import http.server, json, sys, threading
def parse(path):
    return int(path.split("=", 1)[1])
def work(n):
    return sum(i * i for i in range(n % 50)) % 7
def handle_request(rid):
    w = work(rid)
    return "%d %d" % (rid, w)
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def do_GET(self):
        body = handle_request(parse(self.path)).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
print(srv.server_address[1], flush=True)
srv.serve_forever()
'''


def proc_rss_fds(pid):
    with open("/proc/%d/status" % pid) as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    return rss, len(os.listdir("/proc/%d/fd" % pid))


def client(port, ids, lock, stop, rate, errors):
    """one request per connection (a new server thread each), ids from a
    shared counter; the answered ids are kept"""
    gap = 1.0 / rate
    nxt = time.monotonic()
    while not stop.is_set():
        with lock:
            rid = ids["next"]
            ids["next"] += 1
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", "/r?id=%d" % rid)
            body = c.getresponse().read().decode()
            c.close()
            if body.split()[0] != str(rid):
                errors.append("id %d answered %r" % (rid, body))
            else:
                with lock:
                    ids["ok"].append(rid)
        except OSError as e:
            errors.append("id %d: %s" % (rid, e))
        nxt += gap
        time.sleep(max(0, nxt - time.monotonic()))


def read_trace(path):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rt") as f:
        return [json.loads(l) for l in f]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--rotate-s", type=float, default=60)
    ap.add_argument("--rate", type=float, default=100, help="requests/s per client")
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--gz", action="store_true", help="write .jsonl.gz")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()
    if os.geteuid():
        sys.exit("soak: needs root")
    work = tempfile.mkdtemp(prefix="lt-soak-")
    with open(os.path.join(work, "server.py"), "w") as f:
        f.write(SERVER)
    srv = subprocess.Popen([PY, os.path.join(work, "server.py")], stdout=subprocess.PIPE, text=True)
    port = int(srv.stdout.readline())
    out = os.path.join(work, "soak.jsonl" + (".gz" if a.gz else ""))
    rec = subprocess.Popen([LT, "record", "-p", str(srv.pid), "--root", "handle_request", "-o", out],
                           stderr=subprocess.PIPE, text=True)
    err = ""
    while "tracing pid" not in err:
        line = rec.stderr.readline()
        if not line:
            sys.exit("soak: leaktrace ended early: " + err)
        err += line
    ids, lock, stop, errors = {"next": 0, "ok": []}, threading.Lock(), threading.Event(), []
    cl = [threading.Thread(target=client, args=(port, ids, lock, stop, a.rate, errors))
          for _ in range(a.clients)]
    for t in cl:
        t.start()
    t0 = time.monotonic()
    samples, rotations, last_rot = [], 0, t0
    print("| time (s) | requests answered | leaktrace RSS (KiB) | leaktrace fds | rotations |")
    print("|---|---|---|---|---|")
    try:
        while time.monotonic() - t0 < a.minutes * 60:
            time.sleep(5)
            now = time.monotonic()
            if now - last_rot >= a.rotate_s:
                rotations += 1
                os.rename(out, "%s.%d" % (out, rotations))
                rec.send_signal(signal.SIGHUP)
                last_rot = now
            rss, fds = proc_rss_fds(rec.pid)
            samples.append((now - t0, rss, fds))
            if len(samples) % 6 == 0:
                print("| %.0f | %d | %d | %d | %d |" % (now - t0, len(ids["ok"]), rss, fds, rotations),
                      flush=True)
    finally:
        stop.set()
        for t in cl:
            t.join()
        time.sleep(1)  # the last answers' executions reach the recorder
        rec.send_signal(signal.SIGINT)
        _, rest = rec.communicate(timeout=120)
        srv.kill()
        srv.wait()
    files = sorted(glob.glob(out + ".*"), key=lambda p: int(p.rsplit(".", 1)[1])) + [out]
    execs, lost, incomplete, trailer_execs = [], 0, 0, 0
    for p in files:
        ls = read_trace(p)
        assert ls[0]["type"] == "header" and ls[-1]["type"] == "stats", p
        ex = [l for l in ls if l["type"] == "exec"]
        execs += ex
        lost += ls[-1]["lost_events"]
        incomplete += ls[-1]["incomplete_execs"]
        trailer_execs += ls[-1]["execs"]
    got = {}
    for e in execs:
        rid = int(e["root"]["ret"]["value"].split()[0])
        got[rid] = got.get(rid, 0) + 1
    ok = ids["ok"]
    missing = [r for r in ok if r not in got]
    twice = [r for r, n in got.items() if n > 1]
    # flat: the last minute's samples against the first minute's (after
    # start-up), as the largest value of each
    first = [s for s in samples if 5 <= s[0] <= 65] or samples[:1]
    last = [s for s in samples if s[0] >= samples[-1][0] - 60] or samples[-1:]
    rss0, rss1 = max(s[1] for s in first), max(s[1] for s in last)
    fd0, fd1 = max(s[2] for s in first), max(s[2] for s in last)
    res = {"minutes": a.minutes, "rotations": rotations, "files": len(files),
           "requests_answered": len(ok), "client_errors": len(errors), "executions": len(execs),
           "trailer_execs": trailer_execs, "lost_events": lost, "incomplete_execs": incomplete,
           "missing": len(missing), "duplicated": len(twice),
           "rss_kib_first_min": rss0, "rss_kib_last_min": rss1, "fds_first_min": fd0,
           "fds_last_min": fd1, "recorder_exit": rec.returncode}
    print("soak:", json.dumps(res))
    checks = [rec.returncode == 0, lost == 0, incomplete == 0, not missing, not twice,
              len(execs) == trailer_execs, fd1 <= fd0, rss1 <= rss0 * 1.2 + 1024]
    if errors:
        print("client errors (first 5):", errors[:5])
    if a.keep:
        print("work directory:", work)
    else:
        shutil.rmtree(work)
    if not all(checks):
        print("soak: FAILED", checks, rest[-2000:])
        sys.exit(1)
    print("soak: ok")


if __name__ == "__main__":
    main()
