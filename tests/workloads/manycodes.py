"""More code objects than the BPF side's `seen` map holds (65536), all
kept alive: run(0) calls each once, so the first ones' names are evicted;
run(1) calls the first 100 again, whose names must be sent again
(tests/test_codecache.py). argv[1]: how many; prints "defined N"."""
import sys

N = int(sys.argv[1])
ns = {}
exec(compile("".join("def f%d():\n    return %d\n" % (i, i) for i in range(N)), "many.py", "exec"), ns)
FNS = [ns["f%d" % i] for i in range(N)]


def run(again):
    for f in (FNS[:100] if again else FNS):
        f()
    return again


run(0)
run(1)
print("defined", len(FNS), flush=True)
