"""An asyncio streams server (asyncio.start_server on loopback) under
concurrent clients, for tests/test_coro.py: record with --root handle.

usage: aio_streams.py clean|adv|mix NCLIENTS
Each client (a thread with a blocking socket) sends its name, waits until
every client has, then sends its request line: the server's handlers are all
suspended in readline() at once, so their runs interleave on the event loop
thread. The server answers NCLIENTS requests and exits. lookup() answers
from a table chosen by the first argument: the return-value difference that
`leaktrace analyze` must find between a clean and an adversarial run; with
mix, the odd-numbered clients' requests are the adversarial ones.
"""
import asyncio
import socket
import sys
import threading

import mix

TABLE = {"clean": 3, "adv": 7}
MODE = sys.argv[1]
N = int(sys.argv[2])


def parse(line):
    return line.decode().strip()


async def lookup(name):
    await asyncio.sleep(0)
    return TABLE[mix.mode(MODE, name)] + len(name)


async def handle(reader, writer):
    name = parse(await reader.readline())
    req = parse(await reader.readline())
    score = await lookup(name)
    writer.write(b"%s %d\n" % (req.encode(), score))
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    served.append(score)
    if len(served) == N:
        done.set()
    return score


def client(port, k, barrier, answers):
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"client-%d\n" % k)
        barrier.wait(timeout=30)
        s.sendall(b"req%d\n" % k)
        answers[k] = s.makefile().readline().strip()


async def main():
    global done
    done = asyncio.Event()
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    barrier = threading.Barrier(N)
    answers = [None] * N
    ts = [threading.Thread(target=client, args=(port, k, barrier, answers)) for k in range(N)]
    for t in ts:
        t.start()
    await asyncio.wait_for(done.wait(), 60)
    server.close()
    await server.wait_closed()
    for t in ts:
        t.join()
    print(answers)


served = []
asyncio.run(main())
