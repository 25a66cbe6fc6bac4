#!/usr/bin/python3.11
"""Straightforward Python baseline of `leaktrace analyze` for the returns
observation with name keys (the paper's formulas, pairwise as written):
D_E = U Diff(e1,e2) over E, D_E' likewise, D_EE' = n Diff over E x E'.
Usage: analyze_baseline.py CLEAN.jsonl ADV.jsonl [--counting]
--counting uses the counting formulas instead of pairs (for large inputs)."""
import itertools
import json
import sys


def obs(root):
    s = set()
    stack = [(root, True)]
    while stack:
        n, is_root = stack.pop()
        if not (is_root and (n.get("synthetic") is True or n["fn"] in ("<thread>", "<execution>"))):
            r = n.get("ret")
            if r and "value" in r and r["type"] in ("int", "str", "bool", "float"):
                v = r["value"]
                if r["type"] == "bool":
                    v = "True" if v else "False"
                elif r["type"] == "float" and not isinstance(v, str):
                    v = repr(float(v))
                s.add((n["fn"].split(".")[-1], "%s:%s" % (r["type"], v)))
        stack.extend((c, False) for c in n.get("calls", []))
    return s


def load(path):
    with open(path) as f:
        for line in f:
            o = json.loads(line)
            if o.get("type") == "exec" and o.get("complete"):
                yield obs(o["root"])


def main():
    E, E2 = list(load(sys.argv[1])), list(load(sys.argv[2]))
    if "--counting" in sys.argv:
        from collections import Counter
        cE, cE2 = Counter(x for s in E for x in s), Counter(x for s in E2 for x in s)
        DE = {x for x, c in cE.items() if c < len(E)}
        DE2 = {x for x, c in cE2.items() if c < len(E2)}
        DEE = {x for x, c in cE2.items() if c == len(E2) and x not in cE}
    else:
        DE = set().union(*(b - a for a, b in itertools.product(E, E)))
        DE2 = set().union(*(b - a for a, b in itertools.product(E2, E2)))
        DEE = None
        for a, b in itertools.product(E, E2):
            d = b - a
            DEE = d if DEE is None else DEE & d
    DIF = DEE - DE - DE2
    print(json.dumps({"E": len(E), "E_prime": len(E2), "D_E": len(DE), "D_E_prime": len(DE2),
                      "D_EE_prime": sorted(DEE), "D_IF": sorted(DIF)}))


main()
