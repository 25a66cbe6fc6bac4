"""import-paper and export --format paper: round trips keep every call,
name, return and time; analysis is the same on either form."""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lt
import ltgen


def load_dir(d):
    return {f: json.load(open(os.path.join(d, f))) for f in sorted(os.listdir(d))}


@lt.test
def import_export_round_trip():
    d = lt.tmpdir()
    E, E2 = ltgen.make_sets(d, 6, 7, seed=21)
    for variant in ("return", "time"):
        src = os.path.join(d, "src-" + variant)
        ltgen.write_paper_dir(src, E, variant)
        trace = os.path.join(d, variant + ".jsonl.gz")
        lt.leaktrace("import-paper", src, "-o", trace)
        out = os.path.join(d, "out-" + variant)
        lt.leaktrace("export", "--format", "paper", trace, "-o", out, "--paper-variant", variant)
        a, b = load_dir(src), load_dir(out)
        assert sorted(a) == sorted(b), (sorted(a), sorted(b))
        for f in a:
            assert a[f] == b[f], (variant, f, a[f], b[f])


@lt.test
def analysis_same_on_imported_trace():
    d = lt.tmpdir()
    E, E2 = ltgen.make_sets(d, 6, 7, seed=22)
    ltgen.write_paper_dir(os.path.join(d, "E"), E, "return")
    ltgen.write_paper_dir(os.path.join(d, "A"), E2, "return")
    lt.leaktrace("import-paper", os.path.join(d, "E"), "-o", os.path.join(d, "e.jsonl"))
    lt.leaktrace("import-paper", os.path.join(d, "A"), "-o", os.path.join(d, "a.jsonl"))
    x = json.loads(lt.leaktrace("analyze", os.path.join(d, "E"), os.path.join(d, "A"), "-j").stdout)
    y = json.loads(lt.leaktrace("analyze", os.path.join(d, "e.jsonl"), os.path.join(d, "a.jsonl"), "-j").stdout)
    assert x == y, (x, y)
    assert x["observations"]["returns"]["D_IF"][0]["key"] == "leaf"


@lt.test
def errors():
    d = lt.tmpdir()
    p = lt.leaktrace("import-paper", os.path.join(d, "nope"), "-o", os.path.join(d, "t.jsonl"), check=False)
    assert p.returncode == 2 and "nope" in p.stderr
    assert not os.path.exists(os.path.join(d, "t.jsonl"))
    os.makedirs(os.path.join(d, "bad"))
    open(os.path.join(d, "bad", "0.json"), "w").write('[{"name":"f()","child":[}]')
    p = lt.leaktrace("import-paper", os.path.join(d, "bad"), "-o", os.path.join(d, "t.jsonl"), check=False)
    assert p.returncode == 2 and "0.json:1:" in p.stderr, p.stderr
    assert not os.path.exists(os.path.join(d, "t.jsonl"))
    p = lt.leaktrace("export", "--format", "svg", os.path.join(d, "t"), "-o", d, check=False)
    assert p.returncode == 2


lt.main()
