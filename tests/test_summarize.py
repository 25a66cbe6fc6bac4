"""`leaktrace summarize` and analyze over summaries (docs/ANALYSIS.md,
"Summaries"): the traces of E and E' split into shards in several ways,
each shard summarized, then one analyze over the summaries must print what
analyze over all the traces prints (byte for byte where the witness paths
are the same, i.e. shards in the traces' order; counts and sets always).
Bad summaries and mixes of different capture options exit 2 naming the
difference."""
import gzip
import json
import os
import random
import re

import lt
import ltgen

OPTS = ["-j", "--list-all", "--both-directions", "--min-support", "0.6", "-q"]


def time_exec(rng, adv):
    """executions whose durations make the time sets interesting: per key a
    few clusters, E' clusters partly shifted; keys sometimes absent (0)"""
    root = ltgen.planted_exec(rng, adv)
    for k in range(12):
        if k % 3 and rng.random() < 0.25:
            continue
        # every third key always there, E' shifted by more for larger k:
        # apart by more than some thresholds and not others (D_EE')
        base = 1000 * (k % 4) + (900 + 250 * k if adv and k % 3 == 0 else 0)
        root["calls"].append({"fn": "t%d" % k, "dur_ns": base + rng.randrange(0, 800),
                              "ret": {"type": "int", "value": rng.randrange(3)}})
    return root


def make(d, n=60, m=70, seed=11):
    rng = random.Random(seed)
    E = [time_exec(rng, False) for _ in range(n)]
    A = [time_exec(rng, True) for _ in range(m)]
    e, a = os.path.join(d, "E.jsonl"), os.path.join(d, "A.jsonl")
    ltgen.write_trace(e, E, incomplete=2)
    ltgen.write_trace(a, A, incomplete=1)
    return E, A, e, a


def shard(d, name, roots, groups, incomplete=0):
    """roots written as shard files d/name/NN.jsonl, one per index group"""
    sd = os.path.join(d, name)
    os.makedirs(sd)
    for i, g in enumerate(groups):
        ltgen.write_trace(os.path.join(sd, "%02d.jsonl" % i), [roots[j] for j in g],
                          incomplete=incomplete if i == 0 else 0)
    return sd


def summarize_each(src, dst, *opts):
    """each file of src summarized into dst (one summary per node)"""
    os.makedirs(dst)
    for f in sorted(os.listdir(src)):
        lt.leaktrace("summarize", *opts, os.path.join(src, f), "-o", os.path.join(dst, f + ".ltsum"))
    return dst


def analyze(*args):
    return lt.leaktrace("analyze", *OPTS, *args).stdout


def no_paths(out):
    return re.sub(r',"path":"[^"]*"', "", out)


