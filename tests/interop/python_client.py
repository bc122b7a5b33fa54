#!/usr/bin/python3
"""Python `websockets` client -> our echo_server.

ws:// and wss:// (a test CA made here, server certificate for 127.0.0.1), text and binary
messages up to 1 MiB, with permessage-deflate (websockets offers it by default) and without;
a server started with --no-deflate must refuse the offer. The server's --stats-file must show
every message echoed and compressed frames both ways.

    python_client.py ECHO_SERVER
"""

from __future__ import annotations

import argparse
import ssl
import tempfile
from pathlib import Path

from interop_support import (binary_message, check, listening_process, make_certs,
                             require_file, require_websockets, run_bounded, stop_and_read_stats,
                             text_message)

websockets = require_websockets()

MIB = 1 << 20


def negotiated(ws) -> str:
    return ws.response_headers.get("Sec-WebSocket-Extensions", "") or ""


async def round_trips(uri: str, *, ssl_ctx, compression, expect_deflate: bool) -> int:
    """Opens one connection, echoes a mix of messages, closes with 1000; returns messages sent."""
    async with websockets.connect(uri, ssl=ssl_ctx, compression=compression, max_size=4 * MIB,
                                  open_timeout=10, close_timeout=10, ping_interval=None) as ws:
        ext = negotiated(ws)
        if expect_deflate:
            check("permessage-deflate" in ext, f"{uri}: expected permessage-deflate, got {ext!r}")
            check(any(e.name == "permessage-deflate" for e in ws.extensions),
                  f"{uri}: websockets did not activate permessage-deflate")
        else:
            check(ext == "", f"{uri}: expected no extension, got {ext!r}")

        messages: list[str | bytes] = []
        for i in range(40):
            size = (0, 1, 125, 126, 65535, 65536, 3000)[i % 7]
            messages.append(text_message(size, i) if i % 2 == 0 else binary_message(size, i, i % 4 == 1))
        messages += [text_message(MIB, 7), binary_message(MIB, 8), binary_message(MIB, 9, False)]
        for i, msg in enumerate(messages):
            await ws.send(msg)
            echo = await ws.recv()
            check(type(echo) is type(msg),
                  f"{uri}: message {i} ({type(msg).__name__}) echoed as {type(echo).__name__}")
            check(echo == msg, f"{uri}: message {i} ({len(msg)} bytes) echoed wrong ({len(echo)} bytes)")
        # A burst without waiting: echoes come back in order.
        burst = [text_message(100 + i, i) for i in range(50)]
        for msg in burst:
            await ws.send(msg)
        for i, msg in enumerate(burst):
            check(await ws.recv() == msg, f"{uri}: burst message {i} echoed wrong")
        await ws.close(1000, "done")
        check(ws.close_code == 1000, f"{uri}: close code {ws.close_code}, expected 1000")
        return len(messages) + len(burst)


async def main(echo_server: str) -> None:
    with tempfile.TemporaryDirectory(prefix="duplex-interop-") as tmp_name:
        tmp = Path(tmp_name)
        ca, cert, key = make_certs(tmp)
        client_tls = ssl.create_default_context(cafile=str(ca))

        stats_file = tmp / "stats.json"
        with listening_process([echo_server, "--port", "0", "--host", "127.0.0.1",
                                "--stats-file", str(stats_file)]) as plain, \
             listening_process([echo_server, "--port", "0", "--host", "127.0.0.1",
                                "--tls-cert", str(cert), "--tls-key", str(key)]) as tls, \
             listening_process([echo_server, "--port", "0", "--host", "127.0.0.1",
                                "--no-deflate"]) as no_deflate:
            sent = 0
            sent += await round_trips(f"ws://127.0.0.1:{plain.port}/echo", ssl_ctx=None,
                                      compression="deflate", expect_deflate=True)
            sent += await round_trips(f"ws://127.0.0.1:{plain.port}/", ssl_ctx=None,
                                      compression=None, expect_deflate=False)
            await round_trips(f"wss://127.0.0.1:{tls.port}/echo", ssl_ctx=client_tls,
                              compression="deflate", expect_deflate=True)
            await round_trips(f"wss://localhost:{tls.port}/echo", ssl_ctx=client_tls,
                              compression=None, expect_deflate=False)
            await round_trips(f"ws://127.0.0.1:{no_deflate.port}/echo", ssl_ctx=None,
                              compression="deflate", expect_deflate=False)

            stats = stop_and_read_stats(plain, stats_file)
            check(stats["connections"] == 2, f"stats: connections {stats['connections']}, expected 2")
            check(stats["messages_in"] == sent and stats["messages_out"] == sent,
                  f"stats: expected {sent} messages in and out, got {stats}")
            check(stats["compressed_frames_in"] > 0, f"stats: no compressed frame in: {stats}")
            check(stats["compressed_frames_out"] > 0, f"stats: no compressed frame out: {stats}")
            for name, server in (("tls", tls), ("no-deflate", no_deflate)):
                code = server.stop()
                check(code == 0, f"{name} echo_server exited with {code} after SIGTERM")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("echo_server")
    args = ap.parse_args()
    run_bounded(main(require_file(args.echo_server, "echo_server")), 90)
