"""One fuzzing WebSocket connection: sends what a case asks, records what the peer does.

The bookkeeping mirrors the Autobahn|Testsuite's: the list of received events
(("message", bytes, is_binary), ("pong", bytes), ("ping", bytes), ("timeout", label)),
who started the closing (`closed_by_me`), whether both close frames were exchanged
(`was_clean`), the peer's close code and who dropped TCP.

A reader thread parses incoming frames; the case runner sends from the main thread.
"""

import socket
import threading
import time

import wsproto as wp

OPEN, CLOSING, CLOSED = "open", "closing", "closed"

# How long we wait for the peer's close reply, and (as client) for the server to drop TCP
# once the closing handshake is done (RFC 6455 section 7.1.1: the server closes first).
CLOSE_HANDSHAKE_TIMEOUT = 2.0
SERVER_DROP_TIMEOUT = 2.0


class Session:
    def __init__(self, sock, is_client, deflate=None, leftover=b"", on_event=None):
        self.sock = sock
        self.is_client = is_client
        self.deflate = deflate
        self.on_event = on_event  # called (under no lock) after each received event
        self.cv = threading.Condition()
        self.send_lock = threading.Lock()
        self.received = []
        self.state = OPEN
        self.closed_by_me = None
        self.sent_close = False
        self.sent_close_at = None
        self.recv_close = False
        self.handshake_done_at = None
        self.remote_close_code = None
        self.remote_close_reason = b""
        self.tcp_closed = False
        self.dropped_by_me = False
        self.reset_seen = False
        self.violation = None  # protocol violation by the peer, if any
        self.tx_frames = {}  # frames sent per opcode (case 10.1.1 checks our fragmentation)
        self._parser = wp.FrameParser()
        self._msg_parts = None  # (opcode, compressed, [payload parts]) while a message is open
        self._leftover = leftover
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(None)
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()

    # ------------------------------------------------------------------ sending

    def _send_raw(self, data, chopsize=None, pause=0.0):
        """Writes bytes; returns False if the connection is already gone."""
        try:
            with self.send_lock:
                if chopsize:
                    for i in range(0, len(data), chopsize):
                        self.sock.sendall(data[i:i + chopsize])
                        if pause:
                            time.sleep(pause)
                else:
                    self.sock.sendall(data)
            return True
        except OSError as e:
            self._note_reset(e)
            return False

    def _count(self, opcode):
        self.tx_frames[opcode] = self.tx_frames.get(opcode, 0) + 1

    def build_frame(self, opcode, payload=b"", fin=True, rsv=0):
        return wp.encode_frame(opcode, payload, fin, rsv, mask=self.is_client)

    def send_frame(self, opcode, payload=b"", fin=True, rsv=0, chopsize=None, sync=False):
        data = self.build_frame(opcode, payload, fin, rsv)
        self._count(opcode)
        # Autobahn's "sync" writes the frame on its own; "chopsize" writes it in pieces. A short
        # pause between pieces makes the peer really see partial frames, as long as the number
        # of pieces keeps the delay small.
        pieces = (len(data) + chopsize - 1) // chopsize if chopsize else 1
        ok = self._send_raw(data, chopsize, 0.001 if 1 < pieces <= 300 else 0.0)
        if sync:
            time.sleep(0.005)
        return ok

    def send_message(self, payload, binary, frag_size=None, chopsize=None):
        """A whole data message, compressed when deflate was negotiated (RFC 7692 section 6)."""
        opcode = wp.OP_BINARY if binary else wp.OP_TEXT
        rsv = 0
        if self.deflate is not None:
            payload = self.deflate.compress(payload)
            rsv = 4
        if not frag_size or len(payload) <= frag_size:
            return self.send_frame(opcode, payload, True, rsv, chopsize=chopsize)
        frames = []
        for i in range(0, len(payload), frag_size):
            last = i + frag_size >= len(payload)
            frames.append(self.build_frame(opcode if i == 0 else wp.OP_CONT,
                                           payload[i:i + frag_size], last, rsv if i == 0 else 0))
            self._count(opcode if i == 0 else wp.OP_CONT)
        return self._send_raw(b"".join(frames), chopsize)

    def send_close(self, code=None, reason=b""):
        """Starts (or answers) the closing handshake with a possibly malformed close body."""
        with self.cv:
            if self.sent_close or self.tcp_closed:
                return False
            self.sent_close = True
            self.sent_close_at = time.monotonic()
            if self.closed_by_me is None:
                self.closed_by_me = True
            if self.state == OPEN:
                self.state = CLOSING
            if self.recv_close:
                self.handshake_done_at = time.monotonic()
            self.cv.notify_all()
        self._count(wp.OP_CLOSE)
        return self._send_raw(self.build_frame(wp.OP_CLOSE, wp.close_payload(code, reason)))

    def drop(self):
        """Closes TCP from our side (the fuzzer "kills" the connection)."""
        with self.cv:
            if self.tcp_closed:
                return
            self.dropped_by_me = True
            if self.closed_by_me is None:
                self.closed_by_me = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._reader.join(5)
        self._finish()

    def is_open(self):
        with self.cv:
            return self.state == OPEN

    # ------------------------------------------------------------------ receiving

    def _note_reset(self, err):
        if isinstance(err, ConnectionResetError):
            self.reset_seen = True

    def _finish(self):
        with self.cv:
            if not self.tcp_closed:
                self.tcp_closed = True
                self.state = CLOSED
                if self.closed_by_me is None:
                    self.closed_by_me = False  # the peer dropped TCP without a close frame
                self.cv.notify_all()
        try:
            self.sock.close()
        except OSError:
            pass

    def _read_loop(self):
        try:
            data = self._leftover
            while True:
                if data:
                    for f in self._parser.feed(data):
                        if not self._on_frame(f):
                            return self._finish_from_reader()
                data = self.sock.recv(1 << 18)
                if not data:
                    break
        except OSError as e:
            self._note_reset(e)
        self._finish_from_reader()

    def _finish_from_reader(self):
        with self.cv:
            if self.tcp_closed:
                return
            self.tcp_closed = True
            self.state = CLOSED
            if self.closed_by_me is None:
                self.closed_by_me = False
            self.cv.notify_all()

    def _fail(self, why):
        """The peer broke the protocol: note it, close with 1002 and drop (we fail it)."""
        with self.cv:
            if self.violation is None:
                self.violation = why
        self.send_close(wp.CLOSE_PROTOCOL_ERROR)
        with self.cv:
            self.dropped_by_me = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        return False

    def _record(self, event):
        with self.cv:
            self.received.append(event)
            self.cv.notify_all()
        if self.on_event is not None:
            self.on_event(self)

    def _on_frame(self, f):
        """Handles one peer frame; returns False to stop reading."""
        with self.cv:
            if self.recv_close:
                return True  # nothing may follow a close frame; ignore it
        if f.masked == self.is_client:
            return self._fail("frame masking is wrong for the peer's role (RFC 6455 section 5.1)")
        allowed_rsv = 4 if (self.deflate is not None and f.opcode in (1, 2)) else 0
        if f.rsv & ~allowed_rsv:
            return self._fail("peer set reserved bits %d" % f.rsv)
        if f.opcode >= 8:
            if not f.fin or len(f.payload) > 125:
                return self._fail("peer sent a fragmented or oversized control frame")
            return self._on_control(f)
        if f.opcode in (1, 2):
            if self._msg_parts is not None:
                return self._fail("peer started a new message inside a fragmented one")
            self._msg_parts = (f.opcode, bool(f.rsv & 4), [f.payload])
        elif f.opcode == 0:
            if self._msg_parts is None:
                return self._fail("peer sent a continuation frame with nothing to continue")
            self._msg_parts[2].append(f.payload)
        else:
            return self._fail("peer used reserved opcode %d" % f.opcode)
        if f.fin:
            opcode, compressed, parts = self._msg_parts
            self._msg_parts = None
            payload = b"".join(parts)
            if compressed:
                try:
                    payload = self.deflate.decompress(payload)
                except Exception as e:  # zlib.error
                    return self._fail("peer sent an undecodable compressed message: %s" % e)
            if opcode == 1:
                try:
                    payload.decode("utf-8")
                except UnicodeDecodeError:
                    return self._fail("peer sent a text message that is not UTF-8")
            self._record(("message", payload, opcode == 2))
        return True

    def _on_control(self, f):
        if f.opcode == wp.OP_PING:
            self._record(("ping", f.payload))
            if self.is_open():
                self._count(wp.OP_PONG)
                self._send_raw(self.build_frame(wp.OP_PONG, f.payload))
            return True
        if f.opcode == wp.OP_PONG:
            self._record(("pong", f.payload))
            return True
        if f.opcode != wp.OP_CLOSE:
            return self._fail("peer used reserved opcode %d" % f.opcode)
        code = None
        if len(f.payload) >= 2:
            code = int.from_bytes(f.payload[:2], "big")
        with self.cv:
            self.recv_close = True
            self.remote_close_code = code
            self.remote_close_reason = f.payload[2:]
            if len(f.payload) == 1:
                self.violation = self.violation or "peer sent a close frame with a 1-byte body"
            if self.closed_by_me is None:
                self.closed_by_me = False
            if self.state == OPEN:
                self.state = CLOSING
            if self.sent_close:
                self.handshake_done_at = time.monotonic()
            self.cv.notify_all()
        if not self.sent_close:
            # Answer with the peer's code (RFC 6455 section 5.5.1: "typically echos the status code").
            self.send_close(code if code is not None else None)
        if not self.is_client:
            # The server closes TCP first once the handshake is complete (section 7.1.1).
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return False
        return True

    # ------------------------------------------------------------------ waiting

    def wait(self, predicate, timeout):
        """Waits until predicate(self) holds (checked under the lock) or timeout passes."""
        end = time.monotonic() + timeout
        with self.cv:
            while not predicate(self):
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.cv.wait(min(left, 0.1))
            return True

    def wind_down(self):
        """Finishes an already started closing handshake with the usual timeouts.

        Ends with TCP closed; as client, drops TCP itself only if the server does not.
        """
        while True:
            with self.cv:
                if self.tcp_closed:
                    return
                now = time.monotonic()
                if self.handshake_done_at is not None:
                    if self.is_client and now - self.handshake_done_at < SERVER_DROP_TIMEOUT:
                        self.cv.wait(0.05)
                        continue
                elif self.sent_close_at is not None:
                    if now - self.sent_close_at < CLOSE_HANDSHAKE_TIMEOUT:
                        self.cv.wait(0.05)
                        continue
                else:
                    return
            self.drop()
            return
