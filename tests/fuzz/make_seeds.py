"""Writes the seed corpora of the fuzz harnesses under tests/fuzz/corpus/
(deterministic; run with /usr/bin/python3.11 from the repository root and
commit the result). Seeds are small valid and nearly valid inputs of each
reader; libFuzzer mutates from there.

jsonl: trace files; gzip: a mode byte + cut byte + text (compressed by the
harness) or a raw .gz file; paper: one paper JSON file; rules: rules files;
http: HTTP requests (record --metrics)."""
import gzip
import io
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import ltgen  # noqa: E402

OUT = os.path.join(HERE, "corpus")


def put(reader, name, data):
    d = os.path.join(OUT, reader)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def trace_text(roots, incomplete=0, trailer=True, compact=False):
    """compact: in the writer's shape (the reader's fast path), else spaced"""
    dumps = ltgen.writer_line if compact else json.dumps
    buf = io.StringIO()
    buf.write(dumps({"type": "header", "format": 1, "tool": "leaktrace", "python": "3.11.2",
                          "pid": 7, "root": "run", "argv": ["python3", "x.py"],
                          "start": "2026-11-25T10:00:00Z"}) + "\n")
    for i, r in enumerate(roots):
        buf.write(dumps({"type": "exec", "id": i, "pid": 7, "tid": 8, "start_ns": 1000 + i,
                              "dur_ns": 500, "complete": i % 3 != 2, "root": r}).replace("NaN", '"nan"') + "\n")
    if trailer:
        buf.write(dumps({"type": "stats", "execs": len(roots), "calls": 9, "lost_events": 1,
                              "incomplete_execs": incomplete, "truncated_strings": 2,
                              "excluded_calls": 3, "read_failures": 0}) + "\n")
    return buf.getvalue()


HAND = [
    # every value kind, args, truncated_calls, unknown keys, nested <lambda>
    {"fn": "predict", "file": "/m.py", "line": 3, "dur_ns": 90, "ret": {"type": "str", "value": "caf\u00e9 \U0001f600", "truncated": True},
     "args": [{"type": "int", "value": 1}, {"type": "float", "value": "-inf"}, {"type": "NoneType"}],
     "future": {"x": [1, {"y": None}]},
     "calls": [{"fn": "i16be", "ret": {"type": "int", "value": "123456789012345678901234567890"}, "dur_ns": 5},
               {"fn": "big", "ret": {"type": "int", "value": 9223372036854775807}},
               {"fn": "neg", "ret": {"type": "int", "value": -9223372036854775808}},
               {"fn": "f.<locals>.<lambda>", "ret": {"type": "float", "value": 0.5, "yield": True},
                "truncated_calls": 4, "calls": [{"fn": "<genexpr>", "ret": {"type": "bool", "value": False}}]},
               {"fn": "h", "ret": {"type": "str", "value": "h:00ff"}},
               {"fn": "r", "ret": {"type": "<raise>"}},
               {"fn": "e", "ret": {"type": "Color", "value": 3}}]},
    {"fn": "<thread>", "calls": [{"fn": "tick", "ret": {"type": "int", "value": 1}, "dur_ns": 1}] * 3},
]


