"""A coroutine resumed on other threads of its process, for
tests/test_coro.py: record with --root handle.

Each request's coroutine is driven by hand, one send() per new thread, so
that it starts on one thread and resumes and returns on others. It is one
execution, tagged with the thread it started on.

--first-here: the first send() on the main thread while it is the process's
only thread (its yield may wait in its CPU's batch of records), the next
ones on new threads while the main thread holds its CPU with the GIL
released (a hash of 8 MiB): a resume on the new thread must not reach the
recorder before the yield it follows.
"""
import _thread
import hashlib
import sys
import threading
import types

BLOB = b"x" * (8 << 20)


@types.coroutine
def pause():
    yield "pause"


def double(x):
    return 2 * x


async def part(x):
    await pause()
    return double(x)


async def handle(i):
    a = await part(i)
    await pause()
    b = await part(a)
    return a + b


def drive_across_threads(coro, first_here=False):
    """one send() per new thread until the coroutine returns"""
    out = []

    def step():
        try:
            coro.send(None)
        except StopIteration as e:
            out.append(e.value)

    if first_here:
        step()
        while not out:
            # _thread: threading's start() would wait for the thread (and
            # leave the CPU) before the hash
            done = _thread.allocate_lock()
            done.acquire()
            _thread.start_new_thread(lambda: (step(), done.release()), ())
            hashlib.sha256(BLOB).digest()
            done.acquire()
        return out[0]
    while not out:
        t = threading.Thread(target=step)
        t.start()
        t.join()
    return out[0]


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--first-here"]
    for i in range(int(args[0]) if args else 2):
        print(drive_across_threads(handle(i), "--first-here" in sys.argv))
