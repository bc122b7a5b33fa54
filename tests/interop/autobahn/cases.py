"""Case list shared by fuzzingclient.py (we are the client) and fuzzingserver.py (we are the server).

Ported from the public case descriptions of the Autobahn|Testsuite (sections 1-7, 9, 10, and
subsets of 12/13). Each case is data: the steps to perform, the expected received events per
outcome ("OK", "NON-STRICT") and the expected close behaviour, judged as the suite does:

  * `closed_by_me`: True if *we* (the fuzzer) are expected to start the closing handshake,
    False if the peer must fail the connection (send a close frame first, or drop TCP).
  * `codes`: close codes the peer may send (sending none at all is accepted, as in the suite).
  * `require_clean`: both close frames must have been exchanged.

Frames are the same in both roles; only masking differs (client frames are masked).
"""

import json
import random

import wsproto as wp

OK, NON_STRICT, FAILED = "OK", "NON-STRICT", "FAILED"
INFORMATIONAL, UNIMPLEMENTED = "INFORMATIONAL", "UNIMPLEMENTED"


# ------------------------------------------------------------------------------------ steps

class SendFrame:
    """One frame, possibly invalid. `payload_len` repeats `payload` up to that length."""

    def __init__(self, opcode, payload=b"", fin=True, rsv=0, payload_len=None, chopsize=None,
                 sync=False):
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        if payload_len is not None:
            payload = repeat(payload, payload_len)
        self.opcode, self.payload, self.fin, self.rsv = opcode, payload, fin, rsv
        self.chopsize, self.sync = chopsize, sync


class SendMessage:
    """A whole message; `frag_size` splits it into frames of that many octets."""

    def __init__(self, payload, binary=False, frag_size=None):
        if isinstance(payload, str):
            payload = payload.encode("utf-8")
        self.payload, self.binary, self.frag_size = payload, binary, frag_size


class SendClose:
    """Starts the closing handshake; `code`/`reason` go on the wire verbatim (may be invalid)."""

    def __init__(self, code=None, reason=b""):
        self.code, self.reason = code, reason


class Sleep:
    def __init__(self, secs):
        self.secs = secs


class WaitOpen:
    """Autobahn's continueLater with a state check: if the connection is still open after
    `secs`, record ("timeout", label) and go on; otherwise stop sending."""

    def __init__(self, secs, label):
        self.secs, self.label = secs, label


class SendChunk:
    """Raw bytes of a frame started by BeginFrame (6.4.3/6.4.4 send one frame in chops)."""

    def __init__(self, index):
        self.index = index


class BeginFrame:
    def __init__(self, opcode, parts):
        self.opcode, self.parts = opcode, parts


class Sequence:
    """Echo round trips: send message i, wait for its echo, compare, then i+1 (9.7, 12, 13)."""

    def __init__(self, count, make_payload, binary, frag_size=None):
        self.count, self.make_payload, self.binary, self.frag_size = (
            count, make_payload, binary, frag_size)


