"""In-process reference tracer (the paper's kind of profiler) for tests.

Runs a Python script under sys.settrace and writes the call trees it sees
in leaktrace's trace format (docs/FORMAT.md §1-§2), so that a recording made from
outside can be compared call for call with what the interpreter itself
reports. Only Python functions are recorded, like the USDT probes see them.

A coroutine or async generator frame is one call from its start to its
final return (docs/FORMAT.md §2, "Coroutines"); each run of a plain
generator is a call of its own. At a coroutine's yield its node is kept, keyed by the frame, and a resume continues it (the
calls of every run are its children) when it happens inside the execution
the node belongs to; the outermost root of an execution that suspends takes
its execution along, so that executions interleave on a thread (asyncio).

It sees every thread (also those of _thread.start_new_thread) and forked
children (their executions are written by them, as they complete: each
line is flushed, no buffered line is written twice), names types by their
C tp_name, runs SCRIPT with sys.path[0] its directory as `python SCRIPT`
does, and takes 3.13's yield reported at the RESUME after it for a yield.
Its blind spots, where it and the recorder differ by design: what runs
after SCRIPT returns (atexit, generators finalised at interpreter exit),
sub-interpreters (settrace is per interpreter), code run while another
tracer or profiler is set (sys.settrace is its own), and durations.

usage: python3.11 oracle.py [--root FUNC] [--str-len N] -o OUT SCRIPT [ARGS...]
"""
import _thread
import ctypes
import dis
import inspect
import json
import math
import os
import runpy
import sys
import threading
import time

# a frame suspends at YIELD_VALUE, and before 3.11 also at YIELD_FROM
# (await / yield from delegating to a suspended sub-iterator)
YIELDS = {dis.opmap["YIELD_VALUE"], dis.opmap.get("YIELD_FROM", -1)}
RETURNS = {dis.opmap["RETURN_VALUE"], dis.opmap.get("RETURN_CONST", -1)}
# the frames whose runs are one call: coroutines and async generators (a
# plain generator's runs are calls of their own)
STITCHED = inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR


def tp_name(t):
    # the C-level tp_name, as the tracer reads it (offset 24 on 64-bit)
    return ctypes.c_char_p.from_address(id(t) + 24).value.decode()


BIGINT_DIGITS = 511     # leaktrace.h LT_BIGINT_DIGITS: 30-bit digits sent whole
if hasattr(sys, "set_int_max_str_digits"):
    sys.set_int_max_str_digits(0)   # every int leaktrace writes whole


def bigint_marker(v):
    """FORMAT.md §2: an int of more than BIGINT_DIGITS digits is written
    "[-]<int of BITS bits #HASH>", HASH the FNV-1a 64 of its most
    significant BIGINT_DIGITS digits (little-endian 32-bit words)"""
    a, digits = abs(v), []
    while a:
        digits.append(a & (2 ** 30 - 1))
        a >>= 30
    h = 0xcbf29ce484222325
    for d in digits[-BIGINT_DIGITS:]:
        for b in d.to_bytes(4, "little"):
            h = ((h ^ b) * 0x100000001b3) & (2 ** 64 - 1)
    return "%s<int of %d bits #%016x>" % ("-" if v < 0 else "", abs(v).bit_length(), h)


def encode(v, str_len, hashed=False):
    t = type(v)
    r = {"type": tp_name(t)}
    if t is bool:
        r["value"] = v
    elif t is int:
        if -2**63 <= v < 2**63:
            r["value"] = v
        elif (abs(v).bit_length() + 29) // 30 > BIGINT_DIGITS:
            r["value"] = bigint_marker(v)
            r["truncated"] = True
        else:
            r["value"] = str(v)
    elif t is float:
        r["value"] = v if math.isfinite(v) else ("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf"))
    elif t is str:
        b = v.encode("utf-8", "replace")
        if len(b) > str_len:
            cut = str_len
            while cut > 0 and (b[cut] & 0xC0) == 0x80:
                cut -= 1
            r["value"] = b[:cut].decode("utf-8", "replace")
            r["truncated"] = True
        else:
            r["value"] = v.encode("utf-8", "replace").decode("utf-8")
    return r


