#!/usr/bin/python3
"""Checks that the harness's judge fails a sloppy peer for the right reasons.

Runs a few fuzzingclient cases against an in-process raw "echo server" that validates
nothing, answers every close with 1000 and never closes TCP; then checks the fuzzing
server's client-side judging with an equally sloppy raw client. Standard library only.
"""

import os
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases as C  # noqa: E402
import fuzzingclient  # noqa: E402
import fuzzingserver  # noqa: E402
import runner  # noqa: E402
import wsproto as wp  # noqa: E402


def sloppy_peer(sock, is_client):
    """Echoes each data frame as it comes (bits and all), pongs pings, answers close with 1000
    and then just waits for the other side to hang up."""
    parser = wp.FrameParser()
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return
            for f in parser.feed(data):
                if f.opcode == wp.OP_PING:
                    sock.sendall(wp.encode_frame(wp.OP_PONG, f.payload, mask=is_client))
                elif f.opcode == wp.OP_CLOSE:
                    sock.sendall(wp.encode_frame(wp.OP_CLOSE, wp.close_payload(1000), mask=is_client))
                elif f.opcode != wp.OP_PONG:
                    sock.sendall(wp.encode_frame(f.opcode, f.payload, f.fin, f.rsv, mask=is_client))
    except OSError:
        return
    finally:
        sock.close()


def serve_sloppy(lsock):
    while True:
        try:
            conn, _ = lsock.accept()
        except OSError:
            return
        try:
            _, headers, _ = wp.server_read_upgrade(conn)
            wp.server_send_101(conn, headers)
        except (OSError, ConnectionError):
            conn.close()
            continue
        threading.Thread(target=sloppy_peer, args=(conn, False), daemon=True).start()


EXPECT_SERVER = {  # case id -> (behavior, close verdict) the judge must give the sloppy server
    "1.1.2": (C.OK, runner.FAILED_BY_CLIENT),       # never closes TCP after the handshake
    "3.1": (C.FAILED, runner.CLOSE_FAILED),         # echoes RSV=1 instead of failing
    "4.1.1": (C.FAILED, runner.CLOSE_FAILED),       # echoes a reserved opcode
    "6.3.1": (C.FAILED, runner.CLOSE_FAILED),       # echoes invalid UTF-8
    "7.9.1": (C.OK, runner.WRONG_CODE),             # answers close code 0 with 1000
    "7.3.2": (C.OK, runner.WRONG_CODE),             # answers a 1-byte close body with 1000
}


def check_client_side(failures):
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(8)
    threading.Thread(target=serve_sloppy, args=(lsock,), daemon=True).start()
    port = lsock.getsockname()[1]
    by_id = {c.id: c for c in C.all_cases()}
    for cid, want in EXPECT_SERVER.items():
        r = fuzzingclient.run_one(by_id[cid], "127.0.0.1", port, "/")
        got = (r.behavior, r.behavior_close)
        print("server %-6s %-40s %s" % (cid, got, "ok" if got == want else "WRONG, want %s" % (want,)))
        if got != want or r.passed:
            failures.append(cid)
    lsock.close()


def check_server_side(failures):
    """Drives fuzzingserver.FuzzingServer's runCase with a sloppy raw client."""
    ids = ["2.2", "3.1", "6.3.1", "7.9.1"]
    want = {"2.2": True, "3.1": False, "6.3.1": False, "7.9.1": False}
    srv = fuzzingserver.FuzzingServer(C.select(C.all_cases(), ",".join(ids), ""), quiet=True)
    for n, cid in enumerate(ids, 1):
        a, b = socket.socketpair()
        t = threading.Thread(target=srv.handle, args=(a,), daemon=True)
        t.start()
        b.sendall(("GET /runCase?case=%d&agent=selftest HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n" % n).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += b.recv(1)
        threading.Thread(target=sloppy_peer, args=(b, True), daemon=True).start()
        t.join(10)
        r = srv.results.get(n)
        ok = r is not None and r.passed == want[cid]
        print("client %-6s %-40s %s" % (cid, r and (r.behavior, r.behavior_close), "ok" if ok else "WRONG"))
        if not ok:
            failures.append("client " + cid)


def main():
    failures = []
    check_client_side(failures)
    check_server_side(failures)
    print("selftest: %s" % ("OK" if not failures else "FAILED: " + ", ".join(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
