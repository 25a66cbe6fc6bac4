"""Code objects of the same qualname (an interned str, one object) created
and freed in turn, each with its own file and first line: the allocator
gives later ones the address of earlier ones. run(k) returns k; prints how
many code addresses were used again."""
import sys

ids = []


def run(k):
    src = "\n" * k + "def f():\n    return %d\n" % k
    ns = {}
    exec(compile(src, "gen%d.py" % k, "exec"), ns)
    ids.append(id(ns["f"].__code__))
    ns["f"]()
    ns.clear()      # f <-> its globals: free both now, not at a collection
    return k


for k in range(int(sys.argv[1])):
    run(k)
print("reused", len(ids) - len(set(ids)), flush=True)
