"""Runs one case on a Session and judges it the way the Autobahn|Testsuite does.

Verdicts: `behavior` (received events vs. the expected outcomes: OK / NON-STRICT / FAILED)
and `behavior_close` (OK / FAILED / UNCLEAN / WRONG CODE / FAILED BY CLIENT). Stricter than
the suite's report: a case passes only when both are OK (or INFORMATIONAL); NON-STRICT fails.
"""

import threading
import time

import cases as C
import wsproto as wp

CLOSE_OK, CLOSE_FAILED, UNCLEAN, WRONG_CODE, FAILED_BY_CLIENT = (
    "OK", "FAILED", "UNCLEAN", "WRONG CODE", "FAILED BY CLIENT")


class Result:
    def __init__(self, case, behavior, behavior_close, detail=""):
        self.case, self.behavior, self.behavior_close, self.detail = case, behavior, behavior_close, detail
        self.duration = 0.0
        self.excused = False  # an UNIMPLEMENTED outcome that the spec allows here

    @property
    def passed(self):
        return (self.behavior in (C.OK, C.INFORMATIONAL)
                and self.behavior_close in (CLOSE_OK, C.INFORMATIONAL))

    def verdict(self):
        if self.behavior == C.UNIMPLEMENTED:
            return "UNIMPLEMENTED (%s%s)" % (self.detail, "; allowed" if self.excused else "")
        if self.passed:
            return "INFORMATIONAL (%s)" % self.detail if self.behavior == C.INFORMATIONAL else "OK"
        return "FAILED (behavior %s, close %s: %s)" % (self.behavior, self.behavior_close, self.detail)


def describe_events(events, limit=6):
    def one(e):
        if e[0] == "message":
            p = e[1]
            shown = p[:24].hex() if e[2] else repr(p[:24].decode("utf-8", "replace"))
            return "%s(%d)%s%s" % ("binary" if e[2] else "text", len(p), shown, "..." if len(p) > 24 else "")
        if e[0] in ("ping", "pong"):
            return "%s(%s)" % (e[0], e[1][:24].hex())
        return "%s(%s)" % e
    s = ", ".join(one(e) for e in events[:limit])
    if len(events) > limit:
        s += ", ... (%d events)" % len(events)
    return "[" + s + "]"


def _prefix_of(received, expected):
    return len(received) <= len(expected) and all(a == b for a, b in zip(received, expected))


class _SequenceDriver:
    """Drives a Sequence step from the reader thread: next message once the echo matched."""

    def __init__(self, session, step):
        self.s, self.step = session, step
        self.sent = 0
        self.current = None
        self.error = None
        self.done = False

    def send_next(self):
        self.current = self.step.make_payload(self.sent)
        self.sent += 1
        self.s.send_message(self.current, self.step.binary, self.step.frag_size)

    def on_event(self, session):
        if self.done:
            return
        ev = session.received[-1]
        if ev[0] != "message":
            return
        if ev[2] != self.step.binary:
            self.error = "echo %d has the wrong type (binary=%s)" % (self.sent, ev[2])
        elif ev[1] != self.current:
            self.error = "echo %d differs: got %d octets, sent %d" % (self.sent, len(ev[1]), len(self.current))
        if self.error is None and self.sent < self.step.count:
            self.send_next()
            return
        self.done = True
        session.send_close(wp.CLOSE_NORMAL)


def run_case(case, session):
    """Executes `case` on an open `session`; returns a Result once TCP is closed."""
    t0 = time.monotonic()
    seq = None
    lock = threading.Lock()

    def finish_when_done(s):
        # The suite's finishWhenDone: once the received events match every expected outcome,
        # start the closing handshake if the case expects us to.
        if seq is not None:
            seq.on_event(s)
            return
        with lock:
            rec = list(s.received)
        if all(rec == exp for exp in case.expected.values()):
            if case.closed_by_me and not case.suppress_close:
                s.send_close(case.codes[0])

    session.on_event = finish_when_done
    frame_chunks = None
    for step in case.steps:
        if isinstance(step, C.SendFrame):
            session.send_frame(step.opcode, step.payload, step.fin, step.rsv, step.chopsize, step.sync)
        elif isinstance(step, C.SendMessage):
            session.send_message(step.payload, step.binary, step.frag_size)
        elif isinstance(step, C.SendClose):
            session.send_close(step.code, step.reason)
        elif isinstance(step, C.Sleep):
            time.sleep(step.secs)
        elif isinstance(step, C.WaitOpen):
            if session.wait(lambda s: s.state != "open", step.secs):
                break  # the peer reacted before the pause ended: stop sending
            with session.cv:
                session.received.append(("timeout", step.label))
        elif isinstance(step, C.BeginFrame):
            whole = session.build_frame(step.opcode, b"".join(step.parts))
            head = len(whole) - sum(len(p) for p in step.parts)
            frame_chunks, pos = [], head
            for i, p in enumerate(step.parts):
                start = 0 if i == 0 else pos
                frame_chunks.append(whole[start:pos + len(p)])
                pos += len(p)
        elif isinstance(step, C.SendChunk):
            session._send_raw(frame_chunks[step.index])
        elif isinstance(step, C.Sequence):
            seq = _SequenceDriver(session, step)
            seq.send_next()

    _finish(case, session, seq)
    result = judge(case, session, seq)
    result.duration = time.monotonic() - t0
    return result


