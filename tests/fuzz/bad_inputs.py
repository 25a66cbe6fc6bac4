"""Writes malformed inputs of every reader into DIR (argv[1]) and prints one
line per input: NAME EXPECTED_EXIT WHERE, where WHERE is the "file:line"
prefix the error message must carry ("-" for none). Used by
tests/test_asan.sh; the cases follow issue 8: truncated gzip, invalid
UTF-8, numbers out of range, huge lines, wrong types, deep nesting."""
import gzip
import json
import os
import random
import sys

HDR = '{"type":"header","format":1,"tool":"leaktrace"}\n'
TRL = '{"type":"stats","execs":1,"calls":1,"lost_events":0,"incomplete_execs":0,"truncated_strings":0}\n'


def ex(root, **kw):
    d = {"type": "exec", "id": 0, "complete": True, "root": root}
    d.update(kw)
    return json.dumps(d) + "\n"


def main(d):
    os.makedirs(d, exist_ok=True)
    cases = []

    def put(name, data, rc, line):
        p = os.path.join(d, name)
        with open(p, "wb") as f:
            f.write(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
        cases.append((name, rc, "%s:%d" % (p, line) if line else "-"))

    good = HDR + ex({"fn": "f", "ret": {"type": "int", "value": 1}}) + TRL
    put("good.jsonl", good, 0, 0)
    # gzip cut short: warning, the complete lines are read
    rnd = random.Random(4)
    body = "".join(ex({"fn": "f", "ret": {"type": "str", "value": "%030x" % rnd.getrandbits(120)}})
                   for _ in range(400))
    z = gzip.compress((HDR + body + TRL).encode(), mtime=0)
    put("cut.jsonl.gz", z[: len(z) // 2], 0, 0)
    put("garbage.gz", b"\x1f\x8b\x08\x00" + b"\xff" * 64, 2, 0)
    # invalid UTF-8 inside strings is data, not an error (the writer repairs it)
    put("bad_utf8.jsonl", HDR.encode() + b'{"type":"exec","complete":true,"root":{"fn":"f\xff\xfe","ret":{"type":"str","value":"\xc3("}}}\n' + TRL.encode(), 0, 0)
    # wrong types and out-of-range numbers: exit 2 with file:line
    put("fn_type.jsonl", HDR + ex({"fn": 5}) + TRL, 2, 2)
    put("no_fn.jsonl", HDR + ex({"calls": []}) + TRL, 2, 2)
    put("calls_type.jsonl", HDR + ex({"fn": "f", "calls": {"a": 1}}) + TRL, 2, 2)
    put("complete_type.jsonl", HDR + ex({"fn": "f"}, complete="yes") + TRL, 2, 2)
    put("line_range.jsonl", HDR + ex({"fn": "f", "line": 2 ** 40}) + TRL, 2, 2)
    put("dur_range.jsonl", HDR + ex({"fn": "f", "dur_ns": 2 ** 64}) + TRL, 2, 2)
    put("dur_neg.jsonl", HDR + ex({"fn": "f", "dur_ns": -1}) + TRL, 2, 2)
    put("int_value_type.jsonl", HDR + ex({"fn": "f", "ret": {"type": "int", "value": "12x"}}) + TRL, 2, 2)
    put("bool_value_type.jsonl", HDR + ex({"fn": "f", "ret": {"type": "bool", "value": 1}}) + TRL, 2, 2)
    put("ret_type.jsonl", HDR + ex({"fn": "f", "ret": [1]}) + TRL, 2, 2)
    put("format2.jsonl", HDR.replace('"format":1', '"format":2') + TRL, 2, 1)
    put("no_header.jsonl", ex({"fn": "f"}) + TRL, 2, 1)
    put("not_json.jsonl", HDR + "{nope}\n" + TRL, 2, 2)
    put("array_line.jsonl", HDR + "[1,2]\n" + TRL, 2, 2)
    # a 32 MiB line (one str value) is read; a line that is all spaces, too
    put("huge_line.jsonl", HDR + ex({"fn": "f", "ret": {"type": "str", "value": "x" * (32 << 20)}}) + TRL, 0, 0)
    # 2,000,000 nested lists: refused (limit 1,000,000 containers), exit 2
    put("nest_2m.jsonl", HDR + '{"type":"exec","complete":true,"root":{"fn":"f","x":' + "[" * 2000000 + "]" * 2000000 + "}}\n" + TRL, 2, 2)
    # 100,000-deep call tree: read
    deep = '{"fn":"d","calls":[' * 100000 + '{"fn":"leaf"}' + "]}" * 100000
    put("deep_100k.jsonl", HDR + '{"type":"exec","complete":true,"root":' + deep + "}\n" + TRL, 0, 0)
    # paper files
    put("paper_bad_int.json", '[{"name":"f()","return":"int:1x"}]', 2, 1)
    put("paper_child_type.json", '[{"name":"f()","child":5}]', 2, 1)
    put("paper_time_neg.json", '[{"name":"f()","time":-1}]', 2, 1)
    put("paper_cut.json", '[{"name":"f()","child":[{"name":"g()"', 2, 1)
    # numbers out of range for their field
    put("pid_range.jsonl", HDR + ex({"fn": "f"}, pid=2 ** 40) + TRL, 2, 2)
    put("exec_dur_neg.jsonl", HDR + ex({"fn": "f"}, dur_ns=-5) + TRL, 2, 2)
    put("paper_time_huge.json", '[{"name":"f()","time":1e300}]', 2, 1)
    for name, rc, where in cases:
        print(name, rc, where)


if __name__ == "__main__":
    main(sys.argv[1])
