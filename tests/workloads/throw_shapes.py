"""throw() into generators delegating with `yield from` (issue 22), the
shapes of CPython's own tests (test_yield_from.TestPEP380Operation,
test_generators.GeneratorThrowTest), for tests/test_coro.py: record with
--root run, returning, hold or collected: exact and complete. A generator thrown into
(or closed) that closes or drops one it holds (hold) leaves the records of a
delegation but for what the BPF side reads of the caller frame (LT_RF2_*).

The exception goes to the innermost generator through the delegating ones,
which do not run until it leaves it: its run is a call of the function that
called throw() (the in-process view of sys.settrace); a delegating
generator's run that follows is one too.
"""
import gc
import sys


def note(x):
    return x


def sub_raises():
    yield


def deleg_raises():
    try:
        raise KeyError("a")
    except Exception:
        yield from sub_raises()


def context_with_yield_from():
    gen = deleg_raises()
    gen.send(None)
    try:
        gen.throw(ValueError)       # sub_raises raises, deleg_raises too
    except ValueError as e:
        return type(e.__context__).__name__


def g2_finally():
    try:
        yield "g2 spam"
        yield "g2 more spam"
    finally:
        note("Finishing g2")


def g1_finally():
    try:
        yield "g1 ham"
        yield from g2_finally()
        yield "g1 eggs"
    finally:
        note("Finishing g1")


def delegating_throw():
    g = g1_finally()
    next(g)
    next(g)
    try:
        g.throw(ValueError("tomato ejected"))
    except ValueError as e:
        return e.args[0]


def g2_catches():
    try:
        yield "g2 spam"
        yield "g2 more spam"
    except LookupError:
        note("Caught")
        yield "g2 lunch saved"
        yield "g2 yet more spam"


def g1_catches():
    yield "g1 ham"
    yield from g2_catches()
    yield "g1 eggs"


def returning_value_from_delegated_throw():
    g = g1_catches()
    next(g)
    next(g)
    x = g.throw(LookupError("tomato ejected"))
    return [x] + list(g)


def inner_returns(value):
    try:
        yield 1
    except ValueError:
        note("inner caught ValueError")
    return value


def outer_gets(value):
    v = yield from inner_returns(value)
    note(v)
    yield v


def catching_and_returning():
    g = outer_gets(2)
    next(g)
    v = g.throw(ValueError)        # inner returns 2, outer yields it
    g.close()
    return v


def f_yields_on_exit():
    try:
        yield
    except GeneratorExit:
        yield


def g_over_f():
    yield from f_yields_on_exit()
    note("Exit g")


def generator_exit_into_subgen_that_yields():
    gi = g_over_f()
    next(gi)
    try:
        gi.throw(GeneratorExit)
    except RuntimeError as e:
        return e.args[0]


def three_deep_inner():
    try:
        yield 1
    except KeyError:
        return note(7)


def three_deep_middle():
    r = yield from three_deep_inner()
    yield r


def three_deep_outer():
    r = yield from three_deep_middle()
    yield r


def three_deep():
    g = three_deep_outer()
    next(g)
    v = g.throw(KeyError)          # through outer and middle into inner
    g.close()
    return v


def run(i):
    got = [context_with_yield_from(), delegating_throw(),
           returning_value_from_delegated_throw(),
           generator_exit_into_subgen_that_yields()]
    return len(repr(got)) + i


def returning(i):
    """a value returned from a delegated throw() (apart: 3.11's
    sys.settrace sees no call for the delegating generator's run that
    follows, which CPython enters past its RESUME, so the oracle nests its
    yield as its caller's there)"""
    return catching_and_returning() + three_deep() + i


def held():
    try:
        yield 1
    finally:
        note("held closed")


def holder(h):
    try:
        yield 1
    except ValueError:
        h.close()                  # holder runs: held's run is its call
        yield 2


def holder_drops():
    h = held()
    next(h)
    try:
        yield 1
    except ValueError:
        h = None                   # the last reference: held's close is its call
        yield 2


def holder_closes_on_exit(h):
    try:
        yield 1
    finally:
        h.close()                  # closed itself (GeneratorExit): it runs


def holder_delegates_then_closes(h):
    try:
        yield from sub_raises()    # suspended in a yield from when thrown into
    except KeyError:
        h.close()                  # not its delegate: its own call
    yield 3


def hold(i):
    """holder is thrown into (or closed) and closes a generator it holds,
    suspended inside a try, or drops the last reference to it: held's exit
    names holder as its caller, as a delegation's would; the BPF side
    tells them apart (holder runs: not suspended in a yield from whose
    delegate is held)"""
    h = held()
    next(h)
    g = holder(h)
    next(g)
    got = g.throw(ValueError)
    g = holder_drops()
    next(g)
    got += g.throw(ValueError)
    h = held()
    next(h)
    g = holder_closes_on_exit(h)
    next(g)
    g.close()
    h = held()
    next(h)
    g = holder_delegates_then_closes(h)
    next(g)
    got += g.throw(KeyError)
    return got + i


class Node:
    """a cycle: node -> generator -> its frame -> node"""
    def __init__(self):
        self.gen = self.generate()
        next(self.gen)

    def generate(self):
        try:
            yield self
        finally:
            note("closed")


def counter(n):
    yield n


def collected(i):
    """cycles of suspended generators collected while a generator is being
    created (3.11, 3.12: the allocation runs the collector, inside the
    frame that only creates it, which is no call): their closing runs are
    calls of collected (the oracle, whose own code runs the collector, does
    not see them)"""
    for _ in range(3):
        Node()
    gc.set_threshold(1)
    gc.enable()
    g = counter(i)
    gc.disable()
    gc.set_threshold(700)
    return next(g)


if __name__ == "__main__":
    gc.disable()
    for i in range(int(sys.argv[1]) if len(sys.argv) > 1 else 3):
        print(run(i), returning(i), hold(i), collected(i))
    gc.enable()
