"""Compare two traces (recorder vs oracle) call for call."""
import json


def load(path):
    execs = []
    with open(path) as f:
        for line in f:
            o = json.loads(line)
            if o["type"] == "exec":
                execs.append(o)
    return execs


def node_key(n, with_values=True):
    k = [n["fn"], n.get("file"), n.get("line")]
    if with_values:
        r = n.get("ret", {})
        k.append((r.get("type"), json.dumps(r.get("value")), r.get("truncated", False), r.get("yield", False)))
    return k


def closed_at_yield(calls, i):
    """calls[i] is the exit of a generator closed at a plain yield: a
    <raise> right after a yield of the same function. From CPython 3.13.x
    on, close() of a generator suspended at a yield outside any try block
    only clears its frame: no code runs, no probe can see it. But an
    in-process tracer instruments the code (RESUME becomes
    INSTRUMENTED_RESUME), which turns that fast path off, so the oracle
    sees GeneratorExit go through the frame."""
    n = calls[i]
    return (i > 0 and n.get("ret", {}).get("type") == "<raise>" and not n.get("calls") and
            calls[i - 1]["fn"] == n["fn"] and calls[i - 1].get("ret", {}).get("yield"))


def closed_while_suspended(x, y):
    """x (recorded) is a generator frame still suspended when its execution
    ended, y (oracle) the same frame closed at that yield: CPython 3.13.x+
    clears such a frame without running it (see closed_at_yield)"""
    return (node_key(x, False) == node_key(y, False) and x.get("ret", {}).get("yield") and
            y.get("ret", {}).get("type") == "<raise>")


def diff_nodes(a, b, path="", with_values=True, closed_gens=False):
    """First difference between two trees as a string, or None. closed_gens:
    the oracle (b) may hold generator exits that the untraced interpreter
    skips (closed_at_yield); they are left out of the comparison."""
    stack = [(a, b, a["fn"])]
    while stack:
        x, y, p = stack.pop()
        kx, ky = node_key(x, with_values), node_key(y, with_values)
        if kx != ky and not (closed_gens and closed_while_suspended(x, y)):
            return "%s: %r != %r" % (p, kx, ky)
        cx, cy = x.get("calls", []), y.get("calls", [])
        if closed_gens and len(cx) < len(cy):
            cy = [c for i, c in enumerate(cy) if not closed_at_yield(cy, i)]
        if len(cx) != len(cy):
            return "%s: %d calls != %d calls (%s vs %s)" % (
                p, len(cx), len(cy), [c["fn"] for c in cx][:20], [c["fn"] for c in cy][:20])
        for i in range(len(cx) - 1, -1, -1):
            stack.append((cx[i], cy[i], "%s/%s[%d]" % (p, cx[i]["fn"], i)))
    return None


def count(n):
    c, stack = 0, [n]
    while stack:
        x = stack.pop()
        c += 1
        stack.extend(x.get("calls", []))
    return c


def compare(rec_path, ora_path, with_values=True, closed_gens=False):
    """Match executions by (tid order, order); return list of problems."""
    rec, ora = load(rec_path), load(ora_path)
    problems = []
    if len(rec) != len(ora):
        problems.append("%d executions recorded, oracle has %d" % (len(rec), len(ora)))

    def by_thread(xs):
        d = {}
        for x in xs:
            d.setdefault(x["tid"], []).append(x)
        # threads in order of first execution start
        return [d[t] for t in sorted(d, key=lambda t: d[t][0]["start_ns"])]

    # threads are matched by the sequence of root return values
    rt, ot = by_thread(rec), by_thread(ora)
    sig = lambda xs: [json.dumps(x["root"].get("ret")) for x in xs]
    used = set()
    for r in rt:
        match = None
        for j, o in enumerate(ot):
            if j not in used and sig(o) == sig(r):
                match = j
                break
        if match is None:
            problems.append("no oracle thread with root returns %s" % sig(r))
            continue
        used.add(match)
        for x, y in zip(r, ot[match]):
            if not x["complete"]:
                problems.append("execution %d is incomplete" % x["id"])
            d = diff_nodes(x["root"], y["root"], with_values=with_values, closed_gens=closed_gens)
            if d:
                problems.append("execution %d: %s" % (x["id"], d))
    return problems
