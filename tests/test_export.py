"""export --format chrome and --format folded: the Trace Event Format's
rules (required fields, numeric ts/dur, children inside parents on each
track, no overlapping siblings) and folded stacks parsed back to the same
call counts, on recorded-style traces from ltgen."""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lt
import ltgen


def recorded_node(rng, depth, maxdepth):
    """a node like the recorder writes: children durations fit in the parent"""
    fns = ltgen.FNS if depth else [f for f in ltgen.FNS if not f.startswith("<")]
    n = {"fn": rng.choice(fns), "file": "/x/%d.py" % rng.randrange(5), "line": rng.randrange(1, 500)}
    r = ltgen.rand_ret(rng)
    if r is not None:
        n["ret"] = r
    kids = []
    if depth < maxdepth:
        kids = [recorded_node(rng, depth + 1, maxdepth) for _ in range(rng.randrange(0, 4))]
    if kids:
        n["calls"] = kids
    n["dur_ns"] = sum(k["dur_ns"] for k in kids) + rng.randrange(0, 5000)
    return n


def recorded_trace(path, rng, nexec=40, odd=False):
    """several processes and threads, executions back to back per thread.
    odd: also nodes without dur_ns, children longer than their parent,
    executions without start_ns and overlapping ones."""
    cursor = {}
    roots = []
    with open(path, "w") as f:
        f.write(json.dumps({"type": "header", "format": 1, "tool": "leaktrace", "pid": 10,
                            "argv": ["/usr/bin/python3.11", "/srv/app.py"]}) + "\n")
        for i in range(nexec):
            pid = rng.choice([10, 20])
            tid = pid + rng.randrange(3)
            if rng.random() < 0.5:
                root = recorded_node(rng, 0, 4)
                dur = root["dur_ns"]
            else:
                root = {"fn": "<thread>", "calls": [recorded_node(rng, 1, 4) for _ in range(rng.randrange(1, 4))]}
                dur = sum(k["dur_ns"] for k in root["calls"]) + 100
            if odd:
                for n, d, site, par in ltgen.walk(root):
                    if d and rng.random() < 0.2:
                        n.pop("dur_ns", None)
                    elif d and rng.random() < 0.1:
                        n["dur_ns"] = rng.randrange(0, 10)
            start = cursor.get((pid, tid), 10**12 + rng.randrange(10**6)) + rng.randrange(0, 10**6)
            cursor[(pid, tid)] = start + dur
            ex = {"type": "exec", "id": i, "pid": pid, "tid": tid, "start_ns": start, "dur_ns": dur,
                  "complete": rng.random() < 0.9, "root": root}
            if odd and rng.random() < 0.3:
                del ex["start_ns"]
            if odd and rng.random() < 0.2:
                ex["start_ns"] = 10**12  # before the previous execution ended
            f.write(json.dumps(ex).replace("NaN", '"nan"') + "\n")
            roots.append(ex)
        f.write(json.dumps({"type": "stats", "execs": nexec, "calls": 0, "lost_events": 0,
                            "incomplete_execs": 0, "truncated_strings": 0}) + "\n")
    return roots


def strict_json(text):
    def bad(c):
        raise ValueError("non-JSON constant %s" % c)
    return json.loads(text, parse_constant=bad)


def ns(x):
    return round(x * 1000)


