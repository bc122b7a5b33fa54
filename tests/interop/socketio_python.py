#!/usr/bin/python3
"""python-socketio (Debian's python3-socketio, sync client) -> our examples/sio_showcase.

On each transport setup: the default (polling handshake, then the upgrade to WebSocket),
WebSocket only and polling only: whoami shows the handshake's transport and the one in use,
echo acks every argument (text, numbers, nested JSON), bytes round-trip as binary attachments
(100 kB, nested, empty), the server asks the client and gets its ack, and a client-side
disconnect ends the socket. Then: broadcasts reach the other clients but not the sender,
room messages only the room (binary over polling too), the namespaces /admin and a dynamic
/dyn-* answer on one connection, an unknown namespace and auth.token == "bad" are refused with
their connect_error, and a server-side disconnect reaches the client. The server must exit 0 on
SIGTERM.

    socketio_python.py SIO_SHOWCASE

Needs python3-socketio, python3-requests (polling) and python3-websocket (websocket-client):
missing ones skip the test, or fail it under CI=true.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback

from interop_support import check, fail, listening_process, peer_missing, require_file, test_failure

TIME_BOUND = 100.0  # seconds for the whole test
WAIT = 10.0         # for any one answer


def require_socketio():
    try:
        import socketio  # noqa: F401  (Debian's python3-socketio)
        import socketio.exceptions  # noqa: F401
    except ImportError as e:
        peer_missing(f"python module socketio for {sys.executable} ({e})")
    # python-engineio drops a transport silently when its library is missing: ask for both.
    for module, package in (("requests", "python3-requests"), ("websocket", "python3-websocket")):
        try:
            __import__(module)
        except ImportError as e:
            peer_missing(f"python module {module} ({package}) for {sys.executable} ({e})")
    return socketio


socketio = require_socketio()


class inbox:
    """Events a client received, by name, with a wait for the next one."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.events: list[tuple[str, tuple]] = []

    def push(self, name: str, *args) -> None:
        with self.cond:
            self.events.append((name, args))
            self.cond.notify_all()

    def expect(self, name: str, timeout: float = WAIT) -> tuple:
        """Removes and returns the arguments of the first `name` event, waiting for it."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i, (n, args) in enumerate(self.events):
                    if n == name:
                        del self.events[i]
                        return args
                left = deadline - time.monotonic()
                if left <= 0:
                    fail(f"no {name!r} event within {timeout}s (got {[n for n, _ in self.events]})")
                self.cond.wait(left)

    def count(self, name: str) -> int:
        with self.cond:
            return sum(1 for n, _ in self.events if n == name)


def make_client(watch: tuple[str, ...] = (), namespaces: tuple[str, ...] = ("/",)):
    """A client without reconnection whose `watch` events (and connect_error, disconnect) go to
    its inbox, in every namespace of `namespaces`."""
    c = socketio.Client(reconnection=False, handle_sigint=False)
    box = inbox()

    def forward(label: str):
        return lambda *args: box.push(label, *args)

    for ns in namespaces:
        for name in (*watch, "connect_error", "disconnect"):
            c.on(name, forward(name if ns == "/" else f"{ns} {name}"), namespace=ns)
    return c, box


def connect(c, url: str, *, auth: dict, transports=None, namespaces=("/",), wait: float = WAIT) -> None:
    # python-socketio waits up to `wait` after each namespace answer (even a refusal) for the rest.
    c.connect(url, auth=auth, transports=transports, namespaces=list(namespaces), wait_timeout=wait)


def call(c, event: str, data=None, namespace: str = "/"):
    try:
        return c.call(event, data, namespace=namespace, timeout=WAIT)
    except socketio.exceptions.TimeoutError:
        fail(f"no ack for {event!r} on {namespace} within {WAIT}s")


def one_transport(url: str, mode: str, transports, handshake: str, final: str) -> None:
    c, box = make_client()
    c.on("question", lambda n: n * 2)
    connect(c, url, auth={"token": f"py-{mode}"}, transports=transports)
    check(c.transport() == final, f"{mode}: client transport {c.transport()!r}, expected {final!r}")

    who = call(c, "whoami")
    check(isinstance(who, dict), f"{mode}: whoami acked {who!r}")
    check(who.get("nsp") == "/", f"{mode}: whoami nsp {who.get('nsp')!r}")
    check(who.get("id") == c.get_sid(), f"{mode}: server id {who.get('id')!r}, client sid {c.get_sid()!r}")
    check(who.get("auth") == {"token": f"py-{mode}"}, f"{mode}: auth seen as {who.get('auth')!r}")
    check(who.get("query", {}).get("transport") == handshake,
          f"{mode}: handshake transport {who.get('query')!r}, expected {handshake!r}")
    check(who.get("query", {}).get("EIO") == "4", f"{mode}: handshake EIO {who.get('query')!r}")
    check(who.get("transport") == final, f"{mode}: server sees transport {who.get('transport')!r}")
    check(who.get("rooms") == [who.get("id")], f"{mode}: rooms {who.get('rooms')!r}")

    args = ("héllo ✓ 𝄞", 42, -1.5, None, True, {"a": [1, {"b": "c"}], "empty": {}}, [])
    r = call(c, "echo", args)
    check(r == args, f"{mode}: echo acked {r!r}, sent {args!r}")
    r = call(c, "echo", "one")
    check(r == "one", f"{mode}: echo of one argument acked {r!r}")

    blob = os.urandom(100_000)
    nested = {"nested": [b"\x00\xff\x10", "text"], "empty": b"", "n": 7}
    r = call(c, "echo", (blob, nested))
    check(isinstance(r, tuple) and len(r) == 2, f"{mode}: binary echo acked {type(r).__name__}")
    check(r[0] == blob, f"{mode}: 100 kB binary came back different ({len(r[0])} bytes)")
    check(r[1] == nested, f"{mode}: nested binary came back as {r[1]!r}")

    r = call(c, "ask-me", 21)
    check(r == {"ok": True, "answer": 42}, f"{mode}: ask-me acked {r!r}")

    c.disconnect()
    box.expect("disconnect")
    check(not c.connected, f"{mode}: still connected after disconnect()")
    print(f"{mode}: handshake {handshake} -> {final}, echo, binary, server->client ack, disconnect")


def broadcasts(url: str) -> None:
    watch = ("bcast", "room-msg")
    a, abox = make_client(watch)
    b, bbox = make_client(watch)
    w, wbox = make_client(watch)
    connect(a, url, auth={"token": "a"})
    connect(b, url, auth={"token": "b"}, transports=["polling"])
    connect(w, url, auth={"token": "w"}, transports=["websocket"])
    check(call(b, "join", "py-room") is True, "b could not join py-room")

    check(call(a, "broadcast", {"n": 1, "s": "ü"}) is True, "broadcast not acked with true")
    for who, box in (("b", bbox), ("w", wbox)):
        got = box.expect("bcast")
        check(got == ({"n": 1, "s": "ü"},), f"{who} got bcast {got!r}")

    payload = {"bin": b"\x01\x02\x03", "list": [b"\xff"]}
    check(call(a, "to-room", ("py-room", payload)) is True, "to-room not acked with true")
    got = bbox.expect("room-msg")
    check(got == ("py-room", payload), f"b (polling) got room-msg {got!r}")

    # Ordering on one connection: a's second broadcast arrives after the room message, so by the
    # time w has it, w would already hold a room message sent to it by mistake.
    check(call(a, "broadcast", "last") is True, "second broadcast not acked")
    check(wbox.expect("bcast") == ("last",), "w: second bcast")
    check(bbox.expect("bcast") == ("last",), "b: second bcast")
    check(wbox.count("room-msg") == 0, "w got a room message though not in the room")
    time.sleep(0.3)
    check(abox.count("bcast") == 0 and abox.count("room-msg") == 0,
          f"the sender received its own broadcast: {abox.events}")

    check(call(b, "leave", "py-room") is True, "b could not leave py-room")
    check(call(a, "to-room", ("py-room", "nobody")) is True, "to-room (empty room) not acked")
    check(call(a, "broadcast", "after-leave") is True, "third broadcast not acked")
    check(bbox.expect("bcast") == ("after-leave",), "b: third bcast")
    check(bbox.count("room-msg") == 0, "b got a room message after leaving the room")
    for c in (a, b, w):
        c.disconnect()
    print("broadcast to all but the sender, room messages (binary, polling), leave")


def namespaces(url: str) -> None:
    c, box = make_client(namespaces=("/", "/admin", "/dyn-py1"))
    connect(c, url, auth={"token": "ns"}, namespaces=("/", "/admin", "/dyn-py1"))
    ids = set()
    for ns in ("/", "/admin", "/dyn-py1"):
        who = call(c, "whoami", namespace=ns)
        check(who.get("nsp") == ns, f"whoami on {ns} answered nsp {who.get('nsp')!r}")
        check(who.get("id") == c.get_sid(ns), f"{ns}: id {who.get('id')!r}, sid {c.get_sid(ns)!r}")
        ids.add(who.get("id"))
    check(len(ids) == 3, f"the three namespaces share socket ids: {ids}")
    c.disconnect()

    # A namespace nobody serves, and the middleware's refusal.
    for ns, auth, message in (("/nope", {"token": "x"}, None), ("/", {"token": "bad"}, "unauthorized")):
        r, rbox = make_client(namespaces=(ns,))
        try:
            connect(r, url, auth=auth, namespaces=(ns,), wait=2.0)
            fail(f"connect to {ns} with {auth} was accepted")
        except socketio.exceptions.ConnectionError:
            pass
        err = rbox.expect("connect_error" if ns == "/" else f"{ns} connect_error")
        check(len(err) == 1 and isinstance(err[0], dict), f"{ns}: connect_error data {err!r}")
        if message:
            check(err[0] == {"message": message, "data": {"reason": "bad token"}},
                  f"{ns}: connect_error {err[0]!r}")
        else:
            check(isinstance(err[0].get("message"), str) and err[0]["message"],
                  f"{ns}: connect_error without a message: {err[0]!r}")
        r.disconnect()
    print("namespaces /, /admin, /dyn-py1 on one connection; /nope and a bad token refused")


def server_disconnect(url: str) -> None:
    c, box = make_client()
    connect(c, url, auth={"token": "bye"}, transports=["websocket"])
    c.emit("disconnect-me")
    box.expect("disconnect")
    deadline = time.monotonic() + WAIT
    while c.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    check(not c.connected, "still connected after the server's disconnect")
    c.disconnect()
    print("server-side disconnect")


def main() -> None:
    showcase = require_file(sys.argv[1] if len(sys.argv) > 1 else "", "sio_showcase")
    start = time.monotonic()
    with listening_process([showcase, "--port", "0", "--host", "127.0.0.1", "--threads", "2"]) as server:
        url = f"http://127.0.0.1:{server.port}"
        outcome: list[str] = []

        def body() -> None:
            try:
                one_transport(url, "upgrade", None, "polling", "websocket")
                one_transport(url, "websocket", ["websocket"], "websocket", "websocket")
                one_transport(url, "polling", ["polling"], "polling", "polling")
                broadcasts(url)
                namespaces(url)
                server_disconnect(url)
                outcome.append("")
            except test_failure as e:
                outcome.append(str(e))
            except Exception:
                outcome.append(traceback.format_exc())

        # The sync client blocks in threads of its own: a hang is bounded here, not in ctest.
        t = threading.Thread(target=body, daemon=True)
        t.start()
        t.join(TIME_BOUND)
        if not outcome:
            server.kill()
            print(f"FAIL: test did not finish within {TIME_BOUND}s", file=sys.stderr, flush=True)
            os._exit(1)
        if outcome[0]:
            server.kill()
            print(f"FAIL: {outcome[0]}", file=sys.stderr, flush=True)
            os._exit(1)
        code = server.stop()
        check(code == 0, f"sio_showcase exited with {code} after SIGTERM (expected 0)")
    print(f"ok ({time.monotonic() - start:.1f}s)")


if __name__ == "__main__":
    try:
        main()
    except test_failure as e:
        print(f"FAIL: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
