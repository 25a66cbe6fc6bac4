#!/usr/bin/python3.11
"""Reference (Python) implementation of the analysis of docs/FORMAT.md §4, for
the experiment drivers' cross-checks and for when `leaktrace analyze` is not
available. Linear-time set formulas; `--key name|site`.

    refanalyze.py analyze CLEAN ADV [--observe returns,calls,time] [--key name]
                  [--time-threshold-ms 50] [--auc]        -> JSON on stdout
    refanalyze.py detect --key KEY --value V [--site S] --clean T --adv T
                                                           -> Table I as JSON
    refanalyze.py times --key KEY CLEAN ADV               -> per-exec ms of KEY
"""
import argparse
import gzip
import json
import sys


def read_execs(path):
    """Yield the root of each complete execution (streaming; .gz ok)."""
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rt") as f:
        for ln in f:
            d = json.loads(ln)
            if d.get("type") == "exec" and d.get("complete", True):
                yield d["root"]


def plain(fn):
    """FORMAT.md §4 key "name": the last dotted part (f.<locals>.<lambda> -> <lambda>)."""
    return fn.rsplit(".", 1)[-1]


def val_str(r):
    t = r.get("type")
    if t not in ("int", "float", "bool", "str") or "value" not in r:
        return None
    v = r["value"]
    if t == "bool":
        v = "True" if v else "False"
    elif t == "float" and isinstance(v, float):
        v = repr(v)
    return "%s:%s" % (t, v)


def site_walk(root, keymode, visit):
    # root's site key is its fn; children paths start at the first layer
    def rec(node, path):
        key = plain(node["fn"]) if keymode == "name" else (node["fn"] if keymode == "qualname" else path)
        if not node["fn"].startswith("<"):
            visit(node, key, path)
        for i, ch in enumerate(node.get("calls", [])):
            rec(ch, ("%s[%d]" % (ch["fn"], i)) if node is root else "%s/%s[%d]" % (path, ch["fn"], i))
    rec(root, root["fn"])


def obs_returns(root, keymode):
    s = {}
    def v(node, key, path):
        vs = val_str(node.get("ret", {}))
        if vs is not None and (key, vs) not in s:
            s[(key, vs)] = path
    site_walk(root, keymode, v)
    return s


def obs_calls(root, keymode):
    m = {}
    def size(n):
        return 1 + sum(size(c) for c in n.get("calls", []))
    for i, ch in enumerate(root.get("calls", [])):
        k1 = plain(ch["fn"]) if keymode == "name" else ch["fn"]
        if keymode == "site":
            k1 = "%s[%d]" % (ch["fn"], i)
        m[k1] = m.get(k1, 0) + 1
        for j, g in enumerate(ch.get("calls", [])):
            if keymode == "site":
                k2 = "%s/%s[%d]" % (k1, g["fn"], j)
            else:
                k2 = "%s>%s" % (k1, plain(g["fn"]) if keymode == "name" else g["fn"])
            m[k2] = m.get(k2, 0) + size(g)
    return m


def obs_time(root, keymode):
    t = {}
    def v(node, key, path):
        if "dur_ns" in node:
            t[key] = t.get(key, 0) + node["dur_ns"]
    site_walk(root, keymode, v)
    return t


def analyze_returns(E, Ep):
    union_E, inter_E, union_Ep, inter_Ep = set(), None, set(), None
    first_path = {}
    for o in E:
        union_E |= o.keys()
        inter_E = set(o) if inter_E is None else inter_E & o.keys()
    for o in Ep:
        union_Ep |= o.keys()
        inter_Ep = set(o) if inter_Ep is None else inter_Ep & o.keys()
        for k, p in o.items():
            first_path.setdefault(k, p)
    D_E = union_E - inter_E if len(E) > 1 else set()
    D_Ep = union_Ep - inter_Ep if len(Ep) > 1 else set()
    D_EEp = inter_Ep - union_E
    D_IF = D_EEp - D_E - D_Ep
    el = lambda s: [{"key": k, "value": v, "path": first_path.get((k, v))} for k, v in sorted(s)]
    return {"D_E": len(D_E), "D_E_prime": len(D_Ep), "D_EE_prime": el(D_EEp), "D_IF": el(D_IF)}


def analyze_calls(E, Ep):
    keys = set()
    for o in E + Ep:
        keys |= o.keys()
    def d_within(S):
        out = set()
        for k in keys:
            vals = {o.get(k, 0) for o in S}
            if len(vals) > 1:
                out |= {(k, v) for v in vals}
        return out
    D_E, D_Ep = d_within(E), d_within(Ep)
    D_EEp = set()
    for k in keys:
        vp = {o.get(k, 0) for o in Ep}
        if len(vp) == 1:
            v = vp.pop()
            if all(o.get(k, 0) != v for o in E):
                D_EEp.add((k, v))
    D_IF = D_EEp - D_E - D_Ep
    el = lambda s: [{"key": k, "value": v} for k, v in sorted(s)]
    return {"D_E": len(D_E), "D_E_prime": len(D_Ep), "D_EE_prime": el(D_EEp), "D_IF": el(D_IF)}


