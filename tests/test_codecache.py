"""The BPF side's cache of code objects whose strings were sent (issue 18):
a code object freed and another of the same interned qualname created at
its address, with another file and first line, is named anew (the cache's
tag is the code's identity, not its qualname pointer alone; a CPU's
cached code object is taken without a read only while no code object of
its bucket was freed, issue 20). On Debian's 3.11 (return sites by
default), a sites build (pyenv 3.12) and sid's 3.14 and 3.15, with and
without --no-durations. More live code objects than the cache holds:
names evicted are sent again when needed, and the trailer counts the
evictions."""
import json
import os

import lt

HERE = os.path.dirname(os.path.abspath(__file__))
WL = os.path.join(HERE, "workloads", "codereuse.py")
TWL = os.path.join(HERE, "workloads", "typereuse.py")
N = 40


def reused_runs(cmd, opts, wl, what):
    """N executions of run(k) in workload wl, recorded with opts (each
    complete) after checking that the workload reused addresses of what"""
    d = lt.tmpdir()
    rec = os.path.join(d, "r.jsonl")
    p = lt.leaktrace("record", "--root", "run", "-o", rec, *opts, "--", *cmd, wl, N)
    reused = int(p.stdout.split("reused")[1].split()[0])
    assert reused > N // 2, "the workload must reuse %s addresses: %s" % (what, p.stdout)
    with open(rec) as f:
        ex = [json.loads(l) for l in f if '"type":"exec"' in l]
    assert len(ex) == N and all(e["complete"] for e in ex)
    return ex


def reused_code_named_anew(py, opts=(), cmd=None, wl=WL):
    """cmd: the command prefix that runs the python (else py itself)"""
    lt.need_root()
    if not os.path.exists(py):
        raise lt.Skip("no %s here" % py)
    for e in reused_runs(cmd or [py], opts, wl, "code"):
        k = e["root"]["ret"]["value"]
        f = [c for c in e["root"]["calls"] if c["fn"] == "f"]
        assert len(f) == 1, e["root"]["calls"]
        got = (f[0]["file"], f[0]["line"], f[0]["ret"])
        assert got == ("gen%d.py" % k, k + 1, {"type": "int", "value": k}), (k, got)


@lt.test
def reused_code_address_named_anew_311():
    reused_code_named_anew(lt.PY)


@lt.test
def reused_code_address_named_anew_312_sites():
    reused_code_named_anew("/root/.pyenv/versions/3.12.1/bin/python3.12")


@lt.test
def reused_code_address_named_anew_no_durations():
    """--no-durations sends a code's strings at its returns"""
    reused_code_named_anew(lt.PY, ["--no-durations"])


def on_sid(check, wl):
    """check(py, opts, cmd, wl) on sid's 3.14 and 3.15 in its root, wl
    copied into it, with and without --no-durations"""
    sid, pys = lt.sid_pythons(["3.14", "3.15"])
    assert len(pys) == 2, pys
    with open(wl) as f:
        lt.write_file(os.path.join(sid, "tmp"), os.path.basename(wl), f.read())
    for label, cmd, opts in pys:
        for mode in ([], ["--no-durations"]):
            check(opts[1], opts + mode, cmd, "/tmp/" + os.path.basename(wl))


@lt.test
def reused_code_address_named_anew_sid():
    """3.14 and 3.15 (Debian sid's, in its root): their code_dealloc
    found from PyCode_Type as in every build"""
    on_sid(reused_code_named_anew, WL)


def types_named_anew(py, opts=(), cmd=None, wl=TWL):
    """tests/workloads/typereuse.py: every return of an instance names its
    type as it is then, a class renamed or a type at a reused address"""
    for e in reused_runs(cmd or [py], opts, wl, "type"):
        k = e["root"]["ret"]["value"]
        got = [(c["fn"], c["ret"]) for c in e["root"]["calls"]]
        assert got == [("make", {"type": "A%d" % k}), ("run.<locals>.g", {"type": "T%d" % k})], \
            (opts, k, got)


@lt.test
def renamed_and_reused_types_named_anew():
    """a type's identity (tp_name, tp_basicsize) in the CPU's cache is
    taken without a read only while no type of its bucket was freed or
    renamed: Debian's 3.11 and sid's 3.14 and 3.15, with and without
    --no-durations"""
    lt.need_root()
    for mode in ([], ["--no-durations"]):
        types_named_anew(lt.PY, mode)
    on_sid(types_named_anew, TWL)


@lt.test
def evicted_names_sent_again_and_counted():
    """70,000 live functions (tests/workloads/manycodes.py), each called
    once, then the first 100 again: more than the 65,536 entries of the
    BPF side's `seen` map, so the first ones were evicted; their second
    calls carry their names, and the trailer's name_evictions is at least
    the excess (new names less what the map can hold). A small run has
    none"""
    lt.need_root()
    n = 70000
    d = lt.tmpdir()
    rec = os.path.join(d, "r.jsonl")
    p = lt.leaktrace("record", "--root", "run", "-o", rec, "--", lt.PY,
                     os.path.join(HERE, "workloads", "manycodes.py"), n, timeout=300)
    assert p.stdout.split() == ["defined", str(n)], p.stdout
    with open(rec) as f:
        lines = [json.loads(l) for l in f]
    ex = [x for x in lines if x["type"] == "exec"]
    assert len(ex) == 2 and all(e["complete"] for e in ex), [e.get("incomplete") for e in ex]
    for e, m in zip(ex, (n, 100)):
        got = [(c["fn"], c["file"], c["line"], c["ret"]["value"]) for c in e["root"]["calls"]]
        assert got == [("f%d" % i, "many.py", 2 * i + 1, i) for i in range(m)], \
            [g for g, i in zip(got, range(m)) if g[0] != "f%d" % i][:3]
    st = lines[-1]
    assert st["type"] == "stats" and st.get("name_evictions", 0) >= n - 65536, st
    # few names: nothing evicted, no field
    lt.leaktrace("record", "--root", "run", "-o", rec, "--", lt.PY, WL, 3)
    with open(rec) as f:
        st = [json.loads(l) for l in f][-1]
    assert st["type"] == "stats" and "name_evictions" not in st, st


lt.main()
