"""An aiohttp server (Debian's python3-aiohttp) under concurrent loopback
clients, for tests/test_coro.py: record with --root predict.

usage: aio_http.py clean|adv|mix NCLIENTS
The handler predict() awaits the request body and a child coroutine whose
return value depends on the first argument (the difference `leaktrace
analyze` must find; with mix, the odd-numbered clients' requests are the
adversarial ones). Clients are threads with urllib; they post together
(a barrier) so that the handlers interleave. The server answers NCLIENTS
requests and exits.
"""
import asyncio
import sys
import threading
import urllib.request

from aiohttp import web

import mix

TABLE = {"clean": 3, "adv": 7}
MODE = sys.argv[1]
N = int(sys.argv[2])


async def score(text):
    await asyncio.sleep(0)
    return TABLE[mix.mode(MODE, text)] * len(text)


async def predict(request):
    body = await request.text()
    s = await score(body)
    served.append(s)
    if len(served) == N:
        done.set()
    return web.Response(text="%s %d" % (body, s))


def client(port, k, barrier, answers):
    barrier.wait(timeout=30)
    req = urllib.request.Request("http://127.0.0.1:%d/predict" % port, data=b"img-%d" % k)
    with urllib.request.urlopen(req, timeout=30) as r:
        answers[k] = r.read().decode()


async def main():
    global done
    done = asyncio.Event()
    app = web.Application()
    app.router.add_post("/predict", predict)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    barrier = threading.Barrier(N)
    answers = [None] * N
    ts = [threading.Thread(target=client, args=(port, k, barrier, answers)) for k in range(N)]
    for t in ts:
        t.start()
    await asyncio.wait_for(done.wait(), 60)
    # the last response is written after predict returns: let it go out
    await asyncio.get_running_loop().run_in_executor(None, lambda: [t.join() for t in ts])
    await runner.cleanup()
    print(answers)


served = []
asyncio.run(main())
