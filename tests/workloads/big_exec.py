"""Write a leaktrace trace to stdout whose line 3 is one execution of SIZE
bytes (over 2 GiB for tests/test_big_trace.py), cheaply: the same call node
repeated, the last call of the big execution returning 999; then a small
execution (line 4) and, with --bad, a malformed line 5 before the trailer.
usage: big_exec.py SIZE [--bad]"""
import sys

SMALL = (b'{"type":"exec","id":%d,"pid":1,"tid":1,"start_ns":0,"complete":true,"root":{"fn":"run",'
         b'"ret":{"type":"int","value":1},"dur_ns":9,"calls":[{"fn":"leaf","ret":{"type":"int","value":1},'
         b'"dur_ns":1}]}}\n')


def main():
    size, bad = int(sys.argv[1]), "--bad" in sys.argv[2:]
    out = sys.stdout.buffer
    out.write(b'{"type":"header","format":1,"tool":"leaktrace"}\n')
    out.write(SMALL % 0)
    head = (b'{"type":"exec","id":1,"pid":1,"tid":1,"start_ns":0,"complete":true,"root":{"fn":"run",'
            b'"ret":{"type":"int","value":1},"dur_ns":9,"calls":[')
    # interned once by the reader: a long name costs bytes, not memory
    node = b'{"fn":"big_%s","ret":{"type":"int","value":1},"dur_ns":1},' % (b"x" * 2000)
    last = b'{"fn":"leaf","ret":{"type":"int","value":999},"dur_ns":1}]}}\n'
    n = (size - len(head) - len(last)) // len(node) + 1
    out.write(head)
    chunk = node * 1000
    for _ in range(n // 1000):
        out.write(chunk)
    out.write(node * (n % 1000))
    out.write(last)
    out.write(SMALL % 2)
    if bad:
        out.write(b'{"type":"exec","id":3,"complete":7,"root":{"fn":"run"}}\n')
    out.write(b'{"type":"stats","execs":3,"calls":%d,"lost_events":0,"incomplete_execs":0,'
              b'"truncated_strings":0}\n' % (n + 5))
    sys.stderr.write("%d\n" % (len(head) + n * len(node) + len(last)))


if __name__ == "__main__":
    main()
