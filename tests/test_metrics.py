"""record --metrics, --alert-json and the --alert-exec queue (issue 21):
counters in Prometheus' text format that promtool accepts and a real
Prometheus server scrapes; a server that binds only the address given,
answers GET /metrics and nothing else, and that a slow or hostile client
cannot use to stall recording; JSON alerts; alert commands run from a
bounded queue, drops counted."""
import contextlib
import datetime
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
import urllib.error
import urllib.request

import lt

PROM = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"

# handle(i) once per ITER, then, when all ran, a "done" file, then idle
# until the test makes a "stop" file (so the recorder can be scraped
# after the last execution). check(i) % 3 == 2 is what the rule matches;
# secret() returns a value that must never reach the metrics.
TARGET = """import os, sys, time
d, n, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
def secret():
    return "s3cret-%d" % 42
def check(x):
    return x % 3
def handle(i):
    secret()
    return check(i)
time.sleep(0.5)
for i in range(n):
    handle(i)
    if pause:
        time.sleep(pause)
open(os.path.join(d, "done"), "w").close()
deadline = time.time() + 300
while not os.path.exists(os.path.join(d, "stop")) and time.time() < deadline:
    time.sleep(0.05)
"""
RULES = {"format": 1, "rules": [{"observation": "returns", "key": "check", "value": "int:2",
                                 "key_kind": "name"}]}


def setup(d):
    script = lt.write_file(d, "target.py", TARGET)
    rules = os.path.join(d, "rules.json")
    with open(rules, "w") as f:
        json.dump(RULES, f)
    return script, rules


def wait_for(path, timeout=120):
    end = time.time() + timeout
    while not os.path.exists(path):
        assert time.time() < end, "timed out waiting for " + path
        time.sleep(0.05)


