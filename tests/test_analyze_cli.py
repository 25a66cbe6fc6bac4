"""leaktrace analyze end to end: planted leaks in generated traces and paper
directories are found exactly; bad inputs give exit 2 and a clear line."""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lt
import ltgen


def dif(out, obs):
    return [(e["key"], e.get("value"), e.get("path")) for e in out["observations"][obs]["D_IF"]]


@lt.test
def planted_leaks_found_exactly():
    d = lt.tmpdir()
    E, E2 = ltgen.make_sets(d)
    ltgen.write_trace(os.path.join(d, "c.jsonl"), E)
    ltgen.write_trace(os.path.join(d, "a.jsonl.gz"), E2)
    out = json.loads(lt.leaktrace("analyze", os.path.join(d, "c.jsonl"), os.path.join(d, "a.jsonl.gz"),
                                  "--format", "json").stdout)
    assert out["E"] == 20 and out["E_prime"] == 30 and out["skipped"] == 0
    assert dif(out, "returns") == [("leaf", "int:100", "plant_reader[0]/plant_mid[0]/Plant.leaf[0]")], dif(out, "returns")
    assert dif(out, "calls") == [("plant_reader>plant_mid", "3", "plant_reader[0]/plant_mid[0]")], dif(out, "calls")
    assert [k for k, _, _ in dif(out, "time")] == ["slow_fn"], dif(out, "time")
    # human output and rules file
    rules = os.path.join(d, "rules.json")
    p = lt.leaktrace("analyze", os.path.join(d, "c.jsonl"), os.path.join(d, "a.jsonl.gz"), "--rules-out", rules)
    assert "(leaf, int:100)" in p.stdout, p.stdout
    assert "[0] plant_reader / [0] plant_mid / [0] Plant.leaf -> int:100" in p.stdout, p.stdout
    r = json.load(open(rules))
    assert r["format"] == 1 and len(r["rules"]) == 3, r
    t = [x for x in r["rules"] if x["observation"] == "time"][0]
    assert t["key"] == "slow_fn" and 11 < t["min_ms"] < 200, t
    # qualname and site keys
    out = json.loads(lt.leaktrace("analyze", os.path.join(d, "c.jsonl"), os.path.join(d, "a.jsonl.gz"),
                                  "-j", "--key", "site", "--observe", "returns").stdout)
    assert dif(out, "returns") == [("plant_reader[0]/plant_mid[0]/Plant.leaf[0]", "int:100",
                                    "plant_reader[0]/plant_mid[0]/Plant.leaf[0]")], out
    assert list(out["observations"]) == ["returns"]
    out = json.loads(lt.leaktrace("analyze", os.path.join(d, "c.jsonl"), os.path.join(d, "a.jsonl.gz"),
                                  "-j", "--key", "qualname", "--observe", "returns").stdout)
    assert [x[:2] for x in dif(out, "returns")] == [("Plant.leaf", "int:100")], out


@lt.test
def paper_directories():
    d = lt.tmpdir()
    E, E2 = ltgen.make_sets(d, 8, 12, seed=11)
    for variant in ("return", "time"):
        ltgen.write_paper_dir(os.path.join(d, "E-" + variant), E, variant)
        ltgen.write_paper_dir(os.path.join(d, "A-" + variant), E2, variant)
    out = json.loads(lt.leaktrace("analyze", os.path.join(d, "E-return"), os.path.join(d, "A-return"),
                                  "-j").stdout)
    assert out["E"] == 8 and out["E_prime"] == 12
    assert [x[:2] for x in dif(out, "returns")] == [("leaf", "int:100")], dif(out, "returns")
    assert [x[:2] for x in dif(out, "calls")] == [("plant_reader>plant_mid", "3")], dif(out, "calls")
    assert dif(out, "time") == []  # no durations in return files
    out = json.loads(lt.leaktrace("analyze", os.path.join(d, "E-time"), os.path.join(d, "A-time"),
                                  "-j", "--observe", "time").stdout)
    assert [x[0] for x in dif(out, "time")] == ["slow_fn"], dif(out, "time")


@lt.test
def incomplete_are_skipped_and_counted():
    d = lt.tmpdir()
    E, E2 = ltgen.make_sets(d, 3, 3)
    ltgen.write_trace(os.path.join(d, "c.jsonl"), E, incomplete=4)
    ltgen.write_trace(os.path.join(d, "a.jsonl"), E2, incomplete=1)
    out = json.loads(lt.leaktrace("analyze", os.path.join(d, "c.jsonl"), os.path.join(d, "a.jsonl"), "-j").stdout)
    assert out["skipped"] == 5 and out["E"] == 3
    assert all(e["key"] != "junk" for o in out["observations"].values() for e in o["D_EE_prime"])


