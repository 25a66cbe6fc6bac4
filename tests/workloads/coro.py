"""Coroutines, async generators and delegating generators, for comparing the
recorder with the oracle (tests/test_coro.py): record with --root handle.

Requests interleave on the event loop's thread; each call of handle(i) is one
execution from its start to its final return, across every await. Covers:
awaited child coroutines (several resumes each), an async generator under
`async for`, `async with`, a task cancelled while it awaits (the exception is
thrown into the awaiting chain). throw() and close() into delegating
generators and coroutines: tests/workloads/delegation.py. Values are
deterministic (no timers, no clocks).
"""
import asyncio
import sys


def double(x):
    return 2 * x


async def step(x):
    await asyncio.sleep(0)
    y = double(x)
    await asyncio.sleep(0)
    return y + 1


async def ticks(n):
    for k in range(n):
        await asyncio.sleep(0)
        yield double(k)


class Session:
    async def __aenter__(self):
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc):
        await asyncio.sleep(0)
        return False


async def wait_forever(ev):
    await ev.wait()
    return "never"


async def handle(i, forever=False):
    if forever:
        # (a run entered by throw() has no frame start: calls it made
        # before suspending again would be unseen; this one returns)
        try:
            await wait_forever(asyncio.Event())
        except asyncio.CancelledError:
            return "cancelled-%d" % i
    async with Session():
        x = await step(i)
        total = 0
        async for k in ticks(2):
            total += k
        x += await step(x)
    return x + total


async def main(n):
    tasks = [asyncio.ensure_future(handle(i)) for i in range(n)]
    stuck = asyncio.ensure_future(handle(n, forever=True))
    while not all(t.done() for t in tasks):
        await asyncio.sleep(0)
    stuck.cancel()
    print(await asyncio.gather(*tasks), await stuck)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 4))