class Recording:
    """leaktrace record ... -- python target.py d n pause in the background;
    .port is the metrics port it printed"""

    def __init__(self, d, n, pause, *args):
        self.d = d
        script = os.path.join(d, "target.py")
        self.p = subprocess.Popen([lt.LEAKTRACE, "record"] + [str(a) for a in args] +
                                  ["--", lt.PY, script, d, str(n), str(pause)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.p.stderr.readline()
        m = re.search(r"metrics at http://[^ ]*:(\d+)/metrics", line)
        if not m:
            self.p.kill()
            raise AssertionError("no metrics address: %r %s" % (line, self.p.communicate()[1]))
        self.port = int(m.group(1))

    def finish(self, timeout=120):
        """stop the target, wait for the recorder; (stdout, stderr)"""
        open(os.path.join(self.d, "stop"), "w").close()
        out, err = self.p.communicate(timeout=timeout)
        assert self.p.returncode == 0, "leaktrace exited %d: %s" % (self.p.returncode, err[-2000:])
        return out, err

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.communicate()


@contextlib.contextmanager
def recording(d, n, pause, *args):
    r = Recording(d, n, pause, *args)
    try:
        yield r
    finally:
        open(os.path.join(d, "stop"), "w").close()
        try:
            r.p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pass
        r.kill()


def scrape(port, timeout=30):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=timeout) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return r.read().decode()


def samples(text):
    """{'name{labels}': value} of an exposition text"""
    out = {}
    for l in text.splitlines():
        if l and not l.startswith("#"):
            k, v = l.rsplit(" ", 1)
            out[k] = float(v)
    return out


def caught_up(port, n, timeout=60):
    """the samples once the consumer has written n executions (they all end
    before "done" is written, but the consumer may still be behind)"""
    end = time.time() + timeout
    s = samples(scrape(port))
    while s["leaktrace_executions_total"] < n and time.time() < end:
        time.sleep(0.2)
        s = samples(scrape(port))
    assert s["leaktrace_executions_total"] == n, s
    return s


def raw(port, data, timeout=30):
    """send data as is, return all the server answers until it closes"""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            try:
                b = s.recv(65536)
            except ConnectionResetError:
                break
            if not b:
                break
            got += b
        return got


def lines(path):
    with open(path) as f:
        return [json.loads(l) for l in f]


@lt.test
def metrics_checked_by_promtool_and_scraped_by_prometheus():
    lt.need_root()
    d = lt.tmpdir()
    script, rules = setup(d)
    trace = os.path.join(d, "t.jsonl")
    with recording(d, 30, 0.01, "--root", "handle", "--rules", rules, "-o", trace,
                   "--metrics", "127.0.0.1:0") as rec:
        wait_for(os.path.join(d, "done"))
        text = scrape(rec.port)
        p = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=60)
        assert p.returncode == 0, p.stdout + p.stderr
        s = caught_up(rec.port, 30)
        assert s["leaktrace_calls_total"] == 90, s		# handle, secret, check
        assert s['leaktrace_alerts_total{rule="0",observation="returns",key="check"}'] == 10, s
        assert s["leaktrace_lost_events_total"] == 0
        proc = [k for k in s if k.startswith("leaktrace_process_executions_total{")]
        assert len(proc) == 1 and 'comm="python3.11"' in proc[0], proc
        pid = int(re.search(r'pid="(\d+)"', proc[0]).group(1))
        with open("/proc/%d/status" % pid) as f:	# the target: our recorder's child
            assert "PPid:\t%d\n" % rec.p.pid in f.read()
        # names and counts only: no traced value, no command line
        assert "s3cret" not in text and "int:2" not in text and "target.py" not in text

        # a Prometheus server of its own on loopback, scraping every second
        prom_dir = os.path.join(d, "prom")
        os.makedirs(prom_dir)
        cfg = lt.write_file(prom_dir, "prometheus.yml",
                            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                            "scrape_configs:\n  - job_name: leaktrace\n"
                            "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % rec.port)
        web = lt.free_port()
        prom = subprocess.Popen([PROM, "--config.file=" + cfg,
                                 "--storage.tsdb.path=" + os.path.join(prom_dir, "data"),
                                 "--web.listen-address=127.0.0.1:%d" % web],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            url = ("http://127.0.0.1:%d/api/v1/query?query=leaktrace_calls_total" % web)
            end, got, last = time.time() + 180, None, None
            while time.time() < end:
                assert prom.poll() is None, "prometheus exited: " + prom.communicate()[1][-2000:]
                try:
                    with urllib.request.urlopen(url, timeout=10) as r:
                        last = json.loads(r.read())
                    res = last["data"]["result"]
                    if res and float(res[0]["value"][1]) > 0:
                        got = float(res[0]["value"][1])
                        break
                except (urllib.error.URLError, ConnectionError, OSError):
                    pass
                time.sleep(1)
            assert got == 90, "Prometheus never saw leaktrace_calls_total > 0: %s" % last
        finally:
            prom.terminate()
            try:
                prom.wait(timeout=60)
            except subprocess.TimeoutExpired:
                prom.kill()
                prom.wait()
        rec.finish()
    shutil.rmtree(d, ignore_errors=True)


@lt.test
def only_get_metrics_is_answered():
    lt.need_root()
    d = lt.tmpdir()
    script, rules = setup(d)
    with recording(d, 5, 0, "--root", "handle", "--metrics", "127.0.0.1:0") as rec:
        wait_for(os.path.join(d, "done"))
        caught_up(rec.port, 5)
        cases = [
            (b"\x00\x01\x02garbage\r\n\r\n", b"HTTP/1.1 400 "),
            (b"\xff\xfe GET /metrics HTTP/1.1\r\n\r\n", b"HTTP/1.1 400 "),
            (b"GET /metrics HTTP/9.9\r\n\r\n", b"HTTP/1.1 400 "),
            (b"GET /metrics HTTP/1.1\r\nno colon\r\n\r\n", b"HTTP/1.1 400 "),
            (b"POST /metrics HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi", b"HTTP/1.1 405 "),
            (b"HEAD /metrics HTTP/1.1\r\n\r\n", b"HTTP/1.1 405 "),
            (b"GET / HTTP/1.1\r\n\r\n", b"HTTP/1.1 404 "),
            (b"GET /metrics?x=1 HTTP/1.1\r\n\r\n", b"HTTP/1.1 404 "),
            (b"GET /../../etc/passwd HTTP/1.1\r\n\r\n", b"HTTP/1.1 404 "),
            (b"GET /metrics HTTP/1.1\r\nX-A: " + b"a" * 8000 + b"\r\n\r\n", b"HTTP/1.1 431 "),
            (os.urandom(3000).replace(b"\n", b"") + b"\r\n\r\n", b"HTTP/1.1 400 "),
        ]
        for req, want in cases:
            got = raw(rec.port, req)
            assert got.startswith(want), (req[:60], got[:200])
            assert b"leaktrace_" not in got
        ok = raw(rec.port, b"GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n")
        assert ok.startswith(b"HTTP/1.1 200 OK\r\n") and b"leaktrace_executions_total 5" in ok, ok[:500]
        s = samples(scrape(rec.port))
        assert s["leaktrace_metrics_bad_requests_total"] == len(cases), s
        rec.finish()


@lt.test
def slow_clients_do_not_stall_recording():
    """a slow-loris: many connections that send a byte now and then, and
    some that send nothing, while the target runs 300 executions; every
    execution is recorded, real scrapes are answered meanwhile, and the
    server closes the slow connections after its timeout"""
    lt.need_root()
    d = lt.tmpdir()
    script, rules = setup(d)
    trace = os.path.join(d, "t.jsonl")
    closed = []

    def loris(port, silent):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
                msg = b"GET /metrics HTTP/1.1\r\nX-Slow: " + b"a" * 100
                t0 = time.time()
                # until the server closes (a send fails): it must, within
                # its timeout, long before the 25 s this would take
                for b in ([] if silent else msg):
                    s.send(bytes([b]))
                    time.sleep(0.2)
                s.settimeout(60)
                try:
                    got = s.recv(100)
                except (ConnectionResetError, socket.timeout):
                    got = b""
                closed.append((time.time() - t0, got))
        except (BrokenPipeError, ConnectionResetError):
            closed.append((0, b"reset"))

    with recording(d, 300, 0.01, "--root", "handle", "-o", trace,
                   "--metrics", "127.0.0.1:0") as rec:
        ts = [threading.Thread(target=loris, args=(rec.port, i % 2 == 0)) for i in range(24)]
        for t in ts:
            t.start()
        answered = 0
        try:
            while not os.path.exists(os.path.join(d, "done")):
                try:
                    if "leaktrace_calls_total" in scrape(rec.port, timeout=20):
                        answered += 1
                except OSError:
                    pass
                time.sleep(0.3)
        finally:
            for t in ts:
                t.join(timeout=120)
        assert not any(t.is_alive() for t in ts), "a slow connection was never closed"
        out, err = rec.finish()
    assert answered > 0, "no scrape answered while slow clients were connected"
    # every slow connection was closed by the server without an answer
    assert len(closed) == 24 and all(got in (b"", b"reset") for _, got in closed), closed
    ls = lines(trace)
    ex = [l for l in ls if l["type"] == "exec"]
    assert len(ex) == 300 and all(e["complete"] for e in ex), (len(ex), ls[-1])
    assert ls[-1]["type"] == "stats" and ls[-1]["lost_events"] == 0


@lt.test
def taken_port_and_bad_addresses_exit_2_before_attaching():
    lt.need_root()
    d = lt.tmpdir()
    marker = os.path.join(d, "ran")
    cmd = ["--", lt.PY, "-c", "open(%r, 'w').close()" % marker]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        p = lt.leaktrace("record", "--root", "f", "--metrics", "127.0.0.1:%d" % port, *cmd,
                         check=False, timeout=120)
    assert p.returncode == 2 and "cannot listen" in p.stderr and str(port) in p.stderr, p.stderr
    assert not os.path.exists(marker), "the command ran although the metrics port was taken"
    for bad, why in [("9100", "ADDR:PORT"), ("localhost:9100", "numeric"),
                     ("127.0.0.1:70000", "port"), ("[::1:9100", "IPv6"), (":9100", "ADDR:PORT")]:
        p = lt.leaktrace("record", "--root", "f", "--metrics", bad, *cmd, check=False, timeout=120)
        assert p.returncode == 2 and why in p.stderr, (bad, p.stderr)
        assert p.stderr.count("\n") <= 2, p.stderr
    assert not os.path.exists(marker)
    p = lt.leaktrace("record", "--root", "f", "--alert-json", "-", *cmd, check=False)
    assert p.returncode == 2 and "--alert-json goes with --rules" in p.stderr, p.stderr


@lt.test
def alerts_as_json_lines_and_queued_commands():
    lt.need_root()
    d = lt.tmpdir()
    script, rules = setup(d)
    js, log = os.path.join(d, "alerts.jsonl"), os.path.join(d, "exec.log")
    with recording(d, 7, 0, "--root", "handle", "--rules", rules, "--alert-json", js,
                   "--alert-exec", 'printf "%%s\\n" "$LEAKTRACE_ALERT_JSON" >> %s' % log,
                   "--metrics", "127.0.0.1:0", "-o", os.path.join(d, "t.jsonl")) as rec:
        wait_for(os.path.join(d, "done"))
        # each of the recorder's threads says what it is (ps -L, top -H)
        names = sorted(open("/proc/%d/task/%s/comm" % (rec.p.pid, t)).read().strip()
                       for t in os.listdir("/proc/%d/task" % rec.p.pid))
        assert names == ["leaktrace", "lt-alerts", "lt-metrics", "lt-writer"], names
        out, err = rec.finish()
    text = [l for l in out.splitlines() if l.startswith("ALERT ")]
    assert len(text) == 2, out			# the ALERT lines stay
    objs = lines(js)
    assert [o["exec"] for o in objs] == [2, 5], objs
    # alerts carry values: the file is created 0600 whatever the umask
    assert stat.S_IMODE(os.stat(js).st_mode) == 0o600, oct(os.stat(js).st_mode)
    for o in objs:
        assert o["type"] == "alert" and o["rule"] == 0 and o["observation"] == "returns"
        assert o["key"] == "check" and o["value"] == "int:2" and o["complete"] is True
        assert o["pid"] > 0 and "container" in o
        assert o["time"].endswith("Z")
        t = datetime.datetime.fromisoformat(o["time"][:-1] + "+00:00")
        assert abs((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds()) < 600
    # every queued command ran before the recorder ended
    assert lines(log) == objs
    # --alert-json -: the objects replace the ALERT lines on stdout
    d2 = lt.tmpdir()
    setup(d2)
    with recording(d2, 7, 0, "--root", "handle", "--rules", rules, "--alert-json", "-",
                   "--metrics", "127.0.0.1:0") as rec:
        wait_for(os.path.join(d2, "done"))
        out, err = rec.finish()
    assert not [l for l in out.splitlines() if l.startswith("ALERT")], out
    objs = [json.loads(l) for l in out.splitlines() if l.startswith('{"type":"alert"')]
    assert [o["exec"] for o in objs] == [2, 5], out


@lt.test
def alert_exec_queue_drops_are_counted():
    """400 alerts at once, each command slower than the alerts come: the
    consumer never waits (all 400 executions recorded), the queue takes 64
    at a time, the rest are dropped and counted the same in the metrics
    and in the summary"""
    lt.need_root()
    d = lt.tmpdir()
    script, rules = setup(d)
    rules_all = os.path.join(d, "all.json")
    with open(rules_all, "w") as f:
        json.dump({"format": 1, "rules": [{"observation": "calls", "key": "check", "value": "1",
                                           "key_kind": "name"}]}, f)
    log, trace = os.path.join(d, "exec.log"), os.path.join(d, "t.jsonl")
    with recording(d, 400, 0, "--root", "handle", "--rules", rules_all, "-o", trace,
                   "--alert-exec", "echo x >> %s; sleep 0.02" % log,
                   "--metrics", "127.0.0.1:0") as rec:
        wait_for(os.path.join(d, "done"))
        end = time.time() + 120
        while True:
            s = samples(scrape(rec.port))
            runs, dropped = s["leaktrace_alert_exec_runs_total"], s["leaktrace_alert_exec_dropped_total"]
            if runs + dropped == 400 or time.time() > end:
                break
            time.sleep(0.5)
        out, err = rec.finish()
    assert runs + dropped == 400 and dropped > 0 and runs >= 64, (runs, dropped)
    m = re.search(r"--alert-exec: (\d+) of (\d+) alerts dropped", err)
    assert m and int(m.group(1)) == dropped and int(m.group(2)) == 400, err
    with open(log) as f:
        assert len(f.readlines()) == runs
    ex = [l for l in lines(trace) if l["type"] == "exec"]
    assert len(ex) == 400


BUSY = """import time
def check(x):
    return x % 3
def handle(i):
    return check(i)
i = 0
while True:
    handle(i)
    i += 1
    time.sleep(0.02)
"""


@contextlib.contextmanager
def busy(d):
    p = subprocess.Popen([lt.PY, lt.write_file(d, "busy.py", BUSY)])
    try:
        time.sleep(0.3)
        yield p
    finally:
        p.kill()
        p.wait()


def metrics_port(log):
    return int(re.search(r"metrics at http://127\.0\.0\.1:(\d+)/metrics", log).group(1))


@lt.test
def live_view_counts_calls():
    """-p without --root, -o or --rules builds no executions: the calls
    the live view counts are what the metrics count"""
    lt.need_root()
    d = lt.tmpdir()
    with busy(d) as t:
        lp = lt.start_recording("-p", t.pid, "--metrics", "127.0.0.1:0")
        try:
            port = metrics_port(lp.attach_log)
            end, s = time.time() + 60, {}
            while time.time() < end:
                s = samples(scrape(port))
                if s["leaktrace_calls_total"] >= 10:
                    break
                time.sleep(0.3)
            assert s["leaktrace_calls_total"] >= 10 and s["leaktrace_executions_total"] == 0, s
        finally:
            lp.send_signal(2)
            lp.communicate(timeout=60)
    assert lp.returncode == 0


@lt.test
def alert_json_reopened_on_sighup():
    """log rotation: the file is renamed, SIGHUP, alerts go on in a new file
    of the same name, none lost in between"""
    lt.need_root()
    d = lt.tmpdir()
    script, rules = setup(d)
    js = os.path.join(d, "alerts.jsonl")

    def count(path):
        try:
            with open(path) as f:
                return sum(1 for _ in f)
        except FileNotFoundError:
            return 0

    def wait_lines(path, n):
        end = time.time() + 60
        while count(path) < n:
            assert time.time() < end, "no alerts in " + path
            time.sleep(0.1)

    with busy(d) as t:
        lp = lt.start_recording("-p", t.pid, "--root", "handle", "--rules", rules,
                                "--alert-json", js, "-o", os.path.join(d, "t.jsonl"))
        try:
            wait_lines(js, 3)
            os.rename(js, js + ".1")
            lp.send_signal(signal.SIGHUP)
            wait_lines(js, 3)
        finally:
            lp.send_signal(2)
            out, err = lp.communicate(timeout=60)
    assert lp.returncode == 0, err
    old, new = lines(js + ".1"), lines(js)
    ids = [o["exec"] for o in old + new]
    assert len(old) >= 3 and len(new) >= 3
    # handle(i) is execution i (counted from attach), check(i) % 3 == 2 on
    # every third: consecutive alerts are 3 executions apart
    assert all(b - a == 3 for a, b in zip(ids, ids[1:])), ids


@lt.test
def floor_with_metrics_is_refused():
    p = lt.leaktrace("record", "--floor", "--metrics", "127.0.0.1:0", "--", lt.PY, "-c", "0",
                     check=False)
    assert p.returncode == 2 and "--floor" in p.stderr and "--metrics" in p.stderr, p.stderr


@lt.test
def binds_only_the_address_given():
    """127.0.0.2 is loopback too: a server bound there is not reachable on
    127.0.0.1 (no wildcard); the same for [::1] against 127.0.0.1"""
    lt.need_root()
    for addr, other in [("127.0.0.2", ("127.0.0.1", socket.AF_INET)),
                        ("[::1]", ("127.0.0.1", socket.AF_INET))]:
        d = lt.tmpdir()
        setup(d)
        with recording(d, 3, 0, "--root", "handle", "--metrics", addr + ":0") as rec:
            wait_for(os.path.join(d, "done"))
            url = "http://%s:%d/metrics" % (addr, rec.port)
            with urllib.request.urlopen(url, timeout=30) as r:
                assert r.status == 200 and b"leaktrace_executions_total" in r.read()
            try:
                socket.create_connection((other[0], rec.port), timeout=30).close()
                reached = True
            except ConnectionRefusedError:
                reached = False
            assert not reached, "%s:%d answered a server bound to %s" % (other[0], rec.port, addr)
            rec.finish()


def cgroup2_root():
    with open("/proc/mounts") as f:
        for l in f:
            dev, mnt, fstype = l.split()[:3]
            if fstype == "cgroup2":
                return mnt
    return None


@lt.test
def container_labels_from_the_cgroup():
    """a target in a cgroup named like a container runtime's scope
    (docker-<64 hex>.scope): its series carry the cgroup and the id, and
    its JSON alerts the cgroup"""
    lt.need_root()
    root = cgroup2_root()
    if not root:
        raise lt.Skip("no cgroup2 hierarchy mounted")
    d = lt.tmpdir()
    script, rules = setup(d)
    cid = os.urandom(32).hex()
    name = "docker-%s.scope" % cid
    cg = os.path.join(root, name)
    os.mkdir(cg)
    js = os.path.join(d, "alerts.jsonl")
    try:
        with busy(d) as t:
            with open(os.path.join(cg, "cgroup.procs"), "w") as f:
                f.write(str(t.pid))
            lp = lt.start_recording("-p", t.pid, "--root", "handle", "--rules", rules,
                                    "--alert-json", js, "-o", os.path.join(d, "t.jsonl"),
                                    "--metrics", "127.0.0.1:0")
            try:
                port = metrics_port(lp.attach_log)
                end, s = time.time() + 60, {}
                while time.time() < end:
                    s = samples(scrape(port))
                    if s["leaktrace_executions_total"] >= 3 and os.path.exists(js):
                        break
                    time.sleep(0.3)
            finally:
                lp.send_signal(2)
                out, err = lp.communicate(timeout=60)
        assert lp.returncode == 0, err
    finally:
        os.rmdir(cg)
    want = ('leaktrace_process_executions_total{pid="%d",comm="python3.11",cgroup="/%s",'
            'container="%s"}' % (t.pid, name, cid))
    assert want in s and s[want] >= 3, (want, s)
    objs = lines(js)
    assert objs and all(o["container"] == "/" + name for o in objs), objs


if __name__ == "__main__":
    lt.main()
