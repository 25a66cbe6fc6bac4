"""Random trace generation and the naive pairwise reference of the paper's
analysis (docs/FORMAT.md §4), shared by the analysis tests. The reference follows the
formulas literally: Diff over every ordered pair, unions, intersection."""
import gzip
import itertools
import json
import os
import random

# ---- generation ---------------------------------------------------------
FNS = ["open", "Img._open", "i16be", "f.<locals>.<lambda>", "<genexpr>", "load",
       "A.load", "run", "x.y.z"]


def rand_ret(rng):
    k = rng.randrange(9)
    if k == 0:
        return {"type": "int", "value": rng.choice([1, 2, 100, -5, 2**70])}
    if k == 1:
        return {"type": "float", "value": rng.choice([0.5, 1.0, 1e16, float("nan"), 0.1])}
    if k == 2:
        return {"type": "bool", "value": rng.choice([True, False])}
    if k == 3:
        return {"type": "str", "value": rng.choice(["a", "b", "Result:macaw", "caf\u00e9", "x\ny"])}
    if k == 4:
        return {"type": "NoneType"}
    if k == 5:
        return {"type": "<raise>"}
    if k == 6:
        return {"type": "int", "value": rng.choice([1, 2]), "yield": True}
    if k == 7:
        return {"type": "list"}
    return None


def rand_node(rng, depth, maxdepth, planted=None):
    n = {"fn": rng.choice(FNS)}
    r = rand_ret(rng)
    if r is not None:
        n["ret"] = r
    if rng.random() < 0.8:
        n["dur_ns"] = rng.randrange(0, 3000)
    if depth < maxdepth:
        kids = [rand_node(rng, depth + 1, maxdepth) for _ in range(rng.randrange(0, 4))]
        if kids:
            n["calls"] = kids
    return n


def rand_exec(rng, adv, plant):
    """plant: dict of planted differences for adversarial executions"""
    if rng.random() < 0.5:
        root = {"fn": "<thread>", "calls": []}
    else:
        root = {"fn": "predict", "ret": {"type": "str", "value": rng.choice(["cat", "dog"])},
                "dur_ns": rng.randrange(1000, 5000), "calls": []}
    for _ in range(rng.randrange(0, 4)):
        root["calls"].append(rand_node(rng, 1, 3))
    if plant:
        # a stable subtree: open -> _open -> i16be returning 1 (E) / 100 (E')
        leaf = {"fn": "i16be", "ret": {"type": "int", "value": 100 if adv else 1}, "dur_ns": 10}
        mid = {"fn": "Img._open", "ret": {"type": "NoneType"}, "dur_ns": 20 if not adv else 90000,
               "calls": [leaf] + ([{"fn": "extra"}] if adv else [])}
        root["calls"].insert(0, {"fn": "open", "calls": [mid], "dur_ns": 30})
    return root


def write_trace(path, roots, incomplete=0):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "wt", encoding="utf-8") as f:
        f.write(json.dumps({"type": "header", "format": 1, "tool": "leaktrace"}) + "\n")
        for i, r in enumerate(roots):
            f.write(json.dumps({"type": "exec", "id": i, "pid": 1, "tid": 1, "complete": True,
                                "root": r}, allow_nan=True).replace("NaN", '"nan"') + "\n")
        for i in range(incomplete):
            f.write(json.dumps({"type": "exec", "id": 1000 + i, "complete": False,
                                "root": {"fn": "<thread>", "calls": [{"fn": "junk", "ret": {"type": "int", "value": 5}}]}}) + "\n")
        f.write(json.dumps({"type": "stats", "execs": len(roots), "calls": 0, "lost_events": 0,
                            "incomplete_execs": incomplete, "truncated_strings": 0}) + "\n")


# ---- the writer's shape ----------------------------------------------------
# the order in which leaktrace's writer puts the keys of an exec line, a
# NODE and a RET (user/trace/trace_write.c); compact lines in this order are what
# the reader's fast path reads
EXEC_KEYS = ["type", "id", "pid", "tid", "nspid", "nstid", "cmdline", "cgroup", "start_ns", "dur_ns",
             "complete", "root"]
NODE_KEYS = ["fn", "file", "line", "interp", "ret", "dur_ns", "args", "truncated_calls", "calls"]
VALUE_KEYS = ["type", "value", "truncated", "yield"]


def writer_order(o, keys=EXEC_KEYS):
    """o with its keys (and those of its nodes and values) in the writer's
    order; NaN as the writer writes it"""
    if isinstance(o, float) and o != o:
        return "nan"
    if isinstance(o, list):
        return [writer_order(x, keys) for x in o]
    if not isinstance(o, dict):
        return o
    out = {}
    for k in sorted(o, key=lambda k: keys.index(k) if k in keys else len(keys)):
        sub = {"root": NODE_KEYS, "calls": NODE_KEYS, "ret": VALUE_KEYS, "args": VALUE_KEYS}.get(k)
        out[k] = writer_order(o[k], sub) if sub else writer_order(o[k], keys)
    return out



def writer_line(o):
    """o as one compact line, an exec line in the writer's key order"""
    return json.dumps(writer_order(o) if o.get("type") == "exec" else o, separators=(",", ":"),
                      ensure_ascii=False)


