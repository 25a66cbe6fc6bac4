"""Values of every width for tests/test_bigvalues.py: ints up to the
longest sent whole, one beyond (cut, with a marker), and types that
--no-values names. run(i) is one execution."""
import sys


class Point:
    pass


def ten_1000():
    return 10 ** 1000


def two_1920():
    return 2 ** 1920


def neg_two_1920():
    return -(2 ** 1920)


def two_14000():
    return 2 ** 14000 - 1     # 4215 decimal digits, under 3.11's str() limit


def beyond(i):
    return 2 ** 20000 + i       # more than LT_BIGINT_DIGITS: cut


def small(i):
    return i - 3


def flt():
    return 2.5


def text():
    return "h\xe9llo"


def flag():
    return True


def nothing():
    return None


def obj():
    return Point()


def items():
    return [1, 2]


def run(i):
    ten_1000()
    two_1920()
    neg_two_1920()
    two_14000()
    beyond(i)
    small(i)
    flt()
    text()
    flag()
    nothing()
    obj()
    items()
    return i


for i in range(int(sys.argv[1])):
    run(i)