def qualname(code):
    """co_qualname where the Python has it (3.11+), else co_name"""
    return getattr(code, "co_qualname", code.co_name)


YIELD_FROM = dis.opmap.get("YIELD_FROM", -1)
YIELD_VALUE = dis.opmap["YIELD_VALUE"]
RESUME = dis.opmap.get("RESUME", -1)


def last_op(frame):
    """the opcode of the frame's last instruction (f_lasti: a byte offset).
    Before 3.11 a frame suspended in YIELD_FROM (await, yield from) has
    f_lasti rewound to the instruction before it, to repeat it on resume."""
    code, i = frame.f_code.co_code, frame.f_lasti
    if i + 2 < len(code) and code[i + 2] == YIELD_FROM:
        return YIELD_FROM
    # 3.13 reports a suspended frame at the RESUME after its YIELD_VALUE
    if code[i] == RESUME and i >= 2 and code[i - 2] == YIELD_VALUE:
        return YIELD_VALUE
    return code[i]


def op_yields(frame, exc):
    """the frame leaves by a yield (not an exception passing a yield)"""
    return last_op(frame) in YIELDS and not exc


def name_matches(qual, want):
    return qual == want or qual.rsplit(".", 1)[-1] == want


class Oracle:
    def __init__(self, root, str_len, out):
        self.root = root
        self.str_len = str_len
        self.out = out
        self.lock = threading.Lock()
        self.next_id = 0
        self.tls = threading.local()
        # suspended frames: frame -> {node, is_root, exec, owner, t0, run}
        self.susp = {}

    def state(self):
        s = getattr(self.tls, "s", None)
        if s is None:
            s = self.tls.s = {"stack": [], "exec": None, "depth": 0}
        return s

    def resume(self, s, frame):
        """a suspended frame runs again: True if it continues its node"""
        with self.lock:
            e = self.susp.pop(frame, None)
        if e is None:
            return False
        # an owner brings its execution back to a thread that runs none;
        # any other frame continues inside the execution it belongs to.
        # Else (a cancellation thrown from the event loop into a chain of
        # awaiting coroutines) the thread switches to its execution until
        # the frame leaves
        saved = None
        if s["exec"] is not None if e["owner"] else e["exec"] is not s["exec"]:
            saved = (s["exec"], s["depth"])
            s["depth"] = 0 if e["owner"] else 1 << 20
        s["exec"] = e["exec"]
        if e["is_root"]:
            s["depth"] += 1
        s["stack"].append([e["node"], e["is_root"], time.monotonic_ns(), False, e["t0"], e["run"], saved])
        return True

    def tracer(self, frame, event, arg):
        if event != "call":
            return None
        code = frame.f_code
        if code.co_filename == __file__:
            return None	# its own fork hooks: no call of the script
        s = self.state()
        if self.susp and self.resume(s, frame):
            return self.local
        is_root = name_matches(qualname(code), self.root)
        node = None
        if is_root and s["depth"] == 0:
            node = {"fn": qualname(code), "file": code.co_filename, "line": code.co_firstlineno}
            s["exec"] = {"start": time.monotonic_ns(), "root": node, "run": None,
                         "tid": threading.get_native_id()}
        elif s["depth"] > 0:
            node = {"fn": qualname(code), "file": code.co_filename, "line": code.co_firstlineno}
            parent = s["stack"][-1][0]
            parent.setdefault("calls", []).append(node)
        if is_root:
            s["depth"] += 1
        if node is None:
            return None
        now = time.monotonic_ns()
        s["stack"].append([node, is_root, now, False, now, None, None])
        return self.local

    def local(self, frame, event, arg):
        s = self.state()
        if not s["stack"]:
            return None
        if event == "exception":
            # before 3.9 the StopIteration of a finished awaited coroutine
            # is an exception event at the YIELD_FROM that took its value
            if not (arg[0] is StopIteration and YIELD_FROM >= 0 and
                    frame.f_code.co_code[frame.f_lasti] == YIELD_FROM):
                s["stack"][-1][3] = True
        elif event == "line":
            s["stack"][-1][3] = False
        elif event == "return":
            node, is_root, ts, exc, t0, run, saved = s["stack"].pop()
            now = time.monotonic_ns()
            node["dur_ns"] = now - t0
            if run is not None or (op_yields(frame, exc) and frame.f_code.co_flags & STITCHED):
                run = (run or 0) + now - ts
                node["run_ns"] = run
            # the last instruction tells a return or yield from an exit by
            # an exception (which stops on the instruction that raised); a
            # generator closed at its yield still shows YIELD_VALUE, but it
            # got an exception event since it was resumed
            op = last_op(frame)
            if (op not in RETURNS and op not in YIELDS) or (op in YIELDS and exc):
                node["ret"] = {"type": "<raise>"}
            else:
                node["ret"] = encode(arg, self.str_len)
                if op in YIELDS:
                    node["ret"]["yield"] = True
                if op in YIELDS and frame.f_code.co_flags & STITCHED:
                    self.suspend(s, frame, node, is_root, t0, run)
                    if saved:
                        s["exec"], s["depth"] = saved
                    return self.local
            if is_root:
                s["depth"] -= 1
                if s["depth"] == 0:
                    if run is not None:
                        s["exec"]["run"] = run
                    self.emit(s["exec"])
                    s["exec"] = None
            if saved:
                s["exec"], s["depth"] = saved
        return self.local

    def suspend(self, s, frame, node, is_root, t0, run):
        e = {"node": node, "is_root": is_root, "exec": s["exec"], "owner": False,
             "t0": t0, "run": run}
        if is_root:
            s["depth"] -= 1
            if s["depth"] == 0:
                # the execution waits with its root; others run meanwhile
                e["owner"] = True
                s["exec"] = None
        with self.lock:
            self.susp[frame] = e

    def emit(self, ex, complete=True):
        with self.lock:
            # its frames still suspended keep their last yield
            for f in [f for f, e in self.susp.items() if e["exec"] is ex and not e["owner"]]:
                del self.susp[f]
            line = {"type": "exec", "id": self.next_id, "pid": os.getpid(),
                    "tid": ex["tid"], "start_ns": ex["start"],
                    "dur_ns": ex["root"]["dur_ns"]}
            if ex.get("run") is not None:
                line["run_ns"] = ex["run"]
            line.update({"complete": complete, "root": ex["root"]})
            self.next_id += 1
            self.out.write(json.dumps(line) + "\n")
            self.out.flush()	# written as it completes: a forked child's too


