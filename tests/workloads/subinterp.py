"""work() runs code in a sub-interpreter (3.11's _xxsubinterpreters), on
its own thread (tests/test_fidelity.py)."""
import _xxsubinterpreters as interpreters
def inner():
    return 1
def work():
    interp = interpreters.create()
    interpreters.run_string(interp, "def sub():\n    return 7\nsub()\n")
    interpreters.destroy(interp)
    return inner()
work()
