"""The static agent (`make static`, .output/static/leaktrace) in another
distribution's root: Debian unstable (tools/mkroots.sh), whose libraries are
not Debian 12's. It must need no shared library at all, run `analyze` inside
that root with the same output as the normal build on the host, and record
from the host a python3.14 that runs in that root."""
import json
import os
import shutil
import subprocess
import time

import lt

STATIC = os.path.join(lt.ROOT, ".output", "static", "leaktrace")
ROOTS = os.environ.get("LEAKTRACE_ROOTS", "/var/tmp/leaktrace-roots")
SID = os.path.join(ROOTS, "sid")

# leaf's value is the parity of the call: executions with an odd i return
# int:1 from leaf, even ones int:0 -> a real difference for analyze
LOOP = """import sys, time
def leaf(i):
    return i % 2
def tick(i):
    return leaf(i) + 1
open("/tmp/started", "w").close()
i = 0
while True:
    tick(i)
    i += 1
    time.sleep(0.005)
"""


def build():
    lt.run(["nice", "-n", "10", "make", "-s", "-C", lt.ROOT, "static"], timeout=600)
    assert os.path.exists(STATIC), "make static built no " + STATIC
    return STATIC


def need_sid(version="3.14"):
    lt.need_root()
    if not os.path.exists(os.path.join(SID, "usr/bin/python" + version)):
        raise lt.Skip("no %s/usr/bin/python%s (run tools/mkroots.sh sid)" % (SID, version))


def in_sid(files, argv, timeout=120, background=False):
    """argv run chrooted in the sid root, in new mount and pid namespaces,
    with a private tmpfs on its /tmp holding copies of files (the shared
    root is not changed)."""
    cp = " ".join("cp %s %s/tmp/ &&" % (f, SID) for f in files)
    script = ("mount -t tmpfs none {r}/tmp && {cp} mount -t proc proc {r}/proc && "
              "exec chroot {r} {cmd}").format(r=SID, cp=cp, cmd=" ".join(argv))
    cmd = ["unshare", "--mount", "--pid", "--fork", "--kill-child", "sh", "-c", script]
    if background:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


@lt.test
def static_binary_needs_no_shared_library():
    b = build()
    out = lt.run(["readelf", "-l", "-d", b]).stdout
    assert "INTERP" not in out, "has a program interpreter:\n" + out
    assert "(NEEDED)" not in out, "needs shared libraries:\n" + out
    v = lt.run([b, "--version"]).stdout
    assert v.startswith("leaktrace "), v


@lt.test
def dynamic_build_does_not_start_in_sid_but_static_does():
    need_sid()
    b = build()
    dyn = in_sid([lt.LEAKTRACE], ["/tmp/leaktrace", "--version"])
    # why the static build exists: Debian 12's libbpf1 is not in that root
    assert dyn.returncode != 0, "the dynamic build started in sid: " + dyn.stdout
    assert "libbpf" in dyn.stderr or "libelf" in dyn.stderr, dyn.stderr
    st = in_sid([b], ["/tmp/leaktrace", "--version"])
    assert st.returncode == 0 and st.stdout.startswith("leaktrace "), (st.returncode, st.stdout, st.stderr)


def sid_python_pid(unshare_pid, exe):
    """unshare -> sh -> (exec) chroot -> python, seen from the host"""
    return lt.child_pid(unshare_pid, exe=exe, timeout=20)


def split_by_parity(trace, d):
    """CLEAN: executions of tick with an even argument, ADV: odd ones
    (told apart by the value leaf returned), each with the header"""
    lines = open(trace).read().splitlines()
    head, clean, adv = lines[0], [], []
    for ln in lines[1:]:
        o = json.loads(ln)
        if o.get("type") != "exec" or not o.get("complete"):
            continue
        leaf = o["root"]["calls"][0]
        (adv if leaf["ret"]["value"] == 1 else clean).append(ln)
    assert len(clean) >= 5 and len(adv) >= 5, (len(clean), len(adv))
    paths = []
    for name, ex in (("clean.jsonl", clean), ("adv.jsonl", adv)):
        paths.append(lt.write_file(d, name, "\n".join([head] + ex) + "\n"))
    return paths


@lt.test
def static_records_sid_python_from_host_and_analyzes_inside_sid():
    need_sid("3.14")
    b = build()
    d = lt.tmpdir()
    loop = lt.write_file(d, "loop.py", LOOP)
    box = in_sid([loop], ["python3.14", "/tmp/loop.py"], background=True)
    try:
        pid = sid_python_pid(box.pid, "/usr/bin/python3.14")
        trace = os.path.join(d, "t.jsonl")
        for _ in range(200):	# its loop runs (the marker is in its /tmp)
            if os.path.exists("/proc/%d/root/tmp/started" % pid):
                break
            time.sleep(0.05)
        r = lt.run([b, "record", "-p", str(pid), "--root=tick", "--duration=3", "-o", trace], timeout=120)
        assert "tracing pid %d" % pid in r.stderr, r.stderr
    finally:
        box.kill()
        box.wait()
    hdr = json.loads(open(trace).readline())
    assert hdr["python"].startswith("3.14"), hdr
    clean, adv = split_by_parity(trace, d)
    # the normal (dynamic) build on the host, then the static one in sid
    host = lt.leaktrace("analyze", "-j", clean, adv)
    inside = in_sid([b, clean, adv], ["/tmp/leaktrace", "analyze", "-j", "/tmp/clean.jsonl", "/tmp/adv.jsonl"])
    assert inside.returncode == 0, inside.stderr
    assert inside.stdout == host.stdout, "static in sid:\n%s\nhost:\n%s" % (inside.stdout, host.stdout)
    # the fleet's map step on that node: summaries made there, analyzed there
    sums = in_sid([b, clean, adv], ["sh", "-c", "'/tmp/leaktrace summarize /tmp/clean.jsonl -o /tmp/c.ltsum && "
                                     "/tmp/leaktrace summarize /tmp/adv.jsonl -o /tmp/a.ltsum && "
                                     "/tmp/leaktrace analyze -j /tmp/c.ltsum /tmp/a.ltsum'"])
    assert sums.returncode == 0, sums.stderr
    assert sums.stdout == host.stdout, "summaries in sid:\n%s\nhost:\n%s" % (sums.stdout, host.stdout)
    res = json.loads(inside.stdout)
    vals = {(e["key"], e["value"]) for e in res["observations"]["returns"]["D_IF"]}
    assert ("leaf", "int:1") in vals and ("tick", "int:2") in vals, vals
    shutil.rmtree(d)


lt.main()