def check_chrome(doc, execs, exact):
    """the format's rules, and the events against the trace, node for node"""
    assert isinstance(doc, dict) and isinstance(doc["traceEvents"], list)
    procs, threads, xs = set(), set(), []
    for ev in doc["traceEvents"]:
        for k in ("name", "ph", "pid", "tid"):
            assert k in ev, ("missing", k, ev)
        assert isinstance(ev["pid"], int) and isinstance(ev["tid"], int)
        if ev["ph"] == "M":
            assert ev["name"] in ("process_name", "thread_name") and isinstance(ev["args"]["name"], str)
            (procs if ev["name"] == "process_name" else threads).add(
                ev["pid"] if ev["name"] == "process_name" else (ev["pid"], ev["tid"]))
            continue
        assert ev["ph"] == "X", ev
        for k in ("ts", "dur"):
            assert isinstance(ev[k], (int, float)) and not isinstance(ev[k], bool), (k, ev)
        assert ev["dur"] >= 0, ev
        xs.append(ev)
    for ev in xs:
        assert ev["pid"] in procs, ("no process_name", ev["pid"])
        assert (ev["pid"], ev["tid"]) in threads, ("no thread_name", ev["pid"], ev["tid"])
    # per track: intervals form a proper nesting (no partial overlap)
    tracks = {}
    for ev in xs:
        tracks.setdefault((ev["pid"], ev["tid"]), []).append((ns(ev["ts"]), ns(ev["ts"]) + ns(ev["dur"])))
    for key, iv in tracks.items():
        iv.sort(key=lambda a: (a[0], -a[1]))
        stack = []
        for s, e in iv:
            while stack and stack[-1][1] <= s and not (stack[-1][0] == s == stack[-1][1]):
                stack.pop()
            if stack:
                assert e <= stack[-1][1], ("partial overlap on track", key, stack[-1], (s, e))
            stack.append((s, e))
    # node for node, in pre-order
    it = iter(xs)
    last_end = {}
    for ex in execs:
        root = ex["root"]
        spans = {}
        for n, d, site, par in ltgen.walk(root):
            ev = next(it)
            assert ev["name"] == n["fn"], (ev["name"], n["fn"])
            assert (ev["pid"], ev["tid"]) == (ex["pid"], ex["tid"])
            s, e = ns(ev["ts"]), ns(ev["ts"]) + ns(ev["dur"])
            spans[id(n)] = (s, e)
            a = ev["args"]
            if "file" in n:
                assert a["file"] == n["file"] and a["line"] == n["line"], (a, n)
            if "ret" in n:
                want = ltgen.val_text(n["ret"]) or n["ret"]["type"]
                assert a["ret"] == want, (a["ret"], want)
            if par is None:
                assert a["exec"] == ex["id"]
                assert a.get("complete", True) == ex["complete"]
                if exact:
                    assert s == ex["start_ns"], (s, ex["start_ns"])
                assert s >= last_end.get((ex["pid"], ex["tid"]), 0), "executions overlap on a track"
                last_end[(ex["pid"], ex["tid"])] = e
            else:
                ps, pe = spans[id(par)]
                assert ps <= s and e <= pe, ("child outside parent", n["fn"], (s, e), (ps, pe))
            if exact and "dur_ns" in n:
                assert e - s == n["dur_ns"], (n["fn"], e - s, n["dur_ns"])
            if "dur_ns" in n and e - s != n["dur_ns"]:
                assert a["dur_ns"] == n["dur_ns"], a
        # siblings in call order, no overlap
        for n, d, site, par in ltgen.walk(root):
            kids = n.get("calls", [])
            for x, y in zip(kids, kids[1:]):
                assert spans[id(x)][1] <= spans[id(y)][0], ("siblings overlap", x["fn"], y["fn"])
    assert next(it, None) is None, "more events than calls"


@lt.test
def chrome_recorded_style():
    d = lt.tmpdir()
    rng = random.Random(31)
    src = os.path.join(d, "t.jsonl")
    execs = recorded_trace(src, rng)
    out = os.path.join(d, "c.json")
    p = lt.leaktrace("export", "--format", "chrome", src, "-o", out)
    assert "40 executions" in p.stderr, p.stderr
    check_chrome(strict_json(open(out).read()), execs, exact=True)


@lt.test
def chrome_missing_and_inconsistent_durations():
    d = lt.tmpdir()
    for seed in range(5):
        rng = random.Random(100 + seed)
        src = os.path.join(d, "t%d.jsonl" % seed)
        execs = recorded_trace(src, rng, nexec=30, odd=True)
        out = lt.leaktrace("export", "--format", "chrome", src, "-o", "-").stdout
        check_chrome(strict_json(out), execs, exact=False)