def auc(a, b):
    """P(X_b > X_a) + 0.5 P(=), Mann-Whitney from ranks (O(n log n))."""
    allv = sorted([(x, 0) for x in a] + [(x, 1) for x in b])
    ranks, i = [0.0] * len(allv), 0
    while i < len(allv):
        j = i
        while j + 1 < len(allv) and allv[j + 1][0] == allv[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        i = j + 1
    rb = sum(r for r, (_, g) in zip(ranks, allv) if g == 1)
    return (rb - len(b) * (len(b) + 1) / 2) / (len(a) * len(b))


def analyze_time(E, Ep, thr_ns, want_auc):
    keys = set()
    for o in E + Ep:
        keys |= o.keys()
    def rng(S, k):
        v = [o.get(k, 0) for o in S]
        return min(v), max(v)
    D_E = {k for k in keys if len(E) > 1 and rng(E, k)[1] - rng(E, k)[0] > thr_ns}
    D_Ep = {k for k in keys if len(Ep) > 1 and rng(Ep, k)[1] - rng(Ep, k)[0] > thr_ns}
    D_EEp = set()
    for k in keys:
        lo, hi = rng(E, k)
        lop, hip = rng(Ep, k)
        if lop - hi > thr_ns or lo - hip > thr_ns:
            D_EEp.add(k)
    D_IF = D_EEp - D_E - D_Ep
    res = {"D_E": len(D_E), "D_E_prime": len(D_Ep),
           "D_EE_prime": [{"key": k} for k in sorted(D_EEp)], "D_IF": [{"key": k} for k in sorted(D_IF)]}
    if want_auc:
        res["auc"] = {k: round(auc([o.get(k, 0) for o in E], [o.get(k, 0) for o in Ep]), 4) for k in sorted(keys)}
    return res


def cmd_analyze(a):
    obs = a.observe.split(",")
    sets = []
    for path in (a.clean, a.adv):
        o = {"returns": [], "calls": [], "time": []}
        for r in read_execs(path):
            if "returns" in obs:
                o["returns"].append(obs_returns(r, a.key))
            if "calls" in obs:
                o["calls"].append(obs_calls(r, a.key))
            if "time" in obs:
                o["time"].append(obs_time(r, a.key))
        n = max(len(v) for v in o.values())
        if n == 0:
            raise SystemExit("refanalyze: %s has no complete execution" % path)
        sets.append((n, o))
    (nE, E), (nEp, Ep) = sets
    out = {"E": nE, "E_prime": nEp, "tool": "refanalyze", "observations": {}}
    if "returns" in obs:
        out["observations"]["returns"] = analyze_returns(E["returns"], Ep["returns"])
    if "calls" in obs:
        out["observations"]["calls"] = analyze_calls(E["calls"], Ep["calls"])
    if "time" in obs:
        out["observations"]["time"] = analyze_time(E["time"], Ep["time"], a.time_threshold_ms * 1e6, a.auc)
    json.dump(out, sys.stdout, indent=1)
    print()


def site_value(root, site):
    hit = []
    def v(node, key, path):
        if path == site:
            hit.append(val_str(node.get("ret", {})))
    site_walk(root, "site", v)
    return hit[0] if hit else None


def cmd_detect(a):
    rows = {}
    for label, path in (("clean", a.clean), ("adv", a.adv)):
        counts, matched, n = {}, 0, 0
        for r in read_execs(path):
            n += 1
            keys = obs_returns(r, "site" if a.site else "name")
            m = ((a.site or a.key), a.value) in keys
            matched += m
            v = site_value(r, a.site) if a.site else (a.value if m else "other")
            counts[str(v)] = counts.get(str(v), 0) + 1
        rows[label] = {"n": n, "matched": matched, "values": counts}
    tp, fp = rows["adv"]["matched"], rows["clean"]["matched"]
    rows["recall"] = tp / rows["adv"]["n"] if rows["adv"]["n"] else None
    rows["precision"] = tp / (tp + fp) if tp + fp else None
    json.dump(rows, sys.stdout, indent=1)
    print()


def cmd_times(a):
    out = {}
    for label, path in (("clean", a.clean), ("adv", a.adv)):
        out[label] = [round(obs_time(r, "name").get(a.key, 0) / 1e6, 3) for r in read_execs(path)]
    json.dump(out, sys.stdout)
    print()


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("analyze")
    p.add_argument("clean")
    p.add_argument("adv")
    p.add_argument("--observe", default="returns,calls,time")
    p.add_argument("--key", default="name", choices=["name", "qualname", "site"])
    p.add_argument("--time-threshold-ms", type=float, default=50)
    p.add_argument("--auc", action="store_true")
    p = sub.add_parser("detect")
    p.add_argument("--key", required=True)
    p.add_argument("--value", required=True)
    p.add_argument("--site")
    p.add_argument("--clean", required=True)
    p.add_argument("--adv", required=True)
    p = sub.add_parser("times")
    p.add_argument("--key", required=True)
    p.add_argument("clean")
    p.add_argument("adv")
    a = ap.parse_args()
    {"analyze": cmd_analyze, "detect": cmd_detect, "times": cmd_times}[a.cmd](a)


if __name__ == "__main__":
    main()
