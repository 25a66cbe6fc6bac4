#!/usr/bin/python3.11
"""Generate a synthetic leaktrace trace for benchmarks, fast: N executions
of about CALLS calls (20 random tree templates reused), with a planted
i16be() returning 1 (clean) or 100 (adv).
Usage: gen_trace.py N CALLS SEED clean|adv > trace.jsonl"""
import random
import sys

n, calls, seed, adv = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "adv"
rng = random.Random(seed)
out = sys.stdout
out.write('{"type":"header","format":1,"tool":"leaktrace"}\n')
fns = ["mod.f%d" % i for i in range(50)]


def node(d, budget):
    kids = []
    while budget[0] > 0 and len(kids) < 4 and d < 6:
        budget[0] -= 1
        kids.append(node(d + 1, budget))
    s = '{"fn":"%s","ret":{"type":"int","value":%d},"dur_ns":%d' % (
        rng.choice(fns), rng.randrange(3), rng.randrange(10000))
    if kids:
        s += ',"calls":[' + ",".join(kids) + "]"
    return s + "}"


templates = []
for _ in range(20):
    budget = [calls - 1]
    kids = []
    while budget[0] > 0:
        budget[0] -= 1
        kids.append(node(1, budget))
    templates.append(",".join(kids))
leak = '{"fn":"i16be","ret":{"type":"int","value":%d},"dur_ns":5}' % (100 if adv else 1)
for i in range(n):
    out.write('{"type":"exec","id":%d,"pid":1,"tid":1,"start_ns":%d,"complete":true,'
              '"root":{"fn":"<thread>","calls":[%s,%s]}}\n' % (i, i, leak, templates[i % 20]))
out.write('{"type":"stats","execs":%d,"calls":%d,"lost_events":0,"incomplete_execs":0,"truncated_strings":0}\n'
          % (n, n * calls))