def _finish(case, session, seq):
    """The end phase: Autobahn's killAfter / closeAfter, plus early exit on a certain mismatch."""
    mode, secs = case.end
    deadline = time.monotonic() + secs
    while True:
        with session.cv:
            if session.tcp_closed:
                return
            closing = session.sent_close or session.recv_close
            rec = list(session.received)
        if closing:
            session.wind_down()
            return
        hopeless = (seq is None and not case.informational
                    and not any(_prefix_of(rec, e) for e in case.expected.values()))
        if hopeless or (seq is not None and seq.error):
            # Nothing the peer does from now on can make this case pass; end it quickly.
            if case.closed_by_me:
                session.send_close(case.codes[0])
                session.wind_down()
            else:
                session.drop()
            return
        if time.monotonic() >= deadline:
            if mode == "kill":
                session.drop()
            else:
                session.send_close(wp.CLOSE_NORMAL)
                session.wind_down()
            return
        session.wait(lambda s: s.tcp_closed or s.sent_close or s.recv_close or len(s.received) != len(rec),
                     min(0.1, max(0.0, deadline - time.monotonic())))


def judge(case, s, seq=None):
    detail = []
    behavior = C.FAILED
    if seq is not None:
        if seq.error:
            detail.append(seq.error)
        elif seq.done and seq.sent == seq.step.count:
            behavior = C.OK
        else:
            detail.append("only %d of %d round trips completed" % (max(0, seq.sent - 1), seq.step.count))
    else:
        for name, exp in case.expected.items():
            if s.received == exp:
                behavior = name
                break
        if behavior != C.OK:
            want = case.expected[C.OK]
            detail.append("expected %s, got %s" % (describe_events(want), describe_events(s.received)))
    if s.violation:
        behavior = C.FAILED
        detail.append(s.violation)

    if case.closed_by_me != s.closed_by_me:
        bc = CLOSE_FAILED
        detail.append("the connection was failed by the wrong endpoint (%s)" % (
            "peer closed first" if case.closed_by_me else "peer did not fail it; we had to close"))
    elif case.require_clean and not (s.sent_close and s.recv_close):
        bc = UNCLEAN
        detail.append("closing handshake incomplete (sent close %s, got close %s)" % (s.sent_close, s.recv_close))
    elif s.remote_close_code is not None and s.remote_close_code not in case.codes:
        bc = WRONG_CODE
        detail.append("close code %d, expected %s or none" % (s.remote_close_code, "/".join(map(str, case.codes))))
    elif s.is_client and s.dropped_by_me:
        bc = FAILED_BY_CLIENT
        detail.append("the server did not close TCP after the closing handshake")
    else:
        bc = CLOSE_OK
    if case.post_check is not None and behavior == C.OK:
        err = case.post_check(s)
        if err:
            behavior = C.FAILED
            detail.append(err)
    if s.reset_seen:
        detail.append("(saw a TCP reset)")
    if case.informational:
        got = "close code %s, %s" % (s.remote_close_code, describe_events(s.received, 3))
        return Result(case, C.INFORMATIONAL, C.INFORMATIONAL, got)
    return Result(case, behavior, bc, "; ".join(detail))


def unimplemented(case, why, excused=False):
    r = Result(case, C.UNIMPLEMENTED, C.INFORMATIONAL, why)
    r.excused = excused
    return r


def print_table(results, out, allow_unimplemented=False, only_failures=False):
    """Prints one line per case and the summary; returns the number of failures."""
    failed = passed = unimpl = 0
    for r in results:
        desc = r.case.desc if len(r.case.desc) <= 70 else r.case.desc[:67] + "..."
        if not (only_failures and (r.passed or r.excused)):
            out.write("%-8s %-70s %s\n" % (r.case.id, desc, r.verdict()))
        if r.behavior == C.UNIMPLEMENTED:
            unimpl += 1
            if not (allow_unimplemented or r.excused):
                failed += 1
        elif r.passed:
            passed += 1
        else:
            failed += 1
    extra = (", %d unimplemented" % unimpl) if unimpl else ""
    out.write("%d passed, %d failed%s\n" % (passed, failed, extra))
    out.flush()
    return failed