def main():
    args = sys.argv[1:]
    root, str_len, out = None, 64, None
    while args and args[0].startswith("-"):
        a = args.pop(0)
        if a == "--root":
            root = args.pop(0)
        elif a == "--str-len":
            str_len = int(args.pop(0))
        elif a == "-o":
            out = args.pop(0)
    if not root or not out or not args:
        sys.exit(__doc__)
    f = open(out, "w")
    f.write(json.dumps({"type": "header", "format": 1, "tool": "oracle", "root": root}) + "\n")
    o = Oracle(root, str_len, f)
    sys.argv = [os.path.abspath(args[0])] + args[1:]
    sys.path[0] = os.path.dirname(sys.argv[0])  # as `python SCRIPT` sets it

    # fork: nothing buffered, the lock not held by a thread the child lacks
    def before_fork():
        o.lock.acquire()
        f.flush()

    def in_child():
        o.lock = threading.Lock()

    os.register_at_fork(before=before_fork, after_in_parent=lambda: o.lock.release(),
                        after_in_child=in_child)
    # threads of _thread.start_new_thread too (threading.settrace only
    # reaches threading's)
    start_new_thread = _thread.start_new_thread

    def traced_start(function, args, kwargs={}):
        def run(*a, **k):
            sys.settrace(o.tracer)
            return function(*a, **k)
        return start_new_thread(run, args, kwargs)
    _thread.start_new_thread = _thread.start_new = traced_start
    threading.settrace(o.tracer)
    sys.settrace(o.tracer)
    try:
        runpy.run_path(os.path.abspath(args[0]), run_name="__main__")
    finally:
        sys.settrace(None)
        threading.settrace(None)
        # executions whose root is still suspended: their root never returned
        for e in [e for e in list(o.susp.values()) if e["owner"]]:
            o.emit(e["exec"], complete=False)
        f.write(json.dumps({"type": "stats", "execs": o.next_id}) + "\n")
        f.close()


if __name__ == "__main__":
    main()
