#!/usr/bin/python3.11
"""In-process reference recorder: docs/FORMAT.md §1-§2 traces via sys.setprofile.

    pyrecord.py --root FUNC -o TRACE.jsonl -- [PYTHON] SCRIPT.py [ARGS...]

Runs SCRIPT in this interpreter (like `python SCRIPT ARGS`) with a
sys.setprofile hook that keeps Python calls only (C functions are left out,
as the eBPF tracer cannot see them) and writes one exec line per outermost
call of FUNC (plain or qualified name). It is NOT leaktrace: it modifies the
target (a profile hook in the process, many times slower). It exists to
check the workloads before/independently of the eBPF tracer and to
cross-check leaktrace's traces; the experiment drivers use it only with
RECORDER=py.
"""
import json
import os
import runpy
import sys
import time

VALUE_TYPES = (int, float, bool, str)


def ret_of(v, str_len=64):
    t = type(v)
    if t in VALUE_TYPES:
        if t is float:
            if v != v:
                val = "nan"
            elif v in (float("inf"), float("-inf")):
                val = "inf" if v > 0 else "-inf"
            else:
                val = v
        elif t is int and not (-2**63 <= v < 2**63):
            val = str(v)
        elif t is str:
            b = v.encode("utf-8", "surrogatepass")
            if len(b) > str_len:
                return {"type": "str", "value": b[:str_len].decode("utf-8", "ignore"), "truncated": True}
            val = v
        else:
            val = v
        return {"type": t.__name__, "value": val}
    return {"type": t.__name__}


def main():
    argv = sys.argv[1:]
    if "--" not in argv:
        raise SystemExit("usage: pyrecord.py --root FUNC -o TRACE -- SCRIPT [ARGS...]")
    i = argv.index("--")
    opts, cmd = argv[:i], argv[i + 1:]
    root, out = None, None
    j = 0
    while j < len(opts):
        if opts[j] == "--root":
            root = opts[j + 1]
            j += 2
        elif opts[j] == "-o":
            out = opts[j + 1]
            j += 2
        else:
            raise SystemExit("pyrecord.py: unknown option %s" % opts[j])
    if not root or not out or not cmd:
        raise SystemExit("usage: pyrecord.py --root FUNC -o TRACE -- SCRIPT [ARGS...]")
    # `-- /usr/bin/python3.11 script.py ...` (leaktrace's form) = `-- script.py ...`
    if cmd and os.path.basename(cmd[0]).startswith("python"):
        cmd = cmd[1:]
    if not cmd or not os.path.isfile(cmd[0]):
        raise SystemExit("pyrecord.py: no script to run in %r" % (argv[i + 1:],))
    if out.endswith(".gz"):
        import gzip
        f = gzip.open(out, "wt", compresslevel=3)
    else:
        f = open(out, "w")
    f.write(json.dumps({"type": "header", "format": 1, "tool": "pyrecord",
                        "python": "%d.%d.%d" % sys.version_info[:3], "pid": os.getpid(),
                        "root": root, "argv": cmd}) + "\n")
    stats = {"type": "stats", "execs": 0, "calls": 0, "lost_events": 0,
             "incomplete_execs": 0, "truncated_strings": 0}
    stack = []          # open nodes of the current execution
    starts = []
    clock = time.monotonic_ns

    def hook(frame, event, arg):
        if event == "call":
            co = frame.f_code
            qn = getattr(co, "co_qualname", co.co_name)
            if not stack and co.co_name != root and qn != root:
                return
            node = {"fn": qn, "file": co.co_filename, "line": co.co_firstlineno, "calls": []}
            if stack:
                stack[-1]["calls"].append(node)
            stack.append(node)
            starts.append(clock())
        elif event == "return" and stack:
            end = clock()
            node = stack.pop()
            node["dur_ns"] = end - starts.pop()
            node["ret"] = ret_of(arg)
            stats["calls"] += 1
            if not stack:
                f.write(json.dumps({"type": "exec", "id": stats["execs"], "pid": os.getpid(),
                                    "tid": os.getpid(), "start_ns": end - node["dur_ns"],
                                    "dur_ns": node["dur_ns"], "complete": True,
                                    "root": node}) + "\n")
                stats["execs"] += 1

    sys.argv = cmd
    sys.path.insert(0, os.path.dirname(os.path.abspath(cmd[0])))
    sys.setprofile(hook)
    try:
        runpy.run_path(cmd[0], run_name="__main__")
    finally:
        sys.setprofile(None)
        f.write(json.dumps(stats) + "\n")
        f.close()


if __name__ == "__main__":
    main()