@lt.test
def chrome_ltgen_and_paper_traces():
    """ltgen's random trees (durations unrelated to children, no start_ns)
    and an imported paper directory (no durations at all)"""
    d = lt.tmpdir()
    E, E2 = ltgen.make_sets(d, 8, 9, seed=7)
    src = os.path.join(d, "g.jsonl.gz")
    ltgen.write_trace(src, E + E2, incomplete=2)
    out = lt.leaktrace("export", "--format", "chrome", src, "-o", "-").stdout
    doc = strict_json(out)
    execs = [{"id": i, "pid": 1, "tid": 1, "complete": True, "root": r} for i, r in enumerate(E + E2)]
    execs += [{"id": 1000 + i, "pid": 0, "tid": 0, "complete": False,
               "root": {"fn": "<thread>", "calls": [{"fn": "junk", "ret": {"type": "int", "value": 5}}]}}
              for i in range(2)]
    check_chrome(doc, execs, exact=False)
    ltgen.write_paper_dir(os.path.join(d, "P"), E, "return")
    out = lt.leaktrace("export", "--format", "chrome", os.path.join(d, "P"), "-o", "-").stdout
    doc = strict_json(out)
    xs = [e for e in doc["traceEvents"] if e["ph"] == "X"]
    assert len(xs) == sum(len(list(ltgen.walk(r))) for r in E) and all(e["dur"] > 0 for e in xs)


@lt.test
def chrome_deep_tree():
    d = lt.tmpdir()
    depth = 100000
    src = os.path.join(d, "deep.jsonl")
    chain_trace(src, depth)
    out = lt.leaktrace("export", "--format", "chrome", src, "-o", "-").stdout
    xs = [e for e in strict_json(out)["traceEvents"] if e["ph"] == "X"]
    assert len(xs) == depth + 1
    for a, b in zip(xs, xs[1:]):
        assert ns(a["ts"]) <= ns(b["ts"]) and ns(b["ts"]) + ns(b["dur"]) <= ns(a["ts"]) + ns(a["dur"])


def chain_trace(path, depth, copies=1):
    """one execution per copy: a chain f0 -> f1 -> ... -> leaf, written as
    text (json.dumps recurses)"""
    with open(path, "w") as f:
        f.write('{"type":"header","format":1}\n')
        for c in range(copies):
            f.write('{"type":"exec","id":%d,"complete":true,"root":' % c)
            for i in range(depth):
                f.write('{"fn":"f%d","dur_ns":%d,"calls":[' % (i % 7, 2 * depth - i))
            f.write('{"fn":"leaf","dur_ns":1}' + "]}" * depth + "}\n")


def parse_folded(text):
    stacks = {}
    for line in text.splitlines():
        st, w = line.rsplit(" ", 1)
        assert st not in stacks, ("stack twice", st)
        assert int(w) > 0, line
        stacks[st] = int(w)
    return stacks


def trace_stacks(roots, weight):
    want = {}
    for r in roots:
        path = {}
        for n, d, site, par in ltgen.walk(r):
            path[id(n)] = (path[id(par)] + ";" if par is not None else "") + n["fn"]
            if ltgen.synthetic(n, par is None):
                continue
            if weight == "calls":
                w = 1
            else:
                if "dur_ns" not in n:
                    continue
                w = n["dur_ns"] - sum(k["dur_ns"] for k in n.get("calls", []) if k.get("dur_ns", 0) > 0)
                if w <= 0:
                    continue
            want[path[id(n)]] = want.get(path[id(n)], 0) + w
    return want


@lt.test
def folded_counts_round_trip():
    d = lt.tmpdir()
    E, E2 = ltgen.make_sets(d, 10, 12, seed=9)
    src = os.path.join(d, "g.jsonl")
    ltgen.write_trace(src, E + E2)
    roots = E + E2
    for weight in ("calls", "time"):
        out = lt.leaktrace("export", "--format", "folded", "--folded-weight", weight, src, "-o", "-").stdout
        got = parse_folded(out)
        want = trace_stacks(roots, weight)
        assert got == want, (weight, set(got.items()) ^ set(want.items()))
    # calls per function, as flamegraph.pl would total them
    got = parse_folded(lt.leaktrace("export", "--format", "folded", src, "-o", "-").stdout)
    per_fn = {}
    for st, w in got.items():
        per_fn[st.split(";")[-1]] = per_fn.get(st.split(";")[-1], 0) + w
    calls = {}
    for r in roots:
        for n, dd, site, par in ltgen.walk(r):
            if not ltgen.synthetic(n, par is None):
                calls[n["fn"]] = calls.get(n["fn"], 0) + 1
    assert per_fn == calls, (per_fn, calls)


