"""A coroutine resumed on other threads of its process, for
tests/test_coro.py: record with --root handle.

Each request's coroutine is driven by hand, one send() per new thread, so
that it starts on one thread and resumes and returns on others. It is one
execution, tagged with the thread it started on.
"""
import sys
import threading
import types


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


def drive_across_threads(coro):
    """one send() per new thread until the coroutine returns"""
    out = []

    def step():
        try:
            coro.send(None)
        except StopIteration as e:
            out.append(e.value)

    while not out:
        t = threading.Thread(target=step)
        t.start()
        t.join()
    return out[0]


if __name__ == "__main__":
    for i in range(int(sys.argv[1]) if len(sys.argv) > 1 else 2):
        print(drive_across_threads(handle(i)))
