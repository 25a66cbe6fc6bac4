"""Workloads whose executions are incomplete for a known reason, for
tests/test_reasons.py: `reasons.py MODE`.

  long: run() calls leaf() for 12 s (a recorder stops with --duration, or
        attaches with -p while it runs), printing "ready" at its start
  exit: a thread's run() calls os._exit(0) inside it
"""
import os
import sys
import threading
import time


def leaf(i):
    return i


def run(secs):
    print("ready", flush=True)
    end = time.monotonic() + secs
    n = 0
    while time.monotonic() < end:
        n += leaf(1)
        time.sleep(0.005)
    return n


def dies():
    leaf(2)
    os._exit(0)


def run_exit():
    leaf(1)
    dies()


if __name__ == "__main__":
    if sys.argv[1] == "long":
        run(float(sys.argv[2]) if len(sys.argv) > 2 else 12)
        # alive a while after: a recorder that did not see run() start
        # names its code from this process's memory
        time.sleep(1)
    else:
        t = threading.Thread(target=run_exit)
        t.start()
        t.join()
