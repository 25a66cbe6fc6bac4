"""Values exact on Debian's 3.11 (return sites by default) and a sites build (pyenv 3.12),
and Debian unstable's 3.14 (sites, tagged ints), compared with the
in-process oracle: ints of any width (whole up to
LT_BIGINT_DIGITS 30-bit digits, beyond that the FORMAT.md §2 marker) with
the execution complete, and --no-values: complete executions whose values
carry their real type names (issue 18)."""
import json
import os
import shutil
import subprocess
import time

import lt
import treecmp

HERE = os.path.dirname(os.path.abspath(__file__))
WL = os.path.join(HERE, "workloads", "bigvalues.py")
N = 3
PY312 = "/root/.pyenv/versions/3.12.1/bin/python3.12"


def traces(py, d, *opts):
    rec, ora = os.path.join(d, "r.jsonl"), os.path.join(d, "o.jsonl")
    lt.leaktrace("record", "--root", "run", *opts, "-o", rec, "--", py, WL, str(N))
    lt.run([py, os.path.join(HERE, "oracle.py"), "--root", "run", "-o", ora, WL, str(N)])
    rec_l = [json.loads(l) for l in open(rec)]
    return rec_l, treecmp.load(ora)


def check_values(lines, ora):
    ex = [l for l in lines if l["type"] == "exec"]
    st = lines[-1]
    assert len(ex) == N and all(e["complete"] for e in ex), [e["complete"] for e in ex]
    assert st["incomplete_execs"] == 0 and "read_failures" not in st, st
    for e, o in zip(ex, ora):
        for c, oc in zip(e["root"]["calls"], o["root"]["calls"]):
            assert c["fn"] == oc["fn"] and c["ret"] == oc["ret"], (c["fn"], str(c["ret"])[:200],
                                                                  str(oc["ret"])[:200])
    assert ex[0]["root"]["calls"][0]["ret"]["value"] == str(10 ** 1000)
    cut = [c["ret"] for c in ex[0]["root"]["calls"] if c["fn"] == "beyond"]
    assert cut[0]["truncated"] and cut[0]["value"].startswith("<int of 20001 bits #"), cut


def check_no_values(lines, ora, rec):
    ex = [l for l in lines if l["type"] == "exec"]
    assert len(ex) == N and all(e["complete"] for e in ex), [e["complete"] for e in ex]
    assert lines[-1]["incomplete_execs"] == 0 and "read_failures" not in lines[-1], lines[-1]
    for e, o in zip(ex, ora):
        assert e["root"]["ret"] == {"type": "int"}
        for c, oc in zip(e["root"]["calls"], o["root"]["calls"]):
            want = {"type": oc["ret"]["type"]}
            if oc["ret"]["type"] == "bool":     # bool keeps its value (FORMAT.md)
                want["value"] = oc["ret"]["value"]
            assert c["fn"] == oc["fn"] and c["ret"] == want, (c["fn"], c["ret"], want)
    # analyze takes such traces: complete executions on both sides
    p = lt.leaktrace("analyze", "-q", rec, rec, check=False)
    assert p.returncode == 0, p.stderr


def values_exact(py):
    lt.need_root()
    lines, ora = traces(py, lt.tmpdir())
    check_values(lines, ora)


def no_values_named(py):
    lt.need_root()
    d = lt.tmpdir()
    lines, ora = traces(py, d, "--no-values")
    check_no_values(lines, ora, os.path.join(d, "r.jsonl"))


SID = os.path.join(os.environ.get("LEAKTRACE_ROOTS", "/var/tmp/leaktrace-roots"), "sid")
WRAP = """import os, runpy, sys, time
here = os.path.dirname(os.path.abspath(__file__))
while not os.path.exists(os.path.join(here, "go")):
    time.sleep(0.02)
sys.argv = [os.path.join(here, "bigvalues.py"), "%d"]
runpy.run_path(sys.argv[0], run_name="__main__")
""" % N


def sid_case(py, check, *opts):
    """Debian unstable's python (tools/mkroots.sh root, sites, 3.14+: tagged
    ints) in its root, traced by host pid; the oracle runs in the root too"""
    lt.need_root()
    if not os.path.exists(os.path.join(SID, "usr/bin", py)):
        raise lt.Skip("no %s in %s (tools/mkroots.sh sid)" % (py, SID))
    inner = "/tmp/lt-bv-%d-%s" % (os.getpid(), py)
    host = SID + inner
    shutil.rmtree(host, ignore_errors=True)
    os.makedirs(host)
    c = lp = None
    try:
        shutil.copy2(os.path.join(HERE, "oracle.py"), host)
        shutil.copy2(WL, host)
        lt.write_file(host, "wrap.py", WRAP)
        cmd = ["unshare", "--pid", "--mount", "--fork", "--kill-child", "--mount-proc",
               "--root=" + SID, "/usr/bin/" + py]
        open(os.path.join(host, "go"), "w").close()
        lt.run(cmd + [inner + "/oracle.py", "--root", "run", "-o", inner + "/o.jsonl",
                      inner + "/wrap.py"], timeout=300)
        os.unlink(os.path.join(host, "go"))
        c = subprocess.Popen(cmd + [inner + "/wrap.py"])
        rec = os.path.join(host, "r.jsonl")
        lp = lt.start_recording("-p", lt.child_pid(c.pid), "--root", "run", *opts, "-o", rec)
        open(os.path.join(host, "go"), "w").close()
        assert c.wait(timeout=300) == 0
        err = lp.communicate(timeout=60)[1]
        assert lp.returncode == 0, err
        with open(rec) as f:
            lines = [json.loads(l) for l in f]
        ora = treecmp.load(os.path.join(host, "o.jsonl"))
        if opts:
            check(lines, ora, rec)
        else:
            check(lines, ora)
    finally:
        for p in (c, lp):
            if p and p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(host, ignore_errors=True)


def need(py):
    if not os.path.exists(py):
        raise lt.Skip("no %s here" % py)
    return py


@lt.test
def ints_of_any_width_311():
    values_exact(lt.PY)


@lt.test
def ints_of_any_width_312_sites():
    values_exact(need(PY312))


@lt.test
def no_values_keeps_type_names_311():
    no_values_named(lt.PY)


@lt.test
def no_values_keeps_type_names_312_sites():
    no_values_named(need(PY312))


@lt.test
def ints_of_any_width_sid_314():
    sid_case("python3.14", check_values)


@lt.test
def no_values_keeps_type_names_sid_314():
    sid_case("python3.14", check_no_values, "--no-values")


lt.main()
