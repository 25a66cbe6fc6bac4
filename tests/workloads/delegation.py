"""throw() and close() into plain generators delegating with `yield from`
and into coroutines delegating with `await` (issue 22), for
tests/test_coro.py: record with --root run.

Each run of a plain generator is a call of its own. A run entered by
throw() or close() is a call of the function that called them, also when
the exception goes through a delegating generator that does not run
(outer below): the in-process view of sys.settrace.
"""
import sys


def double(x):
    return 2 * x


def inner():
    try:
        yield 1
        yield 2
    except ValueError:
        yield double(21)
    return "inner-done"


def outer():
    r = yield from inner()
    yield r


class Tick:
    """an awaitable that suspends its awaiter once"""
    def __await__(self):
        return (yield "tick")


async def ainner():
    try:
        await Tick()
        await Tick()
    except ValueError:
        await Tick()
        return double(21)
    return 0


async def aouter():
    return await ainner()


def coro_delegation(i):
    c = aouter()
    c.send(None)
    c.throw(ValueError("into inner"))     # goes to inner through outer
    try:
        c.send(None)                         # inner returns, so does outer
    except StopIteration as e:
        r = e.value
    c2 = aouter()
    c2.send(None)
    c2.close()                               # closes inner, then outer
    return r + i


def run(i):
    g = outer()
    a = next(g)
    b = g.throw(ValueError("into inner"))   # inner catches, yields: outer does not run
    c = next(g)                              # inner returns, outer yields
    return a + b + len(c) + coro_delegation(i)


def close_through(i):
    """plain generators closed through a delegating one: the records are
    those of a generator that closes one it holds (tests/test_coro.py:
    incomplete, never a wrong tree marked complete)"""
    g2 = outer()
    next(g2)
    g2.close()                               # closes inner, then outer
    g3 = outer()
    next(g3)
    try:
        g3.throw(KeyError("through"))        # through inner and outer
    except KeyError:
        pass
    return i


def watch_instructions():
    """3.12+: an instruction event's tool on outer's code hides its
    opcodes (INSTRUMENTED_INSTRUCTION): the BPF side reads them from the
    code's monitoring data to see it suspended in its yield from
    (tests/test_reasons.py)"""
    mon = sys.monitoring
    mon.use_tool_id(mon.DEBUGGER_ID, "watch")
    mon.register_callback(mon.DEBUGGER_ID, mon.events.INSTRUCTION, lambda code, off: None)
    mon.set_local_events(mon.DEBUGGER_ID, outer.__code__, mon.events.INSTRUCTION)


def watch_yields():
    """3.12+: a PY_YIELD tool puts INSTRUMENTED_YIELD_VALUE over every
    YIELD_VALUE, the delegating generator's too: still seen suspended in
    its yield from (tests/test_reasons.py)"""
    mon = sys.monitoring
    mon.use_tool_id(mon.DEBUGGER_ID, "watch")
    mon.register_callback(mon.DEBUGGER_ID, mon.events.PY_YIELD, lambda code, off, value: None)
    mon.set_events(mon.DEBUGGER_ID, mon.events.PY_YIELD)


if __name__ == "__main__":
    if "--watch-instructions" in sys.argv:
        sys.argv.remove("--watch-instructions")
        watch_instructions()
    if "--watch-yields" in sys.argv:
        sys.argv.remove("--watch-yields")
        watch_yields()
    for i in range(int(sys.argv[1]) if len(sys.argv) > 1 else 3):
        print(run(i), close_through(i))
