"""A chain of suspended generators (the sieve of test_generators' "fun"
doctest) collected inside work(): each closes the next from inside its own
exit (tests/test_fidelity.py)."""
def intsfrom(i):
    while 1:
        yield i
        i += 1
def exclude_multiples(n, ints):
    for i in ints:
        if i % n:
            yield i
def sieve(ints):
    prime = next(ints)
    yield prime
    not_divisible_by_prime = exclude_multiples(prime, ints)
    for p in sieve(not_divisible_by_prime):
        yield p
def work():
    g = {}
    g["primes"] = sieve(intsfrom(2))
    out = [next(g["primes"]) for _ in range(8)]
    g.clear()
    return out
for i in range(3):
    work()
