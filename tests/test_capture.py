"""Traces say how they were made: the header records the values mode, the
hash key's fingerprint (never the key), str_len, the depth limit, excludes,
--args; analyze and detect refuse (exit 2, naming the difference) to compare
traces recorded differently unless --force; a trailer with an error is
warned about."""
import json
import os

import lt

SCRIPT = ("import random\ndef secret(i):\n    return 'v%d' % (i % 5)\n"
          "def handle(i):\n    return len(secret(i))\n"
          "for i in range(12):\n    handle(i)\n")


def record(d, name, *opts):
    script = os.path.join(d, "s.py")
    if not os.path.exists(script):
        lt.write_file(d, "s.py", SCRIPT)
    out = os.path.join(d, name)
    lt.leaktrace("record", "--root", "handle", *opts, "-o", out, "--", lt.PY, script)
    return out


def header(path):
    with open(path) as f:
        return json.loads(f.readline())


def analyze(a, b, *opts):
    return lt.leaktrace("analyze", "-q", "--format", "json", *opts, a, b, check=False)


def refused(p, *words):
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "recorded differently" in p.stderr and "--force" in p.stderr, p.stderr
    for w in words:
        assert w in p.stderr, (w, p.stderr)


@lt.test
def header_says_how_the_trace_was_made():
    lt.need_root()
    d = lt.tmpdir()
    key = os.path.join(d, "k")
    t = record(d, "h.jsonl", "--hash-values", "--hash-key", key, "--str-len", "9",
               "--max-depth", "3", "--exclude-path", "*/nothere/*")
    h = header(t)
    assert h["values"] == "hashed" and h["str_len"] == 9 and h["max_depth"] == 3, h
    assert h["exclude"] == ["*/nothere/*"] and h["args"] is False, h
    with open(key, "rb") as f:
        k = f.read()
    fp = h["hash_key"]
    assert len(fp) == 16 and k.hex() not in json.dumps(h) and fp not in k.hex(), h
    p = header(record(d, "p.jsonl"))
    assert p["values"] == "plain" and p["str_len"] == 64 and p["max_depth"] == 0, p
    assert p["exclude"] == [] and "hash_key" not in p, p
    n = header(record(d, "n.jsonl", "--no-values"))
    assert n["values"] == "none", n


@lt.test
def random_hash_keys_are_refused_not_leaks():
    lt.need_root()
    d = lt.tmpdir()
    a = record(d, "a.jsonl", "--hash-values")
    b = record(d, "b.jsonl", "--hash-values")
    refused(analyze(a, b), "hash key", header(a)["hash_key"], header(b)["hash_key"])
    f = analyze(a, b, "--force")
    assert f.returncode == 0 and "compared anyway" in f.stderr, f.stderr
    # the reason for the refusal: every value differs between the two
    assert json.loads(f.stdout)["observations"]["returns"]["D_IF"], f.stdout
    # the same key: same images, no leak
    key = os.path.join(d, "k")
    a = record(d, "ka.jsonl", "--hash-values", "--hash-key", key)
    b = record(d, "kb.jsonl", "--hash-values", "--hash-key", key)
    p = analyze(a, b)
    assert p.returncode == 0, p.stderr
    assert not json.loads(p.stdout)["observations"]["returns"]["D_IF"], p.stdout


@lt.test
def other_capture_differences_are_refused():
    lt.need_root()
    d = lt.tmpdir()
    plain = record(d, "plain.jsonl")
    cases = [(("--hash-values", "--hash-key", os.path.join(d, "k")), "values plain vs hashed"),
             (("--exclude-path", "*/nothere/*"), "exclude-path none vs */nothere/*"),
             (("--max-depth", "1"), "max_depth 0 vs 1"),
             (("--str-len", "8"), "str_len 64 vs 8")]
    for i, (opts, why) in enumerate(cases):
        other = record(d, "o%d.jsonl" % i, *opts)
        refused(analyze(plain, other), why)
        assert analyze(plain, other, "--force").returncode == 0
    # a directory of traces (e.g. rotated files) is checked file by file
    os.mkdir(os.path.join(d, "set"))
    os.rename(other, os.path.join(d, "set", "2.jsonl"))
    lt.run(["cp", plain, os.path.join(d, "set", "1.jsonl")])
    refused(analyze(plain, os.path.join(d, "set")), "str_len 64 vs 8")
    # detect compares its labelled traces with each other
    rules = os.path.join(d, "r.json")
    lt.leaktrace("analyze", "-q", "--rules-out", rules, plain, plain)
    p = lt.leaktrace("detect", "--rules", rules, "--clean", plain, "--adv",
                     os.path.join(d, "set", "2.jsonl"), check=False)
    refused(p, "str_len 64 vs 8")
    p = lt.leaktrace("detect", "--force", "--rules", rules, "--clean", plain, "--adv",
                     os.path.join(d, "set", "2.jsonl"), check=False)
    assert p.returncode == 0, p.stderr
    # the rules say how their traces were made: detect checks a trace
    # against them even alone
    with open(rules) as f:
        cap = json.load(f)["capture"]
    assert cap["values"] == "plain" and cap["str_len"] == 64 and cap["root"] == "handle", cap
    refused(lt.leaktrace("detect", "--rules", rules, os.path.join(d, "set", "2.jsonl"), check=False),
            "str_len 64 vs 8", "r.json")
    assert lt.leaktrace("detect", "--rules", rules, plain, check=False).returncode == 0
    # live detection with rules learned from traces made otherwise: warned
    p = lt.leaktrace("record", "--root", "handle", "--str-len", "8", "--rules", rules, "-o",
                     os.path.join(d, "live.jsonl"), "--", lt.PY, os.path.join(d, "s.py"))
    assert "learned from traces recorded differently (str_len 64 vs 8)" in p.stderr, p.stderr


@lt.test
def older_traces_without_capture_still_compare():
    d = lt.tmpdir()
    t = os.path.join(d, "old.jsonl")
    with open(t, "w") as f:
        f.write('{"type":"header","format":1,"tool":"leaktrace"}\n'
                '{"type":"exec","id":0,"pid":1,"tid":1,"start_ns":0,"complete":true,'
                '"root":{"fn":"f","ret":{"type":"int","value":1}}}\n'
                '{"type":"stats","execs":1,"calls":1,"lost_events":0,"incomplete_execs":0,'
                '"truncated_strings":0}\n')
    p = analyze(t, t)
    assert p.returncode == 0 and "differently" not in p.stderr, p.stderr


@lt.test
def trailer_with_error_is_warned_about():
    d = lt.tmpdir()
    t = os.path.join(d, "full.jsonl")
    with open(t, "w") as f:
        f.write('{"type":"header","format":1,"tool":"leaktrace"}\n'
                '{"type":"exec","id":0,"pid":1,"tid":1,"start_ns":0,"complete":true,'
                '"root":{"fn":"f","ret":{"type":"int","value":1}}}\n'
                '{"type":"stats","error":"write failed: No space left on device"}\n')
    p = analyze(t, t)
    assert p.returncode == 0, p.stderr
    assert "No space left on device" in p.stderr and "ends early" in p.stderr, p.stderr


lt.main()
