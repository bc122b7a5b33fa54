#!/usr/bin/python3
"""Reference Autobahn-mode echo client on Python `websockets`, used to check fuzzingserver.py.

  websockets_echo_client.py --autobahn ws://127.0.0.1:PORT [--agent NAME] [--no-deflate]

Same contract as `echo_client --autobahn`: getCaseCount, then runCase 1..N echoing every
message until the server closes, then updateReports. Exits 0 when all of that ran.
"""

import argparse
import asyncio
import sys

import websockets


async def run(url, agent, compression):
    opts = dict(max_size=None, max_queue=None, ping_interval=None, compression=compression,
                open_timeout=10, close_timeout=5)
    async with websockets.connect(url + "/getCaseCount", **opts) as ws:
        count = int(await ws.recv())
    for n in range(1, count + 1):
        try:
            async with websockets.connect("%s/runCase?case=%d&agent=%s" % (url, n, agent), **opts) as ws:
                async for msg in ws:
                    await ws.send(msg)
        except (websockets.ConnectionClosed, websockets.InvalidHandshake, OSError):
            pass  # failing the connection is what many cases expect
        except Exception as e:  # e.g. zlib refusing an 8-bit window: that case fails, go on
            print("case %d: %s: %s" % (n, type(e).__name__, e), file=sys.stderr)
    async with websockets.connect("%s/updateReports?agent=%s" % (url, agent), **opts) as ws:
        try:
            await ws.recv()
        except websockets.ConnectionClosed:
            pass
    return count


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--autobahn", required=True, metavar="URL")
    ap.add_argument("--agent", default="websockets")
    ap.add_argument("--no-deflate", action="store_true")
    a = ap.parse_args()
    n = asyncio.run(run(a.autobahn.rstrip("/"), a.agent, None if a.no_deflate else "deflate"))
    print('{"ok":true,"cases":%d}' % n)
    sys.exit(0)
