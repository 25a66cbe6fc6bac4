"""Type objects created and freed in turn, each named T<k>: the allocator
gives later ones the address of earlier ones. run(k) renames a class of
its own to A<k> and returns an instance of it from make(), then returns
an instance of T<k> from g(); it returns k. Prints how many type
addresses were used again."""
import gc
import sys

ids = []


class A:
    pass


def make():
    return A()


def run(k):
    A.__name__ = "A%d" % k
    make()
    T = type("T%d" % k, (), {})
    ids.append(id(T))

    def g():
        return T()
    g()
    return k


for k in range(int(sys.argv[1])):
    run(k)
    gc.collect()    # a type is in cycles with its own dict and mro
print("reused", len(ids) - len(set(ids)), flush=True)
