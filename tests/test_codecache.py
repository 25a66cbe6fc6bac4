"""The BPF side's cache of code objects whose strings were sent (issue 18):
a code object freed and another of the same interned qualname created at
its address, with another file and first line, is named anew (the cache's
tag is the code's identity, not its qualname pointer alone). On Debian's
3.11 (USDT) and a sites build (pyenv 3.12)."""
import json
import os

import lt

HERE = os.path.dirname(os.path.abspath(__file__))
WL = os.path.join(HERE, "workloads", "codereuse.py")
N = 40


def reused_code_named_anew(py):
    lt.need_root()
    if not os.path.exists(py):
        raise lt.Skip("no %s here" % py)
    d = lt.tmpdir()
    rec = os.path.join(d, "r.jsonl")
    p = lt.leaktrace("record", "--root", "run", "-o", rec, "--", py, WL, N)
    reused = int(p.stdout.split("reused")[1].split()[0])
    assert reused > N // 2, "the workload must reuse code addresses: %s" % p.stdout
    with open(rec) as f:
        ex = [json.loads(l) for l in f if '"type":"exec"' in l]
    assert len(ex) == N and all(e["complete"] for e in ex)
    for e in ex:
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


lt.main()