@lt.test
def folded_recorded_and_deep():
    d = lt.tmpdir()
    src = os.path.join(d, "t.jsonl")
    execs = recorded_trace(src, random.Random(4), nexec=50)
    got = parse_folded(lt.leaktrace("export", "--format", "folded", src, "-o", "-").stdout)
    assert got == trace_stacks([e["root"] for e in execs], "calls")
    chain_trace(src, 2000, copies=2)
    got = parse_folded(lt.leaktrace("export", "--format", "folded", src, "-o", "-").stdout)
    names = ["f%d" % (i % 7) for i in range(2000)] + ["leaf"]
    assert len(got) == 2001 and got[";".join(names)] == 2 and got["f0"] == 2


@lt.test
def export_json_summary():
    d = lt.tmpdir()
    src = os.path.join(d, "t.jsonl")
    execs = recorded_trace(src, random.Random(8), nexec=12)
    ncalls = sum(len(list(ltgen.walk(e["root"]))) for e in execs)
    s = json.loads(lt.leaktrace("export", "--format", "chrome", src, "-o", os.path.join(d, "c.json"), "-j").stdout)
    assert s["executions"] == 12 and s["events"] == ncalls and s["incomplete"] == sum(not e["complete"] for e in execs), s
    s = json.loads(lt.leaktrace("export", "--format", "folded", src, "-o", os.path.join(d, "f.txt"), "--json").stdout)
    assert s["stacks"] == len(open(os.path.join(d, "f.txt")).read().splitlines()) and s["weight"] == "calls"
    s = json.loads(lt.leaktrace("export", "--format", "paper", src, "-o", os.path.join(d, "P"), "-j").stdout)
    assert s["files"] == len(os.listdir(os.path.join(d, "P"))) == sum(e["complete"] for e in execs), s


@lt.test
def import_paper_json_summary():
    d = lt.tmpdir()
    E, E2 = ltgen.make_sets(d, 4, 5, seed=3)
    ltgen.write_paper_dir(os.path.join(d, "P"), E, "return")
    ltgen.write_paper_dir(os.path.join(d, "Q"), E2, "time")
    out = os.path.join(d, "t.jsonl")
    s = json.loads(lt.leaktrace("import-paper", os.path.join(d, "P"), os.path.join(d, "Q"), "-o", out,
                                "--format", "json").stdout)
    calls = sum(len(list(ltgen.walk(r))) - 1 for r in E + E2)
    assert s == {"output": out, "inputs": [os.path.join(d, "P"), os.path.join(d, "Q")],
                 "executions": 9, "calls": calls}, (s, calls)
    p = lt.leaktrace("import-paper", os.path.join(d, "P"), "-o", "-", "-j", check=False)
    assert p.returncode == 2 and len(p.stderr.splitlines()) == 1, p.stderr
    p = lt.leaktrace("import-paper", os.path.join(d, "P"), "-o", out, "--format", "xml", check=False)
    assert p.returncode == 2 and len(p.stderr.splitlines()) == 1, p.stderr


@lt.test
def export_bad_input():
    d = lt.tmpdir()
    bad = os.path.join(d, "bad.jsonl")
    open(bad, "w").write('{"type":"header","format":1}\n{"type":"exec","root":{"fn":"f","calls":[}}\n')
    for fmt in ("chrome", "folded"):
        out = os.path.join(d, "o." + fmt)
        p = lt.leaktrace("export", "--format", fmt, bad, "-o", out, check=False)
        assert p.returncode == 2 and "bad.jsonl:2:" in p.stderr and len(p.stderr.splitlines()) == 1, p.stderr
        assert not os.path.exists(out), "half-written output left behind"
        p = lt.leaktrace("export", "--format", fmt, os.path.join(d, "nope"), "-o", out, check=False)
        assert p.returncode == 2 and "nope" in p.stderr and len(p.stderr.splitlines()) == 1, p.stderr
    for args in (["--folded-weight", "bytes"], ["-j", "-o", "-"], ["--format", "svg"]):
        base = ["export", "--format", "folded", bad, "-o", os.path.join(d, "x")]
        p = lt.leaktrace(*(base + args), check=False)
        assert p.returncode == 2 and len(p.stderr.splitlines()) == 1, (args, p.stderr)


lt.main()
