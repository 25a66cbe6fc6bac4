"""leaktrace detect: rules from analyze flag exactly the planted executions;
Table I counts, precision/recall; bad rules files exit 2."""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lt
import ltgen


def setup():
    d = lt.tmpdir()
    E, E2 = ltgen.make_sets(d, 12, 18, seed=3)
    c, a = os.path.join(d, "c.jsonl"), os.path.join(d, "a.jsonl")
    ltgen.write_trace(c, E)
    ltgen.write_trace(a, E2, incomplete=1)
    rules = os.path.join(d, "r.json")
    lt.leaktrace("analyze", c, a, "--rules-out", rules)
    return d, c, a, rules, E, E2


@lt.test
def verdict_lines():
    d, c, a, rules, E, E2 = setup()
    p = lt.leaktrace("detect", "--rules", rules, c, a)
    lines = p.stdout.splitlines()
    assert len(lines) == 12 + 18 + 1, lines
    assert sum(" ALERT " in l for l in lines) == 18
    assert sum(l.endswith(" ok") for l in lines) == 12
    assert sum("incomplete" in l for l in lines) == 1
    assert any(l.startswith(a + ":2 id=0 ALERT [0] returns leaf = int:100") for l in lines), lines


@lt.test
def table_one():
    d, c, a, rules, E, E2 = setup()
    out = json.loads(lt.leaktrace("detect", "--rules", rules, "--clean", c, "--adv", a, "-j", "-q").stdout)
    assert out["skipped"] == 1 and out["executions"] == []
    t0 = out["table"][0]
    assert t0["key"] == "leaf" and t0["value"] == "int:100"
    cols = {x["value"]: (x["clean"], x["adv"]) for x in t0["columns"]}
    assert cols == {"int:1": (12, 0), "int:100": (0, 18)}, cols
    assert out["total"] == {"tp": 18, "fp": 0, "fn": 0, "tn": 12, "precision": 1.0, "recall": 1.0}
    # a rule that also fires on clean: precision drops
    r = os.path.join(d, "noisy.json")
    json.dump({"format": 1, "rules": [{"observation": "calls", "key": "slow_fn", "value": 1}]}, open(r, "w"))
    out = json.loads(lt.leaktrace("detect", "--rules", r, "--clean", c, "--adv", a, "-j", "-q").stdout)
    assert out["total"]["fp"] == 12 and out["total"]["tp"] == 18 and abs(out["total"]["precision"] - 0.6) < 1e-9
    p = lt.leaktrace("detect", "--rules", rules, "--clean", c, "--adv", a, "-q")
    assert "Table I, rule 0: returns leaf = int:100" in p.stdout and "precision 1.0000  recall 1.0000" in p.stdout


@lt.test
def absent_and_time_rules():
    d, c, a, rules, E, E2 = setup()
    r = os.path.join(d, "r2.json")
    json.dump({"format": 1, "rules": [
        {"observation": "calls", "key": "plant_extra", "value": "0", "key_kind": "qualname"},
        {"observation": "time", "key": "slow_fn", "max_ms": 100}]}, open(r, "w"))
    out = json.loads(lt.leaktrace("detect", "--rules", r, "--clean", c, "--adv", a, "-j").stdout)
    ex = out["executions"]
    # plant_extra is never a first/second-layer key, so every execution has count 0
    assert all(0 in e["rules"] for e in ex)
    assert all((1 in e["rules"]) == (e["label"] == "clean") for e in ex), ex


@lt.test
def bad_rules_exit_2():
    d, c, a, rules, E, E2 = setup()
    cases = ['{"format":1,"rules":[{"observation":"returns","key":"x"}]}',
             '{"format":2,"rules":[]}', 'nope',
             '{"format":1,"rules":[{"observation":"sizes","key":"x"}]}',
             '{"format":1,"rules":[{"observation":"time","key":"x"}]}']
    for i, text in enumerate(cases):
        r = os.path.join(d, "bad%d.json" % i)
        open(r, "w").write(text)
        p = lt.leaktrace("detect", "--rules", r, c, check=False)
        assert p.returncode == 2 and r in p.stderr and "Traceback" not in p.stderr, (text, p.stderr)
    p = lt.leaktrace("detect", c, check=False)
    assert p.returncode == 2 and "--rules" in p.stderr


lt.main()
