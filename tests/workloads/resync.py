"""Many small executions for the loss tests (tests/test_resync.py).

run(i) returns i, so that each recorded execution is matched with the
oracle's by its root's value. Between executions the module frame calls
nothing else in Python.
"""
import sys


def leaf(x):
    return x * 2


def mid(x):
    return leaf(x) + leaf(x + 1)


def bad(x):
    return x + None


def gen(n):
    for k in range(n):
        yield k


def run(i):
    t = 0
    for k in range(4):
        t += mid(i + k)
    for v in gen(2):
        t += v
    try:
        bad(i)
    except TypeError:
        pass
    return i


for i in range(int(sys.argv[1])):
    run(i)
