"""A tracer or profiler in the target itself (tests/test_fidelity.py):
usage: tracers.py MODE, MODE one of
  none        no hook
  monitoring  3.12+ sys.monitoring tool 3, PY_START, PY_RETURN and CALL
              callbacks returning None
  disable     the same callbacks returning sys.monitoring.DISABLE (each
              event then fires once per code location)
  settrace    sys.settrace, the hook its own local tracer (line events too)
  setprofile  sys.setprofile (c_call/c_return events too)
The hooks make no Python call (their own call is all a recorder sees of
them) and count their invocations; work() prints the work's results and
that count, so a recording can be checked against it."""
import sys

MODE = sys.argv[1]
seen = []


def mon_hook(code, offset, *rest):
    seen.append(offset)


def mon_disable(code, offset, *rest):
    seen.append(offset)
    return sys.monitoring.DISABLE


def trace_hook(frame, event, arg):
    seen.append(event)
    return trace_hook


def profile_hook(frame, event, arg):
    seen.append(event)


def on():
    if MODE in ("monitoring", "disable"):
        m = sys.monitoring
        m.use_tool_id(3, "leaktrace-test")
        cb = mon_hook if MODE == "monitoring" else mon_disable
        for ev in (m.events.PY_START, m.events.PY_RETURN, m.events.CALL):
            m.register_callback(3, ev, cb)
        m.set_events(3, m.events.PY_START | m.events.PY_RETURN | m.events.CALL)
    elif MODE == "settrace":
        sys.settrace(trace_hook)
    elif MODE == "setprofile":
        sys.setprofile(profile_hook)


def off():
    if MODE in ("monitoring", "disable"):
        sys.monitoring.set_events(3, 0)
        sys.monitoring.free_tool_id(3)
    elif MODE == "settrace":
        sys.settrace(None)
    elif MODE == "setprofile":
        sys.setprofile(None)


def square(x):
    return x * x


def squares(n):
    for i in range(n):
        yield square(i)


def fails(x):
    raise ValueError(x)


def caught(x):
    try:
        fails(x)
    except ValueError as e:
        return str(e)


def counter(n):
    try:
        for i in range(n):
            yield square(i)
    finally:
        # closed at a yield in a try: 3.12+ runs the frame with
        # GeneratorExit whatever the tracing (not only under the oracle's)
        square(0)


def drive(i):
    """a generator driven by next() and left suspended: the hooks of its
    yields (3.11 also of every return) run after its return sites fired,
    other calls come before it runs again, and it is closed (it runs) when
    drive's frame is cleared"""
    it = counter(3 + i)
    return next(it) + next(it)


class Box:
    def __init__(self, v):
        self.v = v

    def get(self):
        return self.v + 0.5


def run(i):
    s = sum(squares(4))
    b = Box(i)
    return [s, b.get(), caught("e%d" % i), drive(i)]


def work():
    on()
    out = [run(i) for i in range(3)]
    # a generator created and driven by next() in the profiled frame
    # itself, never run to its end before work returns
    it = counter(2)
    out.append(next(it) + next(it))
    off()
    return out


out = work()
print(out, len(seen))
