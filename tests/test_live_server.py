"""Live detection on a real HTTP inference server: rules learned offline
from recorded clean and adversarial requests, then `record -p SERVER
--rules` prints an ALERT for exactly the adversarial requests sent by a
client on loopback."""
import json
import os
import subprocess
import time
import urllib.request

import lt

SERVER = r'''
import http.server, sys, urllib.parse
from PIL import Image

def predict(path):
    with Image.open(path) as im:
        im = im.convert("L").resize((8, 8))
        mean = sum(im.getdata()) / 64
    return "bright" if mean > 127 else "dark"

class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        body = predict(q["img"][0]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass

srv = http.server.HTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
'''


def make_images(d):
    """clean: PIL's default JFIF density (1); adversarial: written like
    matplotlib does, with a 100 dpi density"""
    lt.run([lt.PY, "-c", r'''
import sys, random
from PIL import Image
random.seed(7)
d = sys.argv[1]
for i in range(12):
    im = Image.new("RGB", (32, 32), tuple(random.randrange(256) for _ in range(3)))
    im.save("%s/clean%d.jpg" % (d, i))
    im.save("%s/adv%d.jpg" % (d, i), dpi=(100, 100))
''', d])


def get(port, path):
    with urllib.request.urlopen("http://127.0.0.1:%d/p?img=%s" % (port, path), timeout=10) as r:
        return r.read().decode()


def start_server(d):
    script = lt.write_file(d, "server.py", SERVER)
    p = subprocess.Popen([lt.PY, script], stdout=subprocess.PIPE, text=True)
    port = int(p.stdout.readline())
    return p, port


@lt.test
def alerts_match_adversarial_requests():
    lt.need_root()
    d = lt.tmpdir()
    make_images(d)
    srv, port = start_server(d)
    try:
        # learn: record clean requests, then adversarial ones
        traces = {}
        for kind in ("clean", "adv"):
            out = os.path.join(d, kind + ".jsonl")
            lp = lt.start_recording("-p", srv.pid, "--root", "predict", "-o", out)
            for i in range(6):
                get(port, os.path.join(d, "%s%d.jpg" % (kind, i)))
            time.sleep(0.3)
            lp.send_signal(2)
            lp.communicate(timeout=30)
            assert lp.returncode == 0
            traces[kind] = out
        rules = os.path.join(d, "rules.json")
        p = lt.leaktrace("analyze", traces["clean"], traces["adv"], "--format", "json", "--rules-out", rules)
        dif = [(e["key"], e["value"]) for e in json.loads(p.stdout)["observations"]["returns"]["D_IF"]]
        assert ("i16be", "int:100") in dif, dif
        # detect live: interleaved requests, unseen images
        lp = lt.start_recording("-p", srv.pid, "--root", "predict", "--rules", rules)
        sent = []
        for i in range(6, 12):
            for kind in (("adv", "clean") if i % 2 else ("clean", "adv")):
                get(port, os.path.join(d, "%s%d.jpg" % (kind, i)))
                sent.append(kind)
        time.sleep(0.5)
        lp.send_signal(2)
        out, err = lp.communicate(timeout=30)
        assert lp.returncode == 0, err
    finally:
        srv.kill()
        srv.wait()
    alerted = sorted({int(l.split(" exec ")[1].split()[0]) for l in out.splitlines() if l.startswith("ALERT")})
    expected = [i for i, k in enumerate(sent) if k == "adv"]
    assert alerted == expected, (alerted, expected, out[-2000:])


if __name__ == "__main__":
    lt.main()