def main():
    rng = random.Random(8)
    gen = [ltgen.rand_exec(rng, i % 2, i % 3 == 0) for i in range(6)]
    texts = {
        "hand.jsonl": trace_text(HAND),
        "gen.jsonl": trace_text(gen, incomplete=2),
        "no_trailer.jsonl": trace_text(gen[:2], trailer=False),
        "cut_line.jsonl": trace_text(gen[:2], trailer=False)[:-40],
        "blank_lines.jsonl": "\n\n" + trace_text(HAND[1:]).replace("\n", "\n\n", 1),
        "future_line.jsonl": trace_text(HAND[1:]).replace('{"type": "stats"', '{"type": "note", "x": 1}\n{"type": "stats"', 1),
        "deep.jsonl": trace_text([json.loads('{"fn":"d","calls":[' * 200 + '{"fn":"leaf"}' + ']}' * 200)]),
        "writer.jsonl": trace_text(HAND + gen, compact=True),
        "escapes.jsonl": trace_text([{"fn": "q\"\\/\b\f\n\r\t\u0001\ud83d", "ret": {"type": "str", "value": "\udc00x"}}]),
    }
    for name, t in texts.items():
        put("jsonl", name, t)
    put("jsonl", "paper_list.json", json.dumps([ltgen.to_paper(c, "return") for c in HAND[0]["calls"]]))
    # gzip: mode byte 1 = compress the text in the harness (byte 2: odd = cut)
    for name, t in texts.items():
        put("gzip", "z_" + name, b"\x01\x00" + t.encode())
    put("gzip", "cut_" + "gen.jsonl", b"\x01\x81" + texts["gen.jsonl"].encode())
    # mode byte 0 = raw .gz file bytes (fixed mtime so the seed is stable)
    put("gzip", "raw_gen.gz", b"\x00" + gzip.compress(texts["gen.jsonl"].encode(), mtime=0))
    put("gzip", "raw_two_members.gz", b"\x00" + gzip.compress(texts["hand.jsonl"][:300].encode(), mtime=0)
        + gzip.compress(texts["hand.jsonl"][300:].encode(), mtime=0))
    # paper files, both variants
    for i, r in enumerate(gen[:4] + HAND[:1]):
        for variant in ("return", "time"):
            put("paper", "%s_%d.json" % (variant, i), json.dumps([ltgen.to_paper(c, variant) for c in r.get("calls", [])]))
    put("paper", "values.json", json.dumps([
        {"name": "f()", "return": "int:100", "child": [{"name": "g()", "return": "float:0.5"},
                                                       {"name": "h()", "return": "bool:True"},
                                                       {"name": "k()", "return": "str:a:b"},
                                                       {"name": "l()", "return": "list:[1, 2]"},
                                                       {"name": "m()", "return": "int:-123456789012345678901234"}]},
        {"name": "t()", "time": 12.5, "child": []}]))
    put("paper", "empty.json", "[]")
    # rules
    rules = [
        {"observation": "returns", "key": "i16be", "value": "int:100", "key_kind": "name", "site": "open[0]/_open[0]/i16be[0]"},
        {"observation": "returns", "key": "predict", "value": "str:Result:macaw", "key_kind": "qualname"},
        {"observation": "calls", "key": "JpegImageFile._open>i16be", "value": "2", "key_kind": "qualname"},
        {"observation": "calls", "key": "open", "value": 1},
        {"observation": "calls", "key": "missing", "value": "0"},
        {"observation": "time", "key": "i16be", "min_ms": 3.5},
        {"observation": "time", "key": "predict", "min_ms": 10, "max_ms": 100, "key_kind": "name"},
        {"observation": "time", "key": "open[0]", "max_ms": 0.5, "key_kind": "site"},
        {"observation": "returns", "key": "JpegImageFile._open[1]/i16be[0]", "value": "int:101", "key_kind": "site"},
    ]
    put("rules", "all.json", json.dumps({"format": 1, "rules": rules}))
    for i, r in enumerate(rules):
        put("rules", "one_%d.json" % i, json.dumps({"format": 1, "rules": [r], "future": True}))
    put("rules", "empty.json", '{"format":1,"rules":[]}')
    # http: requests to record --metrics (the request parser)
    prom = ("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9100\r\nUser-Agent: Prometheus/2.42.0\r\n"
            "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n"
            "Accept-Encoding: gzip\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n")
    put("http", "prometheus.txt", prom)
    put("http", "curl.txt", "GET /metrics HTTP/1.0\nHost: x\n\n")
    put("http", "post.txt", "POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")
    put("http", "other.txt", "GET /../etc/passwd?x=1 HTTP/1.1\r\n\r\n")
    put("http", "partial.txt", prom[:40])
    put("http", "bad_header.txt", "GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n")
    put("http", "star.txt", "OPTIONS * HTTP/1.1\r\n\r\n")


if __name__ == "__main__":
    main()
