# In-process baseline: the paper's kind of profiler. Runs a script under
# sys.setprofile, builds the same call trees as `leaktrace record --root`
# (Python calls only, qualified name, file, first line, return type and
# value per docs/FORMAT.md §2, duration) and writes them as JSON Lines at exit.
#
#   inproc_tracer.py --root FUNC -o OUT.jsonl SCRIPT [ARGS...]
#
# Trees are kept in memory and written at exit, so the target's measured
# loop pays for building them, not for serialising them (the cheaper
# choice for this baseline).
import json
import math
import runpy
import sys
import time


def main():
    argv = sys.argv[1:]
    root, out = None, None
    while argv and argv[0].startswith("-"):
        opt = argv.pop(0)
        if opt == "--root":
            root = argv.pop(0)
        elif opt == "-o":
            out = argv.pop(0)
        else:
            sys.exit(f"inproc_tracer: unknown option {opt}")
    if not argv or not root or not out:
        sys.exit("usage: inproc_tracer.py --root FUNC -o OUT SCRIPT [ARGS...]")

    execs = []
    stack = []          # [code, start_ns, children] per open Python frame
    depth = [0]         # open calls of the root function
    now = time.perf_counter_ns
    str_len = 64

    def value(r):
        t = type(r)
        if t is int:
            return {"type": "int", "value": r if -2**63 <= r < 2**63 else str(r)}
        if t is bool:
            return {"type": "bool", "value": r}
        if t is float:
            return {"type": "float",
                    "value": r if math.isfinite(r) else ("nan" if r != r else ("inf" if r > 0 else "-inf"))}
        if t is str:
            b = r.encode("utf-8", "replace")
            if len(b) > str_len:
                return {"type": "str", "value": b[:str_len].decode("utf-8", "ignore"), "truncated": True}
            return {"type": "str", "value": r}
        return {"type": t.__name__}

    def prof(frame, event, arg):
        if event == "call":
            co = frame.f_code
            if co.co_name == root or co.co_qualname == root:
                depth[0] += 1
            stack.append((co, now(), []))
        elif event == "return":
            if not stack:
                return
            co, t0, kids = stack.pop()
            node = {"fn": co.co_qualname, "file": co.co_filename, "line": co.co_firstlineno,
                    "ret": value(arg), "dur_ns": now() - t0, "calls": kids}
            if stack:
                stack[-1][2].append(node)
            if co.co_name == root or co.co_qualname == root:
                depth[0] -= 1
                if depth[0] == 0:
                    execs.append((t0, node))

    sys.argv = argv
    sys.path[0] = __import__("os").path.dirname(argv[0]) or "."
    sys.setprofile(prof)
    try:
        runpy.run_path(argv[0], run_name="__main__")
    finally:
        sys.setprofile(None)
        with open(out, "w") as f:
            f.write(json.dumps({"type": "header", "format": 1, "tool": "inproc_tracer",
                                "root": root, "argv": argv}) + "\n")
            calls = 0
            for i, (t0, node) in enumerate(execs):
                f.write(json.dumps({"type": "exec", "id": i, "start_ns": t0,
                                    "dur_ns": node["dur_ns"], "complete": True,
                                    "root": node}) + "\n")
                todo = [node]
                while todo:
                    n = todo.pop()
                    calls += 1
                    todo.extend(n["calls"])
            f.write(json.dumps({"type": "stats", "execs": len(execs), "calls": calls,
                                "lost_events": 0}) + "\n")


main()
