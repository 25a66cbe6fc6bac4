"""Deterministic call mix for comparing the recorder with the oracle.

Each call of run(i) is one execution (record with --root run). Covers
nesting, recursion, methods, closures, lambdas, comprehensions, generators
(yield runs), exceptions through several frames, every value type the
trace format encodes, and threads.
"""
import enum
import sys
import threading
import types


class Color(enum.IntEnum):
    RED = 1


class Box:
    def __init__(self, v):
        self.v = v

    def get(self):
        return self.v

    @property
    def double(self):
        return self.v * 2


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def deep(n):
    return 0 if n == 0 else 1 + deep(n - 1)


def counter(n):
    for i in range(n):
        yield i * 10
    return "done"


def fail3():
    raise KeyError("k")


def fail2():
    return fail3()


def fail1():
    try:
        fail2()
    except KeyError:
        return "caught"


def uncaught():
    fail2()


def values(i):
    def big():
        return 2 ** 100 + i

    def neg_big():
        return -(2 ** 70)

    def edge():
        return -2 ** 63

    def flt():
        return 0.1 * (i + 1)

    def special():
        return [float("nan"), float("inf"), float("-inf")][i % 3]

    def latin():
        return "caf\xe9 %d" % i

    def bmp():
        return "\u4e2d\u6587 \u20ac%d" % i

    def astral():
        return "\U0001f600 smile %d" % i

    def long_str():
        return "x" * 60 + "\xe9" * 10

    def boolean():
        return i % 2 == 0

    def enum_member():
        return Color.RED

    def none():
        return None

    def a_list():
        return [i]

    out = [big(), neg_big(), edge(), flt(), special(), latin(), bmp(), astral(),
           long_str(), boolean(), enum_member(), none(), a_list()]
    return len(out)


@types.coroutine
def suspend():
    yield "tick"


async def co_leaf(x):
    await suspend()
    return x + 1


async def co_main(x):
    return await co_leaf(x)


def run(i):
    b = Box(i)
    total = b.get() + b.double + fib(6) + deep(40)
    squares = [k * k for k in range(3)]
    total += sum(counter(3)) + sum(squares)
    g = counter(2)
    next(g)
    g.close()
    total += len(fail1())
    try:
        uncaught()
    except KeyError:
        total += 1
    f = lambda x: x + 1
    total += f(i)
    total += values(i)
    co = co_main(i)
    co.send(None)          # runs to the suspension
    try:
        co.send(None)      # resumes, returns through StopIteration
    except StopIteration as e:
        total += e.value
    return total


def worker(k):
    for i in range(2):
        run(100 + k * 10 + i)


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    for i in range(n):
        print(run(i))
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
