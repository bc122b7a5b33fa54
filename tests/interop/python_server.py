#!/usr/bin/python3
"""Our echo_client -> a Python `websockets` echo server.

ws:// and wss:// (verified with --ca against a test CA made here), text and binary, 1 MiB
messages, with and without permessage-deflate on either side; a wrong CA must make the client
fail.

    python_server.py ECHO_CLIENT
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import tempfile
from pathlib import Path

from interop_support import (check, fail, make_ca, make_certs, require_file, require_websockets,
                             run_bounded)

websockets = require_websockets()

MIB = 1 << 20


class echo_peer:
    """A websockets server on 127.0.0.1, port 0, that echoes and counts what it saw."""

    def __init__(self) -> None:
        self.messages = 0
        self.extensions: list[str] = []

    async def handler(self, ws, path=None) -> None:  # websockets 10 passes path, 11+ does not
        self.extensions.append(ws.response_headers.get("Sec-WebSocket-Extensions", "") or "")
        async for msg in ws:
            self.messages += 1
            await ws.send(msg)


async def run_client(echo_client: str, url: str, *args: str, expect_ok: bool = True) -> dict:
    proc = await asyncio.create_subprocess_exec(echo_client, url, "--timeout-ms", "20000", *args,
                                                stdout=asyncio.subprocess.PIPE,
                                                stdin=asyncio.subprocess.DEVNULL)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        fail(f"echo_client {url} {' '.join(args)} did not finish within 60s")
    lines = out.decode(errors="replace").strip().splitlines()
    what = f"echo_client {url} {' '.join(args)}"
    check(bool(lines), f"{what}: printed nothing (exit {proc.returncode})")
    try:
        result = json.loads(lines[-1])
    except json.JSONDecodeError:
        fail(f"{what}: last line is not JSON: {lines[-1]!r}")
    if expect_ok:
        check(proc.returncode == 0 and result.get("ok") is True,
              f"{what}: exit {proc.returncode}, result {result}")
    else:
        check(proc.returncode == 1 and result.get("ok") is False,
              f"{what}: expected failure (exit 1, ok=false), got exit {proc.returncode}, {result}")
    return result


async def main(echo_client: str) -> None:
    with tempfile.TemporaryDirectory(prefix="duplex-interop-") as tmp_name:
        tmp = Path(tmp_name)
        ca, cert, key = make_certs(tmp)
        other_ca, _ = make_ca(tmp, "other-ca")
        server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_tls.load_cert_chain(str(cert), str(key))

        async def serve(tls, compression):
            peer = echo_peer()
            server = await websockets.serve(peer.handler, "127.0.0.1", 0, ssl=tls,
                                            compression=compression, max_size=4 * MIB,
                                            ping_interval=None)
            return peer, server, server.sockets[0].getsockname()[1]

        plain_peer, plain, plain_port = await serve(None, "deflate")
        tls_peer, tls_srv, tls_port = await serve(server_tls, "deflate")
        bare_peer, bare, bare_port = await serve(None, None)
        try:
            ws_url = f"ws://127.0.0.1:{plain_port}/echo"
            r = await run_client(echo_client, ws_url)
            check(r["sent"] == 10 and r["received"] == 10, f"default run: {r}")
            check(r["extensions"] == "", f"no --deflate, yet extensions {r['extensions']!r}")
            r = await run_client(echo_client, ws_url, "--binary", "--size", str(MIB), "--count", "3")
            check(r["sent"] == 3 and r["received"] == 3, f"1 MiB binary: {r}")
            r = await run_client(echo_client, ws_url, "--size", str(MIB), "--count", "2")
            check(r["received"] == 2, f"1 MiB text: {r}")

            r = await run_client(echo_client, ws_url, "--deflate", "--size", "1024", "--count", "20")
            check("permessage-deflate" in r["extensions"], f"--deflate: extensions {r['extensions']!r}")
            check(r["compressed_frames_in"] > 0 and r["compressed_frames_out"] > 0,
                  f"--deflate against a deflate server, yet no compressed frames: {r}")
            check(any("permessage-deflate" in e for e in plain_peer.extensions),
                  f"server side never accepted permessage-deflate: {plain_peer.extensions}")
            r = await run_client(echo_client, ws_url, "--deflate", "--binary", "--size", str(MIB),
                                 "--count", "2")
            check(r["received"] == 2 and "permessage-deflate" in r["extensions"], f"1 MiB deflate: {r}")

            r = await run_client(echo_client, f"ws://127.0.0.1:{bare_port}/", "--deflate")
            check(r["extensions"] == "", f"server without deflate, yet extensions {r['extensions']!r}")
            check(r["compressed_frames_in"] == 0 and r["compressed_frames_out"] == 0,
                  f"no extension, yet compressed frames: {r}")

            wss_url = f"wss://127.0.0.1:{tls_port}/echo"
            r = await run_client(echo_client, wss_url, "--ca", str(ca))
            check(r["received"] == 10, f"wss: {r}")
            r = await run_client(echo_client, f"wss://localhost:{tls_port}/echo", "--ca", str(ca),
                                 "--deflate", "--binary", "--size", str(MIB), "--count", "2")
            check(r["received"] == 2 and "permessage-deflate" in r["extensions"], f"wss deflate: {r}")
            r = await run_client(echo_client, wss_url, "--ca", str(other_ca), expect_ok=False)
            check(r["received"] == 0, f"a server the CA did not sign was trusted: {r}")

            check(plain_peer.messages == 10 + 3 + 2 + 20 + 2,
                  f"python server echoed {plain_peer.messages} messages, expected 37")
            check(bare_peer.messages == 10, f"bare server echoed {bare_peer.messages}, expected 10")
            check(tls_peer.messages == 12, f"tls server echoed {tls_peer.messages}, expected 12")
        finally:
            for s in (plain, tls_srv, bare):
                s.close()
                await s.wait_closed()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("echo_client")
    args = ap.parse_args()
    run_bounded(main(require_file(args.echo_client, "echo_client")), 120)
