"""Tracing a Python that runs in its own mount and pid namespaces (a
container) by its host pid: the binary is a copy inside the container's
root, found through /proc/PID/root; namespaced pids are reported."""
import glob
import json
import os
import shutil
import subprocess

import lt
import treecmp

HERE = os.path.dirname(os.path.abspath(__file__))

WRAP = """
import os, runpy, sys, time
while not os.path.exists("/app/go"):
    time.sleep(0.02)
sys.argv = ["/app/calls.py", "3"]
runpy.run_path("/app/calls.py", run_name="__main__")
"""


def make_root(d):
    """A minimal root: a copy of python3.11 and its libraries; the standard
    library is bind-mounted in by the container's start script."""
    root = os.path.join(d, "root")
    for sub in ("usr/bin", "usr/lib/python3.11", "lib64", "lib/x86_64-linux-gnu", "proc", "app", "tmp"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    shutil.copy2(lt.PY, os.path.join(root, "usr/bin/python3.11"))
    # the interpreter's libraries and those of _ctypes (the oracle uses it)
    ctypes_so = glob.glob("/usr/lib/python3.11/lib-dynload/_ctypes.*.so")
    lt.copy_into_root(root, lt.ldd_libs([lt.PY] + ctypes_so))
    shutil.copy2(os.path.join(HERE, "workloads", "calls.py"), os.path.join(root, "app/calls.py"))
    shutil.copy2(os.path.join(HERE, "oracle.py"), os.path.join(root, "app/oracle.py"))
    with open(os.path.join(root, "app/wrap.py"), "w") as f:
        f.write(WRAP)
    return root


def start_container(root, argv):
    script = ("mount --bind /usr/lib/python3.11 {r}/usr/lib/python3.11 && "
              "mount -t proc proc {r}/proc && exec chroot {r} {cmd}").format(
        r=root, cmd=" ".join(argv))
    return subprocess.Popen(["unshare", "--mount", "--pid", "--fork", "--kill-child", "sh", "-c", script],
                            stdout=subprocess.PIPE, text=True)


def host_pid_of(unshare_pid):
    """The container's pid 1 (python) seen from the host."""
    return lt.child_pid(unshare_pid, exe="python3.11", timeout=10)


@lt.test
def namespaced_python_traced_by_host_pid():
    lt.need_root()
    if not shutil.which("unshare") or not shutil.which("chroot"):
        raise lt.Skip("unshare/chroot missing")
    d = lt.tmpdir()
    root = make_root(d)
    # the reference: the oracle run inside the same kind of container
    open(os.path.join(root, "app/go"), "w").close()
    c = start_container(root, ["/usr/bin/python3.11", "/app/oracle.py", "--root", "run",
                               "-o", "/tmp/oracle.jsonl", "/app/wrap.py"])
    c.communicate(timeout=120)
    assert c.returncode == 0
    os.unlink(os.path.join(root, "app/go"))
    # the traced run
    c = start_container(root, ["/usr/bin/python3.11", "/app/wrap.py"])
    try:
        pid = host_pid_of(c.pid)
        rec = os.path.join(d, "rec.jsonl")
        lp = lt.start_recording("-v", "-p", pid, "--root", "run", "-o", rec)
        err = lp.attach_log
        open(os.path.join(root, "app/go"), "w").close()
        out, _ = c.communicate(timeout=120)
        rest = lp.communicate(timeout=60)[1]
        assert lp.returncode == 0, err + rest
    finally:
        if c.poll() is None:
            c.kill()
    assert out.split() == ["105", "110", "115"], out
    problems = treecmp.compare(rec, os.path.join(root, "tmp/oracle.jsonl"))
    assert not problems, "\n".join(problems[:5])
    ex = [json.loads(l) for l in open(rec) if '"exec"' in l]
    assert len(ex) == 5
    main = [e for e in ex if e["root"]["fn"] == "run"]
    assert main and all(e["pid"] == pid and e["nspid"] == 1 and e["nstid"] == 1 for e in main), main[0]
    threads = [e for e in ex if e["root"]["fn"] == "Thread.run"]
    assert threads and all(e["nstid"] > 1 and e["tid"] != e["nstid"] for e in threads)
    assert "pid %d is pid 1 in its own pid namespace" % pid in err, err


NS_APP = r'''
import os, sys, threading
def predict(x):
    return x + 1
while not os.path.exists(sys.argv[1]):
    threading.Event().wait(0.02)
for i in range(3):
    predict(i)
t = threading.Thread(target=predict, args=(9,))
t.start()
t.join()
'''


@lt.test
def evalframe_python_in_a_pid_namespace_carries_nstid():
    """3.8-3.10 (uprobe and uretprobe on _PyEval_EvalFrameDefault) in its
    own pid namespace: each execution names its thread as the namespace
    does, as the 3.11+ frame-start probes do"""
    lt.need_root()
    exes = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.10.*/bin/python3.10")))
    if not exes or not shutil.which("unshare"):
        raise lt.Skip("no pyenv 3.10 or no unshare")
    d = lt.tmpdir()
    app = lt.write_file(d, "app.py", NS_APP)
    go = os.path.join(d, "go")
    c = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", "--kill-child", exes[-1],
                          app, go])
    try:
        pid = lt.child_pid(c.pid)
        rec = os.path.join(d, "rec.jsonl")
        lp = lt.start_recording("-p", pid, "--root", "predict", "-o", rec)
        open(go, "w").close()
        c.wait(timeout=60)
        rest = lp.communicate(timeout=60)[1]
        assert lp.returncode == 0, lp.attach_log + rest
    finally:
        if c.poll() is None:
            c.kill()
    ex = [json.loads(l) for l in open(rec) if '"exec"' in l]
    assert [e["root"]["ret"]["value"] for e in ex] == [1, 2, 3, 10], ex
    assert all(e["pid"] == pid and e["nspid"] == 1 for e in ex), ex[0]
    assert [e["nstid"] for e in ex[:3]] == [1, 1, 1], [e.get("nstid") for e in ex]
    assert ex[3]["nstid"] > 1 and ex[3]["tid"] != ex[3]["nstid"], ex[3]


if __name__ == "__main__":
    lt.main()
