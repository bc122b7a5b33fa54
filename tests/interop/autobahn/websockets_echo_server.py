#!/usr/bin/python3
"""Reference echo server on Python `websockets` (Debian python3-websockets), used to check the
harnesses themselves. Same CLI subset as examples/echo_server: [--port N] [--no-deflate].
Prints `listening on <port>`; stops on SIGTERM/SIGINT.
"""

import argparse
import asyncio
import signal
import sys

import websockets


async def echo(ws, path=None):
    try:
        async for msg in ws:
            await ws.send(msg)
    except websockets.ConnectionClosed:
        pass


async def main(args):
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with websockets.serve(echo, args.host, args.port, max_size=None, max_queue=None,
                                compression=None if args.no_deflate else "deflate",
                                ping_interval=None) as server:
        port = server.sockets[0].getsockname()[1]
        print("listening on %d" % port, flush=True)
        await stop


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--no-deflate", action="store_true")
    asyncio.run(main(ap.parse_args()))
    sys.exit(0)
