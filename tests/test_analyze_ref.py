"""leaktrace analyze against the naive pairwise reference (tests/ltgen.py):
every set of every observation, every key kind, on many random trace sets."""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lt
import ltgen


def analyze_json(clean, adv, obs, kind, thr_ms, extra=()):
    p = lt.leaktrace("analyze", clean, adv, "--format", "json", "--list-all", "--observe", obs,
                     "--key", kind, "--time-threshold-ms", repr(thr_ms), *extra)
    return json.loads(p.stdout)


def compare(E, E2, tag, rng, d, runs_per=1):
    clean = os.path.join(d, "clean-%s.jsonl" % tag)
    adv = os.path.join(d, "adv-%s.jsonl.gz" % tag)
    ltgen.write_trace(clean, E, incomplete=rng.randrange(2))
    ltgen.write_trace(adv, E2)
    thr_ms = rng.choice([0, 0.0001, 0.001, 0.0025])
    thr_ns = int(thr_ms * 1e6 + 1e-6)
    for kind in ("name", "qualname", "site"):
        out = analyze_json(clean, adv, "returns,calls,time", kind, thr_ms)
        assert out["E"] == len(E) and out["E_prime"] == len(E2), out
        for obs in ("returns", "calls", "time"):
            DE, DE2, DEE, DIF = ltgen.reference(E, E2, obs, kind, thr_ns)
            o = out["observations"][obs]
            x = out["extra"][obs]
            got = (ltgen.elems(x["D_E"], obs), ltgen.elems(x["D_E_prime"], obs),
                   ltgen.elems(o["D_EE_prime"], obs), ltgen.elems(o["D_IF"], obs))
            for name, want, g in zip(("D_E", "D_E'", "D_EE'", "D_IF"), (DE, DE2, DEE, DIF), got):
                if want != g:
                    raise AssertionError("%s %s key=%s thr=%s %s: missing %s extra %s" % (
                        tag, obs, kind, thr_ms, name, sorted(want - g)[:5], sorted(g - want)[:5]))
            assert o["D_E"] == len(DE) and o["D_E_prime"] == len(DE2)
            # sorted by key then value
            keys = [(e["key"], e.get("value", "")) for e in o["D_EE_prime"]]
            if obs != "calls":
                assert keys == sorted(keys, key=lambda kv: (kv[0].encode(), kv[1].encode())), keys


@lt.test
def random_sets_match_reference():
    rng = random.Random(1234)
    d = lt.tmpdir()
    for trial in range(40):
        n = rng.choice([1, 1, 2, 3, 5])
        m = rng.choice([1, 2, 3, 4])
        plant = rng.random() < 0.6
        E = [ltgen.rand_exec(rng, False, plant) for _ in range(n)]
        E2 = [ltgen.rand_exec(rng, True, plant) for _ in range(m)]
        compare(E, E2, str(trial), rng, d)


@lt.test
def identical_sets_are_empty():
    rng = random.Random(7)
    d = lt.tmpdir()
    E = [ltgen.rand_exec(rng, False, True) for _ in range(3)]
    compare(E, [E[0], E[0]], "same", rng, d)
    compare([E[1]], [E[1]], "one", rng, d)


@lt.test
def empty_trees_and_absent_keys():
    rng = random.Random(9)
    d = lt.tmpdir()
    E = [{"fn": "<thread>"}, {"fn": "<thread>", "calls": [{"fn": "a", "dur_ns": 5000, "ret": {"type": "int", "value": 1}}]}]
    E2 = [{"fn": "<thread>", "calls": [{"fn": "b", "dur_ns": 9000}]}]
    compare(E, E2, "absent", rng, d)
    E = [{"fn": "<thread>", "calls": [{"fn": "a", "calls": [{"fn": "c"}]}]}] * 2
    E2 = [{"fn": "<thread>"}] * 3
    compare(E, E2, "gone", rng, d)


lt.main()
