"""work() runs code in a sub-interpreter (3.11/3.12's _xxsubinterpreters,
3.13+'s _interpreters), on the calling thread (tests/test_fidelity.py). With
an argument, a file: before work(), another sub-interpreter runs, and each
of the two appends its id, as it reports it itself, to that file."""
import sys
try:
    import _interpreters as interpreters
except ImportError:
    import _xxsubinterpreters as interpreters
REPORT = """
import %s as i
c = i.get_current()
open(%%r, 'a').write('%%%%d\\n' %%%% int(c[0] if isinstance(c, tuple) else c))
""" % interpreters.__name__ % (sys.argv[1] if len(sys.argv) > 1 else "")
def inner():
    return 1
def work():
    interp = interpreters.create()
    interpreters.run_string(interp, "def sub():\n    return 7\nsub()\n" + REPORT * (len(sys.argv) > 1))
    interpreters.destroy(interp)
    return inner()
if len(sys.argv) > 1:
    other = interpreters.create()
    interpreters.run_string(other, REPORT)
    interpreters.destroy(other)
work()