def repeat(pattern, n):
    if not pattern:
        return b"\x00" * n
    return (pattern * (n // len(pattern) + 1))[:n]


# ------------------------------------------------------------------------------------- case

class Case:
    def __init__(self, id, desc, steps, expected, closed_by_me, codes, require_clean,
                 end=("close", 1.0), suppress_close=False, informational=False, deflate=None,
                 post_check=None):
        self.id, self.desc, self.steps, self.expected = id, desc, steps, expected
        self.closed_by_me, self.codes, self.require_clean = closed_by_me, codes, require_clean
        self.end, self.suppress_close, self.informational = end, suppress_close, informational
        self.deflate = deflate  # (client offers: list of dicts, server accept spec) or None
        self.post_check = post_check

    def sort_key(self):
        return tuple(int(x) for x in self.id.split("."))


def _msg(payload, binary=False):
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    return ("message", payload, binary)


def echo_case(id, desc, steps, events, end=("close", 1.0)):
    """Peer must produce exactly `events`, then we close with 1000 and expect a clean 1000."""
    return Case(id, desc, steps, {OK: events}, True, [wp.CLOSE_NORMAL], True, end)


def fail_case(id, desc, steps, code=wp.CLOSE_PROTOCOL_ERROR, ok_events=None, end=("kill", 1.0)):
    """Peer must fail the connection (close `code` or drop TCP) after `ok_events`."""
    expected = {OK: ok_events or []}
    if ok_events:
        expected[NON_STRICT] = []
    return Case(id, desc, steps, expected, False, [code], False, end)


HELLO = "Hello, world!"
BIN8 = b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff"


def section1():
    out = []
    sizes = [0, 125, 126, 127, 128, 65535, 65536]
    for sec, opcode, fill, kind in (("1.1", 1, b"*", "text"), ("1.2", 2, b"\xfe", "binary")):
        for i, n in enumerate(sizes + [65536], 1):
            chop = 997 if i == 8 else None
            desc = "Send %s message with payload length %d%s" % (
                kind, n, ", in chops of 997 octets" if chop else "")
            out.append(echo_case("%s.%d" % (sec, i), desc,
                                 [SendFrame(opcode, fill * n, chopsize=chop)],
                                 [_msg(fill * n, opcode == 2)], ("kill", 10.0 if n > 128 else 1.0)))
    return out


def section2():
    out = [
        echo_case("2.1", "Send ping without payload", [SendFrame(9)], [("pong", b"")]),
        echo_case("2.2", "Send ping with small text payload", [SendFrame(9, HELLO)],
                  [("pong", HELLO.encode())]),
        echo_case("2.3", "Send ping with small binary (non UTF-8) payload", [SendFrame(9, BIN8)],
                  [("pong", BIN8)]),
        echo_case("2.4", "Send ping with binary payload of 125 octets",
                  [SendFrame(9, b"\xfe" * 125)], [("pong", b"\xfe" * 125)]),
        fail_case("2.5", "Send ping with binary payload of 126 octets", [SendFrame(9, b"\xfe" * 126)]),
        echo_case("2.6", "Send ping with 125 octets, in octet-wise chops",
                  [SendFrame(9, b"\xfe" * 125, chopsize=1)], [("pong", b"\xfe" * 125)], ("close", 2.0)),
        echo_case("2.7", "Send unsolicited pong without payload", [SendFrame(10)], []),
        echo_case("2.8", "Send unsolicited pong with payload",
                  [SendFrame(10, "unsolicited pong payload")], []),
        echo_case("2.9", "Send unsolicited pong, then ping; expect pong for the ping only",
                  [SendFrame(10, "unsolicited pong payload"), SendFrame(9, "ping payload")],
                  [("pong", b"ping payload")]),
    ]
    for cid, chop in (("2.10", None), ("2.11", 1)):
        pl = [("payload-%d" % i).encode() for i in range(10)]
        out.append(echo_case(cid, "Send 10 pings with payload%s" % (", octet-wise chops" if chop else ""),
                             [SendFrame(9, p, chopsize=chop) for p in pl], [("pong", p) for p in pl],
                             ("close", 3.0)))
    return out


def section3():
    def rsv_after_echo(cid, rsv, **kw):
        return fail_case(cid, "Send small text message, then again with RSV = %d, then ping%s" % (
            rsv, {"sync": ", frame-wise", "chopsize": ", octet-wise chops"}.get(next(iter(kw), ""), "")),
            [SendFrame(1, HELLO, **kw), SendFrame(1, HELLO, rsv=rsv, **kw), SendFrame(9, **kw)],
            ok_events=[_msg(HELLO)])
    return [
        fail_case("3.1", "Send small text message with RSV = 1", [SendFrame(1, HELLO, rsv=1)]),
        rsv_after_echo("3.2", 2),
        rsv_after_echo("3.3", 3, sync=True),
        rsv_after_echo("3.4", 4, chopsize=1),
        fail_case("3.5", "Send small binary message with RSV = 5", [SendFrame(2, BIN8, rsv=5)]),
        fail_case("3.6", "Send ping with RSV = 6", [SendFrame(9, HELLO, rsv=6)]),
        fail_case("3.7", "Send close with RSV = 7", [SendFrame(8, rsv=7)]),
    ]


def section4():
    out = []
    for sec, ops in (("4.1", (3, 4, 5, 6, 7)), ("4.2", (11, 12, 13, 14, 15))):
        kind = "non-control" if sec == "4.1" else "control"
        for i, op in enumerate(ops, 1):
            payload = b"reserved opcode payload" if i in (2, 4, 5) else b""
            with_payload = " with payload" if payload else ""
            if i <= 2:
                out.append(fail_case("%s.%d" % (sec, i), "Send frame with reserved %s opcode %d%s" % (
                    kind, op, with_payload), [SendFrame(op, payload)]))
            else:
                out.append(fail_case("%s.%d" % (sec, i),
                                     "Send text, then frame with reserved %s opcode %d%s, then ping" % (
                                         kind, op, with_payload),
                                     [SendFrame(1, HELLO), SendFrame(op, payload), SendFrame(9)],
                                     ok_events=[_msg(HELLO)]))
    return out


def section5():
    F = SendFrame
    modes = [("", {}), (", frame-wise", {"sync": True}), (", octet-wise chops", {"chopsize": 1})]
    out = [
        fail_case("5.1", "Send ping fragmented into 2 fragments",
                  [F(9, "fragment1", fin=False), F(0, "fragment2")]),
        fail_case("5.2", "Send pong fragmented into 2 fragments",
                  [F(10, "fragment1", fin=False), F(0, "fragment2")]),
    ]
    n = 3
    for suffix, kw in modes:
        out.append(echo_case("5.%d" % n, "Send text message in 2 fragments" + suffix,
                             [F(1, "fragment1", fin=False, **kw), F(0, "fragment2", **kw)],
                             [_msg("fragment1fragment2")]))
        n += 1
    for suffix, kw in modes:
        out.append(echo_case("5.%d" % n, "Send text message in 2 fragments, ping in between" + suffix,
                             [F(1, "fragment1", fin=False, **kw), F(9, "ping payload", **kw),
                              F(0, "fragment2", **kw)],
                             [("pong", b"ping payload"), _msg("fragment1fragment2")]))
        n += 1
    for fin in (True, False):
        for suffix, kw in modes:
            out.append(fail_case("5.%d" % n, "Send continuation frame with FIN = %s with nothing to "
                                 "continue, then text message%s" % (str(fin).lower(), suffix),
                                 [F(0, "non-continuation payload", fin=fin, **kw), F(1, HELLO, **kw)]))
            n += 1
    out.append(fail_case("5.15", "Send text message in 2 fragments, then continuation FIN = false with "
                         "nothing to continue, then text message",
                         [F(1, "fragment1", fin=False), F(0, "fragment2"), F(0, "fragment3", fin=False),
                          F(1, "fragment4")], ok_events=[_msg("fragment1fragment2")]))
    for cid, fin in (("5.16", False), ("5.17", True)):
        out.append(fail_case(cid, "Repeated 2x: continuation FIN = %s (nothing to continue), then "
                             "text message in 2 fragments" % str(fin).lower(),
                             [F(0, "fragment1", fin=fin), F(1, "fragment2", fin=False), F(0, "fragment3")] * 2))
    out.append(fail_case("5.18", "Send text message in 2 fragments, both with opcode text",
                         [F(1, "fragment1", fin=False), F(1, "fragment2")]))
    for cid, sync in (("5.19", False), ("5.20", True)):
        fr = ["fragment%d" % i for i in range(1, 6)]
        out.append(echo_case(
            cid, "Fragmented text with 2 pings in between and a 1 s pause%s" % (", frame-wise" if sync else ""),
            [F(1, fr[0], fin=False, sync=sync), F(0, fr[1], fin=False, sync=sync), F(9, "pongme 1!", sync=sync),
             Sleep(1.0), F(0, fr[2], fin=False, sync=sync), F(0, fr[3], fin=False, sync=sync),
             F(9, "pongme 2!", sync=sync), F(0, fr[4], sync=sync)],
            [("pong", b"pongme 1!"), ("pong", b"pongme 2!"), _msg("".join(fr))]))
    return out


# ------------------------------------------------------------------------------ section 6

KOSME = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"
UTF8_HELLO = "Hello-\u00b5@\u00df\u00f6\u00e4\u00fc\u00e0\u00e1-UTF-8!!".encode("utf-8")


def utf8_sequences():
    """The UTF-8 decoder test vectors (after Markus Kuhn's UTF-8-test.txt) used by 6.5 - 6.23."""
    def valid(b):
        try:
            b.decode("utf-8")
            return True
        except UnicodeDecodeError:
            return False
    seqs = []
    seqs.append(("Some valid UTF-8 sequences", [(True, b"hello\x24world"), (True, b"hello\xc2\xa2world"),
                 (True, b"hello\xe2\x82\xacworld"), (True, b"hello\xf0\xa4\xad\xa2world"), (True, KOSME)]))
    seqs.append(("All prefixes of a valid UTF-8 string with multi-byte code points",
                 [(valid(KOSME[:i]), KOSME[:i]) for i in range(1, len(KOSME) + 1)]))
    seqs.append(("First possible sequence of a certain length",
                 [(True, b"\x00"), (True, b"\xc2\x80"), (True, b"\xe0\xa0\x80"), (True, b"\xf0\x90\x80\x80")]))
    seqs.append(("First possible sequence length 5/6 (invalid code points)",
                 [(False, b"\xf8\x88\x80\x80\x80"), (False, b"\xfc\x84\x80\x80\x80\x80")]))
    seqs.append(("Last possible sequence of a certain length",
                 [(True, b"\x7f"), (True, b"\xdf\xbf"), (True, b"\xef\xbf\xbf"), (True, b"\xf4\x8f\xbf\xbf")]))
    seqs.append(("Last possible sequence length 4/5/6 (invalid code points)",
                 [(False, b"\xf7\xbf\xbf\xbf"), (False, b"\xfb\xbf\xbf\xbf\xbf"),
                  (False, b"\xfd\xbf\xbf\xbf\xbf\xbf")]))
    seqs.append(("Other boundary conditions",
                 [(True, b"\xed\x9f\xbf"), (True, b"\xee\x80\x80"), (True, b"\xef\xbf\xbd"),
                  (True, b"\xf4\x8f\xbf\xbf"), (False, b"\xf4\x90\x80\x80")]))
    cont = [b"\x80", b"\xbf", b"\x80\xbf", b"\x80\xbf\x80", b"\x80\xbf\x80\xbf", b"\x80\xbf\x80\xbf\x80",
            b"\x80\xbf\x80\xbf\x80\xbf", bytes(range(0x80, 0xbf))]
    seqs.append(("Unexpected continuation bytes", [(False, c) for c in cont]))
    lonely = []
    for lo, hi in ((0xc0, 0xdf), (0xe0, 0xef), (0xf0, 0xf7), (0xf8, 0xfb), (0xfc, 0xfd)):
        lonely.append((False, b"".join(bytes([i, 0x20]) for i in range(lo, hi))))
    seqs.append(("Lonely start characters", lonely))
    missing = [b"\xc0", b"\xe0\x80", b"\xf0\x80\x80", b"\xf8\x80\x80\x80", b"\xfc\x80\x80\x80\x80",
               b"\xdf", b"\xef\xbf", b"\xf7\xbf\xbf", b"\xfb\xbf\xbf\xbf", b"\xfd\xbf\xbf\xbf\xbf"]
    seqs.append(("Sequences with last continuation byte missing", [(False, m) for m in missing]))
    seqs.append(("Concatenation of incomplete sequences", [(False, b"".join(missing))]))
    seqs.append(("Impossible bytes", [(False, b"\xfe"), (False, b"\xff"), (False, b"\xfe\xfe\xff\xff")]))
    seqs.append(("Examples of an overlong ASCII character",
                 [(False, b"\xc0\xaf"), (False, b"\xe0\x80\xaf"), (False, b"\xf0\x80\x80\xaf"),
                  (False, b"\xf8\x80\x80\x80\xaf"), (False, b"\xfc\x80\x80\x80\x80\xaf")]))
    seqs.append(("Maximum overlong sequences",
                 [(False, b"\xc1\xbf"), (False, b"\xe0\x9f\xbf"), (False, b"\xf0\x8f\xbf\xbf"),
                  (False, b"\xf8\x87\xbf\xbf\xbf"), (False, b"\xfc\x83\xbf\xbf\xbf\xbf")]))
    seqs.append(("Overlong representation of the NUL character",
                 [(False, b"\xc0\x80"), (False, b"\xe0\x80\x80"), (False, b"\xf0\x80\x80\x80"),
                  (False, b"\xf8\x80\x80\x80\x80"), (False, b"\xfc\x80\x80\x80\x80\x80")]))
    singles = [b"\xed\xa0\x80", b"\xed\xad\xbf", b"\xed\xae\x80", b"\xed\xaf\xbf", b"\xed\xb0\x80",
               b"\xed\xbe\x80", b"\xed\xbf\xbf"]
    seqs.append(("Single UTF-16 surrogates", [(False, s) for s in singles]))
    pairs = []
    for hi in (b"\xed\xa0\x80", b"\xed\xad\xbf", b"\xed\xae\x80", b"\xed\xaf\xbf"):
        for lo in (b"\xed\xb0\x80", b"\xed\xbf\xbf"):
            pairs.append((False, hi + lo))
    seqs.append(("Paired UTF-16 surrogates", pairs))
    nonchars = [(True, b"\xef\xbf\xbe"), (True, b"\xef\xbf\xbf")]
    for z1 in (0xf0, 0xf1, 0xf2, 0xf3, 0xf4):
        for z2 in (0x8f, 0x9f, 0xaf, 0xbf):
            if z1 == 0xf4 and z2 != 0x8f:
                continue  # would encode code points above U+10FFFF
            for z3 in (0xbe, 0xbf):
                zz = bytes([z1, z2, 0xbf, z3])
                if zz not in (b"\xf0\x8f\xbf\xbe", b"\xf0\x8f\xbf\xbf"):  # overlong
                    nonchars.append((True, zz))
    seqs.append(("Non-character code points (valid UTF-8)", nonchars))
    seqs.append(("Unicode specials (i.e. replacement char)",
                 [(True, bytes([0xef, 0xbf, b])) for b in range(0xb9, 0xc0)]))
    for _, items in seqs:  # the vectors must agree with Python's strict decoder
        for ok, b in items:
            assert ok == valid(b), b
    return seqs


def section6():
    F = SendFrame
    inv1 = KOSME + b"\xed\xa0\x80" + b"edited"  # invalid exactly at octet 12 (0xa0)
    ff = KOSME + b"\xf4\x90\x80\x80" + b"edited"  # 0xf4 0x90: above U+10FFFF, invalid at octet 13
    out = [
        echo_case("6.1.1", "Send text message of length 0", [F(1)], [_msg(b"")]),
        echo_case("6.1.2", "Send fragmented text message, 3 fragments each of length 0",
                  [F(1, fin=False), F(0, fin=False), F(0)], [_msg(b"")]),
        echo_case("6.1.3", "Send fragmented text message, 3 fragments, only the middle one non-empty",
                  [F(1, fin=False), F(0, "middle frame payload", fin=False), F(0)],
                  [_msg("middle frame payload")]),
        echo_case("6.2.1", "Send valid UTF-8 text message in one fragment", [F(1, UTF8_HELLO)],
                  [_msg(UTF8_HELLO)]),
        echo_case("6.2.2", "Send valid UTF-8 text message in two fragments split on a code point boundary",
                  [F(1, UTF8_HELLO[:15], fin=False), F(0, UTF8_HELLO[15:])], [_msg(UTF8_HELLO)]),
        echo_case("6.2.3", "Send valid UTF-8 text message in fragments of 1 octet",
                  [SendMessage(UTF8_HELLO, frag_size=1)], [_msg(UTF8_HELLO)]),
        echo_case("6.2.4", "Send valid UTF-8 text message (kosme) in fragments of 1 octet",
                  [SendMessage(KOSME, frag_size=1)], [_msg(KOSME)]),
        fail_case("6.3.1", "Send invalid UTF-8 text message unfragmented", [F(1, inv1)],
                  wp.CLOSE_INVALID_PAYLOAD),
        fail_case("6.3.2", "Send invalid UTF-8 text message in fragments of 1 octet",
                  [SendMessage(inv1, frag_size=1)], wp.CLOSE_INVALID_PAYLOAD),
    ]
    assert UTF8_HELLO[:15].decode() and UTF8_HELLO[15:].decode()

    def fail_fast(cid, desc, steps):
        return Case(cid, desc + " (fail fast: close expected right after the invalid octet)", steps,
                    {OK: [("timeout", "A")], NON_STRICT: [("timeout", "A"), ("timeout", "B")]},
                    False, [wp.CLOSE_INVALID_PAYLOAD], False, ("kill", 1.0))
    out.append(fail_fast("6.4.1", "Invalid UTF-8 in 3 frames; the 2nd holds the invalid code point",
                         [F(1, ff[:11], fin=False), WaitOpen(1.0, "A"), F(0, ff[11:15], fin=False),
                          WaitOpen(1.0, "B"), F(0, ff[15:])]))
    out.append(fail_fast("6.4.2", "Invalid UTF-8 in 3 frames; the 2nd ends at the invalid octet",
                         [F(1, ff[:12], fin=False), WaitOpen(1.0, "A"), F(0, ff[12:13], fin=False),
                          WaitOpen(1.0, "B"), F(0, ff[13:])]))
    out.append(fail_fast("6.4.3", "Invalid UTF-8 in 3 chops of one frame; the 2nd holds the invalid code point",
                         [BeginFrame(1, [ff[:11], ff[11:15], ff[15:]]), SendChunk(0), WaitOpen(1.0, "A"),
                          SendChunk(1), WaitOpen(1.0, "B"), SendChunk(2)]))
    out.append(fail_fast("6.4.4", "Invalid UTF-8 in 3 chops of one frame; the 2nd ends at the invalid octet",
                         [BeginFrame(1, [ff[:12], ff[12:13], ff[13:]]), SendChunk(0), WaitOpen(1.0, "A"),
                          SendChunk(1), WaitOpen(1.0, "B"), SendChunk(2)]))
    for i, (title, items) in enumerate(utf8_sequences(), 5):
        for j, (ok, payload) in enumerate(items, 1):
            cid = "6.%d.%d" % (i, j)
            desc = "%s: %s" % (title, payload.hex() if len(payload) <= 16 else payload[:16].hex() + "...")
            if ok:
                out.append(echo_case(cid, desc, [F(1, payload)], [_msg(payload)], ("kill", 0.5)))
            else:
                out.append(fail_case(cid, desc, [F(1, payload)], wp.CLOSE_INVALID_PAYLOAD, end=("kill", 0.5)))
    return out


# ------------------------------------------------------------------------------ section 7

def section7():
    F = SendFrame

    def closing(cid, desc, steps, codes=(wp.CLOSE_NORMAL,), clean=True, expected=None, info=False):
        return Case(cid, desc, steps, expected or {OK: []}, True, list(codes), clean, ("kill", 1.0),
                    suppress_close=True, informational=info)
    out = [
        echo_case("7.1.1", "Send a message followed by a close frame", [F(1, "Hello World!")],
                  [_msg("Hello World!")], ("kill", 1.0)),
        closing("7.1.2", "Send two close frames", [SendClose(1000), F(8)]),
        closing("7.1.3", "Send a ping after the close frame", [SendClose(1000), F(9)]),
        closing("7.1.4", "Send a text message after the close frame", [SendClose(1000), F(1, "Hello World!")]),
        closing("7.1.5", "Send message fragment 1, then close, then fragment 2",
                [F(1, "fragment1", fin=False), SendClose(1000), F(0, "fragment2")]),
        closing("7.1.6", "Send 256K message, text message, close, then ping (informational)",
                [F(1, "BAsd7&jh23", payload_len=256 * 1024), F(1, "Hello World!"), SendClose(1000), F(9)],
                expected={OK: [_msg(repeat(b"BAsd7&jh23", 256 * 1024)), _msg("Hello World!")],
                          NON_STRICT: []}, info=True),
        closing("7.3.1", "Send a close frame with payload length 0", [SendClose()]),
        closing("7.3.2", "Send a close frame with payload length 1", [SendClose(None, b"a")],
                [wp.CLOSE_PROTOCOL_ERROR], False),
        closing("7.3.3", "Send a close frame with payload length 2 (code 1000)", [SendClose(1000)]),
        closing("7.3.4", "Send a close frame with code and reason", [SendClose(1000, b"Hello World!")]),
        closing("7.3.5", "Send a close frame with code and 123-octet reason", [SendClose(1000, b"*" * 123)]),
        closing("7.3.6", "Send a close frame with code and 124-octet reason (126 octets)",
                [SendClose(1000, b"*" * 124)], [wp.CLOSE_PROTOCOL_ERROR], False),
        closing("7.5.1", "Send a close frame with an invalid UTF-8 reason",
                [SendClose(1000, KOSME + b"\xed\xa0\x80edited")],
                [wp.CLOSE_PROTOCOL_ERROR, wp.CLOSE_INVALID_PAYLOAD], False),
    ]
    for i, code in enumerate([1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999], 1):
        out.append(closing("7.7.%d" % i, "Send close with valid close code %d" % code, [SendClose(code)],
                           [wp.CLOSE_NORMAL, code]))
    for i, code in enumerate([0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999], 1):
        out.append(closing("7.9.%d" % i, "Send close with invalid close code %d" % code, [SendClose(code)],
                           [wp.CLOSE_PROTOCOL_ERROR], False))
    for i, code in enumerate([5000, 65535], 1):
        out.append(closing("7.13.%d" % i, "Send close with close code %d (informational)" % code,
                           [SendClose(code)], [wp.CLOSE_NORMAL, code, wp.CLOSE_PROTOCOL_ERROR], False,
                           info=True))
    return out


# ------------------------------------------------------------------------ sections 9, 10

MB = 1 << 20


def section9(full):
    out = []
    sizes = [64 << 10, 256 << 10, MB, 4 * MB, 8 * MB, 16 * MB]
    for sec, opcode, pattern in (("9.1", 1, b"BAsd7&jh23"), ("9.2", 2, b"\x00\xfe\x23\xfa\xf0")):
        for i, n in enumerate(sizes, 1):
            if n > 4 * MB and not full:
                continue
            data = repeat(pattern, n)
            out.append(echo_case("%s.%d" % (sec, i), "Send %s message of %d octets" % (
                "text" if opcode == 1 else "binary", n), [SendFrame(opcode, data)], [_msg(data, opcode == 2)],
                ("close", 120.0)))
    frags = [64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, MB, 4 * MB]
    for sec, binary, fill in (("9.3", False, b"*"), ("9.4", True, b"\xfe")):
        data = fill * (4 * MB)
        for i, fs in enumerate(frags, 1):
            out.append(echo_case("%s.%d" % (sec, i), "Send fragmented %s message of 4M in fragments of %d" % (
                "binary" if binary else "text", fs), [SendMessage(data, binary, fs)], [_msg(data, binary)],
                ("close", 120.0)))
    for sec, opcode, pattern in (("9.5", 1, b"BAsd7&jh23"), ("9.6", 2, b"\xfe")):
        data = repeat(pattern, MB)
        for i, chop in enumerate([64, 128, 256, 512, 1024, 2048], 1):
            out.append(echo_case("%s.%d" % (sec, i), "Send %s message of 1M in chops of %d octets" % (
                "text" if opcode == 1 else "binary", chop), [SendFrame(opcode, data, chopsize=chop)],
                [_msg(data, opcode == 2)], ("close", 120.0)))
    for sec, binary, fill in (("9.7", False, b"*"), ("9.8", True, b"\xfe")):
        for i, n in enumerate([0, 16, 64, 256, 1024, 4096], 1):
            payload = fill * n
            out.append(Case("%s.%d" % (sec, i), "Send 1000 %s messages of %d octets, one round trip each" % (
                "binary" if binary else "text", n), [Sequence(1000, lambda k, p=payload: p, binary)],
                {OK: []}, True, [wp.CLOSE_NORMAL], True, ("close", 120.0)))
    return out


def section10():
    data = b"*" * 65536

    def frames_check(session):
        got = (session.tx_frames.get(0, 0), session.tx_frames.get(1, 0))
        return None if got == (50, 1) else "sent frames %r, expected 50 continuation + 1 text" % (got,)
    c = echo_case("10.1.1", "Send text message of 65536 octets auto-fragmented to 1300 octets",
                  [SendMessage(data, False, 1300)], [_msg(data)], ("kill", 10.0))
    c.post_check = frames_check
    return [c]


# ------------------------------------------------------------------------ sections 12, 13

def _test_data():
    rnd = random.Random(6455)
    words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
             "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo"]
    rows = [{"id": i, "name": rnd.choice(words) + "-" + rnd.choice(words), "score": rnd.randint(0, 99999),
             "tags": rnd.sample(words, 3), "active": rnd.random() < 0.5} for i in range(3000)]
    text = json.dumps(rows).encode("ascii")
    binary = bytes(rnd.getrandbits(8) if rnd.random() < 0.3 else (i * 7) & 0xFF for i in range(256 * 1024))
    return text, binary


MSG_SIZES = [(16, 0), (64, 0), (256, 0), (1024, 0), (4096, 0), (8192, 0), (16384, 0), (32768, 0),
             (65536, 0), (131072, 0), (8192, 256), (16384, 256), (32768, 256), (65536, 256),
             (131072, 256), (131072, 1024), (131072, 4096), (131072, 32768)]
QUICK_SIZES = {1, 2, 3, 4, 5, 11, 16}

# Client offers (13.x): (server_no_context_takeover requested, server_max_window_bits requested),
# each offer also says the client accepts client_no_context_takeover / client_max_window_bits.
# Server accept spec: ordered list of (client_no_context_takeover, client_max_window_bits) to try.
DEFLATE_PARAMS = [
    ([(False, 0)], [(False, 0)]),
    ([(True, 0)], [(True, 0)]),
    ([(False, 8)], [(False, 8)]),
    ([(False, 15)], [(False, 15)]),
    ([(True, 8)], [(True, 8)]),
    ([(True, 15)], [(True, 15)]),
    ([(True, 8), (True, 0), (False, 0)], [(True, 8), (True, 0), (False, 0)]),
]


def make_offer(server_nct, server_mwb):
    o = {"client_no_context_takeover": None, "client_max_window_bits": None}
    if server_nct:
        o["server_no_context_takeover"] = None
    if server_mwb:
        o["server_max_window_bits"] = str(server_mwb)
    return o


def _deflate_case(cid, desc, data, binary, size, frag, count, offers, accept):
    def make(k):
        start = (k * size) % len(data)
        return (data + data)[start:start + size]
    return Case(cid, desc, [Sequence(count, make, binary, frag or None)], {OK: []}, True,
                [wp.CLOSE_NORMAL], True, ("close", 240.0),
                deflate=([make_offer(*o) for o in offers], accept))


def section12_13(full):
    text, binary = _test_data()
    count = 1000 if full else 100
    out = []
    for j, (name, data, is_bin) in enumerate((("JSON text", text, False), ("binary", binary, True)), 1):
        for i, (size, frag) in enumerate(MSG_SIZES, 1):
            if full or i in QUICK_SIZES:
                out.append(_deflate_case("12.%d.%d" % (j, i), "%s: %d compressed messages of %d octets, "
                                         "auto-fragment %d, default offer" % (name, count, size, frag),
                                         data, is_bin, size, frag, count, [(False, 0)], [(False, 0)]))
    for j, (offers, accept) in enumerate(DEFLATE_PARAMS, 1):
        for i, (size, frag) in enumerate(MSG_SIZES, 1):
            if full or i in QUICK_SIZES:
                out.append(_deflate_case("13.%d.%d" % (j, i), "%d compressed messages of %d octets, "
                                         "auto-fragment %d, offers %s / server accepts %s" % (
                                             count, size, frag, offers, accept),
                                         text, False, size, frag, count, offers, accept))
    return out


def all_cases(full=False):
    cases = (section1() + section2() + section3() + section4() + section5() + section6() + section7()
             + section9(full) + section10() + section12_13(full))
    cases.sort(key=Case.sort_key)
    return cases


def select(cases, include, exclude):
    """Filters by comma-separated fnmatch patterns on case ids, like the suite's config."""
    import fnmatch
    inc = [p.strip() for p in (include or "*").split(",") if p.strip()]
    exc = [p.strip() for p in (exclude or "").split(",") if p.strip()]
    return [c for c in cases if any(fnmatch.fnmatchcase(c.id, p) for p in inc)
            and not any(fnmatch.fnmatchcase(c.id, p) for p in exc)]


if __name__ == "__main__":
    cs = all_cases()
    print(len(cs), "cases")
    for c in cs:
        print(c.id, c.desc)