@lt.test
def empty_sets_exit_2():
    d = lt.tmpdir()
    E, E2 = ltgen.make_sets(d, 2, 2)
    ltgen.write_trace(os.path.join(d, "c.jsonl"), E)
    ltgen.write_trace(os.path.join(d, "none.jsonl"), [], incomplete=2)
    p = lt.leaktrace("analyze", os.path.join(d, "c.jsonl"), os.path.join(d, "none.jsonl"), check=False)
    assert p.returncode == 2 and "ADV" in p.stderr and "no complete execution" in p.stderr, p.stderr
    p = lt.leaktrace("analyze", os.path.join(d, "none.jsonl"), os.path.join(d, "c.jsonl"), check=False)
    assert p.returncode == 2 and "CLEAN" in p.stderr, p.stderr


@lt.test
def bad_input_exit_2():
    d = lt.tmpdir()
    E, E2 = ltgen.make_sets(d, 2, 2)
    good = os.path.join(d, "c.jsonl")
    ltgen.write_trace(good, E)
    bad = os.path.join(d, "bad.jsonl")
    lines = open(good).read().splitlines()
    lines[2] = lines[2][:-5]
    open(bad, "w").write("\n".join(lines) + "\n")
    for args, want in [((good, bad), bad + ":3: invalid JSON"),
                       ((good, os.path.join(d, "missing")), "No such file"),
                       ((good,), "exactly two"),
                       ((good, good, "--key", "x"), "--key"),
                       ((good, good, "--observe", "calls,nope"), "nope"),
                       ((good, good, "--time-threshold-ms", "-1"), "threshold")]:
        p = lt.leaktrace("analyze", *args, check=False)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        assert want in p.stderr, (args, p.stderr)
        assert len(p.stderr.strip().splitlines()) >= 1 and "Traceback" not in p.stderr


@lt.test
def bad_line_reported_once_whichever_reader_owns_it():
    """analyze parses with two readers, each building every other
    execution: a bad execution line is reported once, with its line number,
    whether it is an even or an odd one, and a good file gives the same
    result as when it is read from stdin (one reader)"""
    d = lt.tmpdir()
    E, E2 = ltgen.make_sets(d, 6, 6)
    good, adv = os.path.join(d, "c.jsonl"), os.path.join(d, "a.jsonl")
    ltgen.write_trace(good, E)
    ltgen.write_trace(adv, E2)
    # spaced (as json.dumps writes) and compact (as the recorder writes,
    # which the readers skip without parsing when not theirs)
    spaced = open(good).read().splitlines()
    compact = [json.dumps(json.loads(l), separators=(",", ":")) for l in spaced]
    for form, lines in (("spaced", spaced), ("compact", compact)):
        for i in range(1, 7):
            bad = os.path.join(d, "bad-%s%d.jsonl" % (form, i))
            cut = list(lines)
            cut[i] = cut[i].replace('"complete": true', '"complete": 7').replace(
                '"complete":true', '"complete":7')
            open(bad, "w").write("\n".join(cut) + "\n")
            p = lt.leaktrace("analyze", bad, adv, "-q", check=False)
            errs = [l for l in p.stderr.splitlines() if "must be true or false" in l]
            assert p.returncode == 2 and errs == [
                "%s:%d: \"complete\" must be true or false" % (bad, i + 1)], (form, i, p.stderr)
        path = os.path.join(d, form + ".jsonl")
        open(path, "w").write("\n".join(lines) + "\n")
        two = lt.leaktrace("analyze", path, adv, "-j", "-q").stdout
        one = lt.leaktrace("analyze", "-", adv, "-j", "-q", input="\n".join(lines) + "\n").stdout
        assert json.loads(two) == json.loads(one), form


@lt.test
def deep_nesting_100k():
    d = lt.tmpdir()
    depth = 100000
    for name, leafval in (("c.jsonl", 1), ("a.jsonl", 2)):
        with open(os.path.join(d, name), "w") as f:
            f.write('{"type":"header","format":1}\n{"type":"exec","complete":true,"root":')
            f.write('{"fn":"f","calls":[' * depth)
            f.write('{"fn":"leaf","ret":{"type":"int","value":%d}}' % leafval)
            f.write("]}" * depth)
            f.write("}\n")
    out = json.loads(lt.leaktrace("analyze", os.path.join(d, "c.jsonl"), os.path.join(d, "a.jsonl"),
                                  "-j", "--key", "site", timeout=120).stdout)
    el = out["observations"]["returns"]["D_IF"]
    assert len(el) == 1 and el[0]["value"] == "int:2" and el[0]["key"].count("/") == depth - 1


lt.main()
