"""Minimal RFC 6455 / RFC 7692 wire helpers for the Autobahn-style harnesses.

Deliberately low level: the harnesses must be able to put *malformed* frames on the wire
(reserved bits, reserved opcodes, oversized control frames, bad close payloads), so frames
are built by hand here instead of through a WebSocket library. Standard library only.
"""

import base64
import hashlib
import os
import socket
import zlib

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10

# Close codes a peer may put on the wire (RFC 6455 section 7.4.1 and 7.4.2).
CLOSE_NORMAL = 1000
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_INVALID_PAYLOAD = 1007

MAX_HTTP_HEADER = 16 * 1024


def accept_key(key):
    """Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 section 4.2.2 step 5.4)."""
    if isinstance(key, str):
        key = key.encode("ascii")
    return base64.b64encode(hashlib.sha1(key + GUID).digest()).decode("ascii")


def mask_bytes(data, key):
    """XOR `data` with the 4-byte masking key (RFC 6455 section 5.3).

    Done through one big integer so multi-megabyte payloads stay fast in pure Python.
    """
    n = len(data)
    if n == 0:
        return b""
    reps = (key * (n // 4 + 1))[:n]
    x = int.from_bytes(data, "little") ^ int.from_bytes(reps, "little")
    return x.to_bytes(n, "little")


def encode_frame(opcode, payload=b"", fin=True, rsv=0, mask=False, mask_key=None):
    """Encodes one frame exactly as asked, valid or not (RFC 6455 section 5.2)."""
    b0 = (0x80 if fin else 0) | ((rsv & 7) << 4) | (opcode & 0x0F)
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = bytes([b0, mbit | n])
    elif n < 65536:
        head = bytes([b0, mbit | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([b0, mbit | 127]) + n.to_bytes(8, "big")
    if mask:
        key = mask_key if mask_key is not None else os.urandom(4)
        return head + key + mask_bytes(payload, key)
    return head + payload


def close_payload(code=None, reason=b""):
    """Close frame body: optional 2-byte code then raw reason bytes (section 5.5.1).

    `reason` is sent verbatim, so tests can send invalid UTF-8 or over-long reasons.
    """
    if isinstance(reason, str):
        reason = reason.encode("utf-8")
    if code is None:
        return reason
    return code.to_bytes(2, "big") + reason


class Frame:
    __slots__ = ("fin", "rsv", "opcode", "masked", "payload")

    def __init__(self, fin, rsv, opcode, masked, payload):
        self.fin, self.rsv, self.opcode, self.masked, self.payload = fin, rsv, opcode, masked, payload


class FrameParser:
    """Incremental frame parser: feed bytes, get whole frames back (payload unmasked)."""

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data):
        self.buf += data
        out = []
        while True:
            f = self._one()
            if f is None:
                return out
            out.append(f)

    def _one(self):
        b = self.buf
        if len(b) < 2:
            return None
        masked = bool(b[1] & 0x80)
        n = b[1] & 0x7F
        pos = 2
        if n == 126:
            if len(b) < 4:
                return None
            n = int.from_bytes(b[2:4], "big")
            pos = 4
        elif n == 127:
            if len(b) < 10:
                return None
            n = int.from_bytes(b[2:10], "big")
            pos = 10
        if masked:
            pos += 4
        if len(b) < pos + n:
            return None
        payload = bytes(b[pos:pos + n])
        if masked:
            payload = mask_bytes(payload, bytes(b[pos - 4:pos]))
        f = Frame(bool(b[0] & 0x80), (b[0] >> 4) & 7, b[0] & 0x0F, masked, payload)
        del b[:pos + n]
        return f


# ---------------------------------------------------------------------------- HTTP upgrade

def _read_http_head(sock, timeout):
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("connection closed during HTTP handshake")
        data += chunk
        if len(data) > MAX_HTTP_HEADER:
            raise ConnectionError("HTTP head too large")
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        if ":" not in line:
            raise ConnectionError("malformed header line %r" % line)
        k, v = line.split(":", 1)
        k = k.strip().lower()
        headers[k] = (headers[k] + ", " + v.strip()) if k in headers else v.strip()
    return lines[0], headers, rest


def _has_token(value, token):
    return token in [t.strip().lower() for t in (value or "").split(",")]


def client_handshake(sock, host, port, path="/", extensions=None, timeout=5.0):
    """Sends the opening handshake and validates the 101 (RFC 6455 section 4.1).

    Returns (response headers, bytes already read past the response head).
    Raises ConnectionError with a reason when the server's answer is not acceptable.
    """
    key = base64.b64encode(os.urandom(16)).decode("ascii")
    req = ["GET %s HTTP/1.1" % path, "Host: %s:%d" % ("[%s]" % host if ":" in host else host, port), "Upgrade: websocket",
           "Connection: Upgrade", "Sec-WebSocket-Key: " + key, "Sec-WebSocket-Version: 13",
           "User-Agent: duplex-autobahn-harness"]
    if extensions:
        req.append("Sec-WebSocket-Extensions: " + extensions)
    sock.sendall(("\r\n".join(req) + "\r\n\r\n").encode("latin-1"))
    status, headers, rest = _read_http_head(sock, timeout)
    parts = status.split(" ", 2)
    if len(parts) < 2 or parts[0] != "HTTP/1.1" or parts[1] != "101":
        raise ConnectionError("expected HTTP/1.1 101, got %r" % status)
    if not _has_token(headers.get("upgrade"), "websocket"):
        raise ConnectionError("101 without Upgrade: websocket")
    if not _has_token(headers.get("connection"), "upgrade"):
        raise ConnectionError("101 without Connection: Upgrade")
    if headers.get("sec-websocket-accept") != accept_key(key):
        raise ConnectionError("bad Sec-WebSocket-Accept %r" % headers.get("sec-websocket-accept"))
    return headers, rest


def server_read_upgrade(sock, timeout=10.0):
    """Reads and checks a client's upgrade request. Returns (target, headers, leftover)."""
    request_line, headers, rest = _read_http_head(sock, timeout)
    parts = request_line.split(" ")
    if len(parts) != 3 or parts[0] != "GET" or parts[2] != "HTTP/1.1":
        raise ConnectionError("bad request line %r" % request_line)
    problems = []
    if not _has_token(headers.get("upgrade"), "websocket"):
        problems.append("Upgrade")
    if not _has_token(headers.get("connection"), "upgrade"):
        problems.append("Connection")
    if headers.get("sec-websocket-version") != "13":
        problems.append("Sec-WebSocket-Version")
    key = headers.get("sec-websocket-key", "")
    try:
        ok_key = len(base64.b64decode(key, validate=True)) == 16
    except ValueError:
        ok_key = False
    if not ok_key:
        problems.append("Sec-WebSocket-Key")
    if "host" not in headers:
        problems.append("Host")
    if problems:
        sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        raise ConnectionError("bad upgrade request: " + ", ".join(problems))
    return parts[1], headers, rest


def server_send_101(sock, headers, extensions=None):
    resp = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
            "Sec-WebSocket-Accept: " + accept_key(headers["sec-websocket-key"])]
    if extensions:
        resp.append("Sec-WebSocket-Extensions: " + extensions)
    sock.sendall(("\r\n".join(resp) + "\r\n\r\n").encode("latin-1"))


def connect(host, port, timeout=5.0):
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


# ---------------------------------------------------------------- permessage-deflate (RFC 7692)

def parse_extensions(value):
    """Parses a Sec-WebSocket-Extensions value into [(name, {param: value-or-None})]."""
    out = []
    if not value:
        return out
    for item in value.split(","):
        bits = [b.strip() for b in item.split(";")]
        if not bits[0]:
            continue
        params = {}
        for p in bits[1:]:
            if not p:
                continue
            if "=" in p:
                k, v = p.split("=", 1)
                params[k.strip().lower()] = v.strip().strip('"')
            else:
                params[p.lower()] = None
        out.append((bits[0].lower(), params))
    return out


def format_extension(params):
    items = ["permessage-deflate"]
    for k, v in params.items():
        items.append(k if v is None else "%s=%s" % (k, v))
    return "; ".join(items)


class Deflate:
    """One side's negotiated permessage-deflate state.

    `send_no_context` / `send_window` describe how *we* must compress (e.g. for a client:
    client_no_context_takeover / client_max_window_bits from the response). Inflation always
    uses a 15-bit window, which can read anything a smaller window produced.
    """

    TAIL = b"\x00\x00\xff\xff"  # RFC 7692 section 7.2.1

    def __init__(self, send_no_context=False, send_window=15, agreed=""):
        self.send_no_context = send_no_context
        self.send_window = send_window
        self.agreed = agreed
        self._comp = None
        self._decomp = zlib.decompressobj(-15)

    def compress(self, data):
        if self._comp is None or self.send_no_context:
            if self.send_window < 9:
                # zlib cannot emit an 8-bit window; stored blocks reference nothing, so
                # they honour any window the peer asked for.
                self._comp = zlib.compressobj(0, zlib.DEFLATED, -9)
            else:
                self._comp = zlib.compressobj(6, zlib.DEFLATED, -self.send_window)
        out = self._comp.compress(data) + self._comp.flush(zlib.Z_SYNC_FLUSH)
        if out.endswith(self.TAIL):
            out = out[:-4]
        return out

    def decompress(self, data):
        out = self._decomp.decompress(data + self.TAIL)
        if self._decomp.eof:
            # The peer ended its deflate stream with BFINAL=1; a new message starts afresh.
            rest = self._decomp.unused_data
            self._decomp = zlib.decompressobj(-15)
            if rest and rest != self.TAIL:
                out += self._decomp.decompress(rest)
        return out


def validate_deflate_response(offers, response_value):
    """Checks a server's permessage-deflate answer against what the client offered.

    offers: list of dicts of offered params. Returns (Deflate or None, error or None).
    """
    exts = parse_extensions(response_value)
    if not exts:
        return None, None
    if len(exts) != 1 or exts[0][0] != "permessage-deflate":
        return None, "unexpected extensions in response: %r" % response_value
    params = exts[0][1]
    allowed = {"server_no_context_takeover", "client_no_context_takeover",
               "server_max_window_bits", "client_max_window_bits"}
    for k in params:
        if k not in allowed:
            return None, "unknown permessage-deflate parameter %r" % k
    # RFC 7692 section 7.1.2.2: client_max_window_bits only if the client offered it.
    send_window = 15
    if "client_max_window_bits" in params:
        if not any("client_max_window_bits" in o for o in offers):
            return None, "client_max_window_bits in response but not offered"
        v = params["client_max_window_bits"]
        if v is None or not v.isdigit() or not 8 <= int(v) <= 15:
            return None, "bad client_max_window_bits %r" % v
        send_window = int(v)
    # Section 7.1.2.1: server_max_window_bits in the answer may not exceed an offered limit.
    if "server_max_window_bits" in params:
        v = params["server_max_window_bits"]
        if v is None or not v.isdigit() or not 8 <= int(v) <= 15:
            return None, "bad server_max_window_bits %r" % v
    # Section 7.1.1.1: an offer that asked for server_no_context_takeover must be answered with it
    # (at least one offer must be compatible with the answer).
    def compatible(o):
        if "server_no_context_takeover" in o and "server_no_context_takeover" not in params:
            return False
        if "server_max_window_bits" in o:
            if "server_max_window_bits" not in params:
                return False
            if int(params["server_max_window_bits"]) > int(o["server_max_window_bits"] or 15):
                return False
        if "client_max_window_bits" in params and "client_max_window_bits" not in o:
            return False
        return True
    if not any(compatible(o) for o in offers):
        return None, "response %r matches none of the offers" % response_value
    return Deflate("client_no_context_takeover" in params, send_window, response_value), None
