"""Values exact on Debian's 3.11 (USDT) and a sites build (pyenv 3.12),
compared with the in-process oracle: ints of any width (whole up to
LT_BIGINT_DIGITS 30-bit digits, beyond that the FORMAT.md §2 marker) with
the execution complete, and --no-values: complete executions whose values
carry their real type names (issue 18)."""
import json
import os

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


def values_exact(py):
    lt.need_root()
    d = lt.tmpdir()
    lines, ora = traces(py, d)
    ex = [l for l in lines if l["type"] == "exec"]
    st = lines[-1]
    assert len(ex) == N and all(e["complete"] for e in ex), [e["complete"] for e in ex]
    assert st["incomplete_execs"] == 0 and "read_failures" not in st, st
    for e, o in zip(ex, ora):
        i = e["root"]["ret"]["value"]
        for c, oc in zip(e["root"]["calls"], o["root"]["calls"]):
            assert c["fn"] == oc["fn"] and c["ret"] == oc["ret"], (c["fn"], str(c["ret"])[:200],
                                                                  str(oc["ret"])[:200])
    assert ex[0]["root"]["calls"][0]["ret"]["value"] == str(10 ** 1000)
    cut = [c["ret"] for c in ex[0]["root"]["calls"] if c["fn"] == "beyond"]
    assert cut[0]["truncated"] and cut[0]["value"].startswith("<int of 20001 bits #"), cut


def no_values_named(py):
    lt.need_root()
    d = lt.tmpdir()
    lines, ora = traces(py, d, "--no-values")
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
    r = os.path.join(d, "r.jsonl")
    p = lt.leaktrace("analyze", "-q", r, r, check=False)
    assert p.returncode == 0, p.stderr


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


lt.main()