@lt.test
def shards_in_order_give_the_same_output_byte_for_byte():
    d = lt.tmpdir()
    E, A, e, a = make(d)
    n, m = len(E), len(A)
    cuts = [list(range(0, 7)), list(range(7, 30)), list(range(30, 31)), list(range(31, n))]
    sE = shard(d, "Es", E, cuts, incomplete=2)
    sA = shard(d, "As", A, [list(range(0, m // 2)), list(range(m // 2, m))], incomplete=1)
    for key in ("name", "qualname", "site"):
        for thr in ("50", "0", "0.001", "0.0025"):
            opts = ["--key", key, "--time-threshold-ms", thr]
            want = analyze(*opts, e, a)
            res = json.loads(want)
            assert res["E"] == n and res["E_prime"] == m and res["skipped"] == 3, res
            out = "%s-%s" % (key, thr)
            SE = summarize_each(sE, os.path.join(d, out + "E"), *opts)
            SA = summarize_each(sA, os.path.join(d, out + "A"), *opts)
            assert analyze(*opts, SE, SA) == want, (key, thr)
            # mixes: summaries on one side, traces on the other
            assert analyze(*opts, SE, a) == want, (key, thr, "summaries vs trace")
            assert analyze(*opts, e, SA) == want, (key, thr, "trace vs summaries")
            # a reduce tree: summaries of summaries
            top = os.path.join(d, out + "top.ltsum.gz")
            lt.leaktrace("summarize", *opts, SE, "-o", top)
            assert analyze(*opts, top, SA) == want, (key, thr, "summary of summaries")
    # the human output too (its first line names the inputs)
    h1 = lt.leaktrace("analyze", "--key", "site", e, a).stdout.split("\n", 1)[1]
    h2 = lt.leaktrace("analyze", "--key", "site", os.path.join(d, "site-50E"),
                      os.path.join(d, "site-50A")).stdout.split("\n", 1)[1]
    assert h1 == h2
    # and the rules file
    r1, r2 = os.path.join(d, "r1"), os.path.join(d, "r2")
    lt.leaktrace("analyze", "-q", "--rules-out", r1, e, a)
    lt.leaktrace("analyze", "-q", "--rules-out", r2, os.path.join(d, "name-50E"), os.path.join(d, "name-50A"))
    rules = json.load(open(r1))["rules"]
    assert open(r1).read() == open(r2).read() and len(rules) >= 3, rules


@lt.test
def interleaved_and_random_shards_give_the_same_sets():
    d = lt.tmpdir()
    E, A, e, a = make(d, seed=12)
    n, m = len(E), len(A)
    rng = random.Random(4)
    ways = {
        "round": ([list(range(i, n, 3)) for i in range(3)], [list(range(i, m, 4)) for i in range(4)]),
        "random": (None, None),
        "single": ([[i] for i in range(n)], [list(range(m))]),
    }
    for way, (ge, ga) in ways.items():
        if ge is None:	# random partition into 5 and 2 shards
            pe = [rng.randrange(5) for _ in range(n)]
            pa = [rng.randrange(2) for _ in range(m)]
            ge = [[i for i in range(n) if pe[i] == s] for s in range(5)]
            ga = [[i for i in range(m) if pa[i] == s] for s in range(2)]
            ge, ga = [g for g in ge if g], [g for g in ga if g]
        for key, thr in (("name", "0.001"), ("site", "0.0025"), ("qualname", "0")):
            opts = ["--key", key, "--time-threshold-ms", thr]
            want = json.loads(no_paths(analyze(*opts, e, a)))
            sE = shard(d, "%s-%s-Es" % (way, key), E, ge, incomplete=2)
            sA = shard(d, "%s-%s-As" % (way, key), A, ga, incomplete=1)
            # raw analyze over the shards in that order: the same sets
            assert json.loads(no_paths(analyze(*opts, sE, sA))) == want, (way, key)
            SE = summarize_each(sE, sE + ".sum", *opts)
            SA = summarize_each(sA, sA + ".sum", *opts)
            # exactly what analyzing the same shards gives (paths included)
            assert analyze(*opts, SE, SA) == analyze(*opts, sE, sA), (way, key)
            assert json.loads(no_paths(analyze(*opts, SE, SA))) == want, (way, key)


@lt.test
def summary_size_grows_with_elements_not_executions():
    d = lt.tmpdir()
    rng = random.Random(2)
    base = [ltgen.planted_exec(rng, False) for _ in range(20)]
    small, big = os.path.join(d, "small.jsonl"), os.path.join(d, "big.jsonl")
    ltgen.write_trace(small, base)
    ltgen.write_trace(big, base * 50)	# the same executions, 50 times each
    for f in (small, big):
        lt.leaktrace("summarize", "--time-threshold-ms", "0", f, "-o", f + ".ltsum")
    ls, lb = (open(f + ".ltsum").read().splitlines() for f in (small, big))
    assert len(ls) == len(lb), (len(ls), len(lb))
    assert json.loads(lb[0])["executions"] == 1000
    # only the counts differ: the same elements, spans and witnesses
    strip = lambda lines: [re.sub(r'"(n|executions)":\d+', "", x) for x in lines]
    assert strip(ls) == strip(lb)
    assert os.path.getsize(big + ".ltsum") < os.path.getsize(small + ".ltsum") * 1.2


def bad(args, *words):
    r = lt.leaktrace(*args, check=False)
    assert r.returncode == 2, (args, r.returncode, r.stdout, r.stderr)
    for w in words:
        assert w in r.stderr, (w, r.stderr)
    return r.stderr


def rewrite(src, dst, fn):
    op = gzip.open if src.endswith(".gz") else open
    lines = op(src, "rt").read().splitlines()
    with open(dst, "w") as f:
        f.write("\n".join(fn(lines)) + "\n")
    return dst


@lt.test
def bad_summaries_and_mixes_exit_2_naming_the_difference():
    d = lt.tmpdir()
    E, A, e, a = make(d, n=10, m=10)
    se, sa = os.path.join(d, "e.ltsum"), os.path.join(d, "a.ltsum")
    lt.leaktrace("summarize", e, "-o", se)
    lt.leaktrace("summarize", a, "-o", sa)

    def hdr(fn):
        def f(lines):
            h = json.loads(lines[0])
            fn(h)
            return [json.dumps(h)] + lines[1:]
        return f
    v2 = rewrite(se, os.path.join(d, "v2.ltsum"), hdr(lambda h: h.update(format=2)))
    bad(["analyze", v2, sa], "v2.ltsum", "format")
    bad(["summarize", v2, "-o", os.path.join(d, "x")], "format")
    # other capture options: the trace header's root
    rooted = rewrite(se, os.path.join(d, "rooted.ltsum"), hdr(lambda h: h["capture"].update(root="predict")))
    bad(["analyze", rooted, sa], "root", "predict")
    bad(["analyze", os.path.join(d, "E.jsonl"), rooted], "root")	# trace vs summary
    bad(["summarize", se, rooted, "-o", os.path.join(d, "x")], "rooted.ltsum", "root")
    ta = rewrite(a, os.path.join(d, "A-root.jsonl"),
                 lambda ls: [json.dumps(dict(json.loads(ls[0]), root="tick", mechanism="usdt+resume"))] + ls[1:])
    bad(["analyze", se, ta], "root", "tick")
    # the probe mechanism follows the Python build and records the same
    # trees: a fleet mixes them, the summary says "mixed"
    m1 = rewrite(e, os.path.join(d, "E-usdt.jsonl"),
                 lambda ls: [json.dumps(dict(json.loads(ls[0]), mechanism="usdt+resume"))] + ls[1:])
    m2 = rewrite(a, os.path.join(d, "A-sites.jsonl"),
                 lambda ls: [json.dumps(dict(json.loads(ls[0]), mechanism="resume+return-sites"))] + ls[1:])
    mixed = os.path.join(d, "mixed.ltsum")
    lt.leaktrace("summarize", m1, m2, "-o", mixed)
    assert json.loads(open(mixed).readline())["capture"]["mechanism"] == "mixed"
    assert analyze(se, m2) == analyze(e, a)
    # but --no-durations (its mechanisms) records no time: refused
    nd = rewrite(a, os.path.join(d, "A-nodur.jsonl"),
                 lambda ls: [json.dumps(dict(json.loads(ls[0]), mechanism="usdt-returns"))] + ls[1:])
    bad(["analyze", se, nd], "durations")
    bad(["summarize", m1, nd, "-o", os.path.join(d, "x")], "A-nodur.jsonl", "durations")
    # how values were captured (the trace header's capture fields):
    # plain against hashed never compares
    cap = dict(str_len=64, max_depth=0, args=False, exclude=[])
    pl = rewrite(e, os.path.join(d, "E-plain.jsonl"),
                 lambda ls: [json.dumps(dict(json.loads(ls[0]), values="plain", **cap))] + ls[1:])
    hs = rewrite(a, os.path.join(d, "A-hashed.jsonl"),
                 lambda ls: [json.dumps(dict(json.loads(ls[0]), values="hashed", hash_key="6b1f", **cap))]
                 + ls[1:])
    spl = os.path.join(d, "plain.ltsum")
    lt.leaktrace("summarize", pl, "-o", spl)
    bad(["analyze", spl, hs], "values", "hashed")
    bad(["summarize", pl, hs, "-o", os.path.join(d, "x")], "A-hashed.jsonl", "values")
    # analysis options that the summary fixed
    bad(["analyze", "--key", "site", se, sa], "--key name", "--key site")
    bad(["analyze", "--time-threshold-ms", "10", se, sa], "--time-threshold-ms 50", "10")
    only = os.path.join(d, "only.ltsum")
    lt.leaktrace("summarize", "--observe", "returns", e, "-o", only)
    bad(["analyze", only, sa], "without the calls observation")
    lt.leaktrace("analyze", "-q", "--observe", "returns", only, sa)	# what it has is enough
    bad(["analyze", "--auc", se, sa], "--auc")
    bad(["analyze", "--report", os.path.join(d, "r.html"), se, sa], "--report")
    # a cut or damaged summary is never read as a smaller one
    cut = rewrite(se, os.path.join(d, "cut.ltsum"), lambda ls: ls[:-3])
    bad(["analyze", cut, sa], "cut.ltsum", "truncated")
    dropped = rewrite(se, os.path.join(d, "dropped.ltsum"), lambda ls: ls[:2] + ls[3:])
    bad(["analyze", dropped, sa], "dropped.ltsum", "elements")
    neg = rewrite(se, os.path.join(d, "neg.ltsum"),
                  lambda ls: [ls[0], re.sub(r'"n":\d+', '"n":-1', ls[1])] + ls[2:])
    bad(["analyze", neg, sa], "neg.ltsum:2")
    bad(["summarize", e], "-o")


lt.main()