# ---- planted sets (end-to-end tests) ----------------------------------
def planted_exec(rng, adv):
    root = rand_exec(rng, adv, False)
    leaf = {"fn": "Plant.leaf", "ret": {"type": "int", "value": 100 if adv else 1}, "dur_ns": 100}
    mid = {"fn": "plant_mid", "ret": {"type": "NoneType"}, "dur_ns": 200,
           "calls": [leaf] + ([{"fn": "plant_extra"}] if adv else [])}
    root.setdefault("calls", []).insert(0, {"fn": "plant_reader", "calls": [mid], "dur_ns": 300})
    slow = (200 if adv else 10) * 1000000 + rng.randrange(1000000)
    root["calls"].append({"fn": "slow_fn", "dur_ns": slow})
    return root


def make_sets(d, n=20, m=30, seed=5):
    rng = random.Random(seed)
    E = [planted_exec(rng, False) for _ in range(n)]
    E2 = [planted_exec(rng, True) for _ in range(m)]
    return E, E2


def to_paper(node, variant):
    out = {"name": node["fn"] + "()", "child": [to_paper(c, variant) for c in node.get("calls", [])]}
    if variant == "time":
        out["time"] = node.get("dur_ns", 0) / 1000.0
    else:
        r = node.get("ret")
        if r and r["type"] not in ("<raise>",):
            v = val_text(r)
            out["return"] = v if v else r["type"]
    return out


def write_paper_dir(d, roots, variant):
    os.makedirs(d)
    for i, r in enumerate(roots):
        with open(os.path.join(d, "%d.json" % i), "w") as f:
            json.dump([to_paper(c, variant) for c in r.get("calls", [])], f)



# ---- reference ----------------------------------------------------------
def synthetic(n, is_root):
    """FORMAT.md §2: marked by the trace; before the mark, these two names"""
    return is_root and (n.get("synthetic") is True or n["fn"] in ("<thread>", "<execution>"))


def plain(fn):
    return fn.split(".")[-1] if fn.split(".")[-1] else fn


def walk(root):
    """yield (node, depth, site, parent_node) in call order"""
    stack = [(root, 0, root["fn"], None)]
    while stack:
        n, d, site, par = stack.pop()
        yield n, d, site, par
        kids = n.get("calls", [])
        for i in reversed(range(len(kids))):
            k = kids[i]
            ks = "%s[%d]" % (k["fn"], i) if d == 0 else "%s/%s[%d]" % (site, k["fn"], i)
            stack.append((k, d + 1, ks, n))


def key_of(n, site, kind):
    return {"name": plain(n["fn"]), "qualname": n["fn"], "site": site}[kind]


def val_text(r):
    t = r.get("type")
    if "value" not in r or t not in ("int", "float", "bool", "str"):
        return None
    v = r["value"]
    if t == "float":
        return "float:" + (v if isinstance(v, str) else repr(float(v)))
    if t == "bool":
        return "bool:" + ("True" if v else "False")
    if t == "int":
        return "int:%d" % int(v)
    return "str:" + v


def obs_returns(root, kind):
    s = set()
    for n, d, site, _ in walk(root):
        if synthetic(n, d == 0) or "ret" not in n:
            continue
        v = val_text(n["ret"])
        if v is not None:
            s.add((key_of(n, site, kind), v))
    return s


def obs_calls(root, kind):
    v = {}
    sites = {}
    for n, d, site, par in walk(root):
        sites[id(n)] = site
    for n, d, site, par in walk(root):
        if d == 1:
            k = key_of(n, site, kind)
            v[k] = v.get(k, 0) + 1
        if d == 2:
            if kind == "site":
                k = site
            else:
                k = key_of(par, sites[id(par)], kind) + ">" + key_of(n, site, kind)
            size = sum(1 for _ in walk(n))
            v[k] = v.get(k, 0) + size
    return v


def obs_time(root, kind):
    t = {}
    for n, d, site, _ in walk(root):
        if synthetic(n, d == 0) or "dur_ns" not in n:
            continue
        k = key_of(n, site, kind)
        t[k] = t.get(k, 0) + n["dur_ns"]
    return t


def diff(obs, o1, o2, thr):
    if obs == "returns":
        return o2 - o1
    if obs == "calls":
        keys = set(o1) | set(o2)
        return {(k, str(o2.get(k, 0))) for k in keys if o1.get(k, 0) != o2.get(k, 0)}
    keys = set(o1) | set(o2)
    return {(k,) for k in keys if abs(o1.get(k, 0) - o2.get(k, 0)) > thr}


def reference(E, E2, obs, kind, thr_ns):
    f = {"returns": obs_returns, "calls": obs_calls, "time": obs_time}[obs]
    oE = [f(r, kind) for r in E]
    oE2 = [f(r, kind) for r in E2]
    DE = set().union(*[diff(obs, a, b, thr_ns) for a, b in itertools.product(oE, oE)])
    DE2 = set().union(*[diff(obs, a, b, thr_ns) for a, b in itertools.product(oE2, oE2)])
    pairs = [diff(obs, a, b, thr_ns) for a, b in itertools.product(oE, oE2)]
    DEE = set.intersection(*pairs) if pairs else set()
    DIF = DEE - DE - DE2
    return DE, DE2, DEE, DIF


def elems(lst, obs):
    if obs == "time":
        return {(e["key"],) for e in lst}
    return {(e["key"], e["value"]) for e in lst}
