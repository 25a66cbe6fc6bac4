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


def enrich(roots, rng):
    """files, lines, arguments and truncated strings on some nodes (not
    on the planted ones)"""
    for r in roots:
        stack = [r]
        while stack:
            n = stack.pop()
            stack.extend(n.get("calls", []))
            if n["fn"].startswith(("<", "plant", "Plant")) or rng.random() < 0.5:
                continue
            n["file"] = rng.choice(["/usr/lib/python3/x.py", "caf\u00e9.py", "a\\b.py"])
            n["line"] = rng.randrange(0, 2000)
            if rng.random() < 0.3:
                n["args"] = [ltgen.rand_ret(rng) or {"type": "dict"} for _ in range(rng.randrange(3))]
            if rng.random() < 0.1:
                n["ret"] = {"type": "str", "value": "long text", "truncated": True}


@lt.test
def fast_path_and_fallback_agree():
    """exec lines in the writer's shape (also with every non-ASCII
    character escaped) are built by a fast path, lines in any other shape
    (key order, unknown keys, spaces) by the generic JSON parser
    (tests/unit/test_trace_read.c checks which path read which line): the
    results are the same; bad lines in the middle of a compact file are
    reported once, with their line, exit 2"""
    d = lt.tmpdir()
    rng = random.Random(8)
    E, E2 = ltgen.make_sets(d, 12, 16, seed=21)
    enrich(E, rng)
    enrich(E2, rng)

    def lines(roots, form):
        out = [json.dumps({"type": "header", "format": 1, "tool": "leaktrace"})]
        for i, r in enumerate(roots):
            ex = ltgen.writer_order({"type": "exec", "id": i, "pid": 1, "tid": 1, "start_ns": 10 * i,
                               "complete": True, "root": r})
            if form == "writer":
                out.append(json.dumps(ex, separators=(",", ":"), ensure_ascii=False))
            elif form == "spaced":
                out.append(json.dumps(ex, ensure_ascii=False))
            elif form == "sorted":
                out.append(json.dumps(ex, separators=(",", ":"), sort_keys=True, ensure_ascii=False))
            elif form == "escaped":
                out.append(json.dumps(ex, separators=(",", ":")))
            elif form == "unknown_keys":
                t = json.dumps(ex, separators=(",", ":"), ensure_ascii=False)
                out.append(t.replace('{"fn":', '{"new":[1,{"x":null}],"fn":').replace(
                    '"complete":', '"newer":"y","complete":'))
        out.append(json.dumps({"type": "stats", "execs": len(roots), "calls": 0, "lost_events": 0,
                               "incomplete_execs": 0, "truncated_strings": 0}))
        return out

    results = {}
    for form in ("writer", "spaced", "sorted", "escaped", "unknown_keys"):
        c, a = os.path.join(d, form + "-c.jsonl"), os.path.join(d, form + "-a.jsonl")
        open(c, "w").write("\n".join(lines(E, form)) + "\n")
        open(a, "w").write("\n".join(lines(E2, form)) + "\n")
        results[form] = [lt.leaktrace("analyze", c, a, "-q", *opts).stdout.replace(form, "FORM")
                         for opts in (["-j"], ["-j", "--key", "site"], ["--key", "qualname"],
                                      ["-j", "--observe", "calls,time", "--time-threshold-ms", "0"])]
        if form == "writer":
            one = lt.leaktrace("analyze", "-", a, "-j", "-q", input=open(c).read()).stdout
            assert one == results[form][0], "stdin (one reader) differs"
    out = json.loads(results["writer"][0])
    assert dif(out, "returns") == [("leaf", "int:100", "plant_reader[0]/plant_mid[0]/Plant.leaf[0]")], out
    for form, res in results.items():
        assert res == results["writer"], form

    # bad lines between good ones, at even and odd executions
    good = lines(E, "writer")
    adv = os.path.join(d, "writer-a.jsonl")
    bad_cases = [
        (lambda l: l.replace('"complete":true', '"complete":7'), '"complete" must be true or false'),
        (lambda l: l.replace('{"fn":"plant_reader"', '{"fn":"plant_reader","line":-1'),
         'node "line" must be a non-negative integer'),
        (lambda l: l.replace('"fn":"plant_reader"', '"fn":"plant_re\\xader"'),
         "invalid JSON at byte %d: bad escape in string"),
        (lambda l: l.replace('{"type":"int","value":1}', '{"type":"int","value":"1x"}'),
         "int value must be an integer or a decimal string"),
        (lambda l: l[:len(l) // 2], "invalid JSON at byte %d: "),
    ]
    for k, (mutate, want) in enumerate(bad_cases):
        for i in (2, 5):
            cut = list(good)
            cut[i] = mutate(cut[i])
            assert cut[i] != good[i], (k, i)
            if "%d" in want:
                # the byte the generic parser stops at: its own message
                want_i = want % (cut[i].find("\\x") + 2 if "escape" in want else len(cut[i].encode()) + 1)
            else:
                want_i = want
            bad = os.path.join(d, "bad%d-%d.jsonl" % (k, i))
            open(bad, "w").write("\n".join(cut) + "\n")
            p = lt.leaktrace("analyze", bad, adv, "-q", check=False)
            errs = [l for l in p.stderr.splitlines() if l.startswith(bad)]
            assert p.returncode == 2 and len(errs) == 1 and errs[0].startswith(
                "%s:%d: %s" % (bad, i + 1, want_i)), (k, i, p.stderr)


lt.main()
