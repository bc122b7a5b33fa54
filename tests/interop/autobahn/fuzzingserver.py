#!/usr/bin/python3
"""Autobahn-style "fuzzingserver": runs the cases against a WebSocket echo CLIENT.

  fuzzingserver.py --port 0 [--cases ...] [--exclude ...] [--full] [--timeout SECS]

Prints `listening on <port>`, then serves the suite's URLs:
  /getCaseCount                  sends the number of cases as a text message, then closes (1000)
  /runCase?case=N&agent=NAME     runs case N (1-based): sends its (unmasked) frames, judges the client
  /updateReports?agent=NAME      closes normally; ends the run
When updateReports arrives (or on --timeout) it prints one line per case and `N passed, M failed`,
and exits 0 only if every case passed (cases never run count as failed).
"""

import argparse
import os
import signal
import socket
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases as C  # noqa: E402
import runner  # noqa: E402
import session as S  # noqa: E402
import wsproto as wp  # noqa: E402


def negotiate_deflate(accept_spec, header):
    """Server side of RFC 7692 section 7.1: picks an offer as the case's accept spec says.

    Returns (Deflate, response header value) or (None, None) to decline.
    """
    offers = [p for name, p in wp.parse_extensions(header) if name == "permessage-deflate"]
    for want_nct, want_mwb in accept_spec:
        for o in offers:
            if want_nct and "client_no_context_takeover" not in o:
                continue
            if want_mwb and "client_max_window_bits" not in o:
                continue
            smwb = o.get("server_max_window_bits")
            if "server_max_window_bits" in o and not (smwb and smwb.isdigit() and 8 <= int(smwb) <= 15):
                continue  # malformed offer: decline it
            resp = {}
            if "server_no_context_takeover" in o:
                resp["server_no_context_takeover"] = None
            if smwb:
                resp["server_max_window_bits"] = smwb
            if want_nct:
                resp["client_no_context_takeover"] = None
            if want_mwb:
                resp["client_max_window_bits"] = str(want_mwb)
            value = wp.format_extension(resp)
            return wp.Deflate("server_no_context_takeover" in o, int(smwb or 15), value), value
    return None, None


class FuzzingServer:
    def __init__(self, cases, quiet=False):
        self.cases = cases
        self.quiet = quiet
        self.results = {}
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.agent = None

    def handle(self, sock):
        try:
            target, headers, rest = wp.server_read_upgrade(sock)
        except (OSError, ConnectionError) as e:
            sys.stderr.write("fuzzingserver: rejected a connection: %s\n" % e)
            sock.close()
            return
        url = urllib.parse.urlsplit(target)
        query = urllib.parse.parse_qs(url.query)
        agent = query.get("agent", [None])[0]
        if agent:
            self.agent = agent
        if url.path == "/getCaseCount":
            wp.server_send_101(sock, headers)
            s = S.Session(sock, False, None, rest)
            s.send_message(str(len(self.cases)).encode("ascii"), False)
            s.send_close(wp.CLOSE_NORMAL)
            s.wind_down()
        elif url.path == "/runCase":
            try:
                n = int(query.get("case", ["0"])[0])
            except ValueError:
                n = 0
            if not 1 <= n <= len(self.cases):
                sock.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                sock.close()
                return
            self.run_case(n, self.cases[n - 1], sock, headers, rest)
        elif url.path == "/updateReports":
            wp.server_send_101(sock, headers)
            s = S.Session(sock, False, None, rest)
            s.send_close(wp.CLOSE_NORMAL)
            s.wind_down()
            self.done.set()
        else:
            sock.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            sock.close()

    def run_case(self, n, case, sock, headers, rest):
        deflate, ext = None, None
        if case.deflate is not None:
            deflate, ext = negotiate_deflate(case.deflate[1], headers.get("sec-websocket-extensions"))
        wp.server_send_101(sock, headers, ext)
        s = S.Session(sock, False, deflate, rest)
        if case.deflate is not None and deflate is None:
            s.send_close(wp.CLOSE_NORMAL)
            s.wind_down()
            # 13.x asks for particular offer parameters; a client need not offer them (12.x checks
            # that it does permessage-deflate at all).
            result = runner.unimplemented(case, "client offered no acceptable permessage-deflate",
                                          excused=case.id.startswith("13."))
        else:
            result = runner.run_case(case, s)
        with self.lock:
            self.results[n] = result
        if not self.quiet:
            sys.stderr.write("case %s: %s\n" % (case.id, result.verdict()))

    def report(self, out, allow_unimplemented, only_failures):
        rows = []
        for i, case in enumerate(self.cases, 1):
            r = self.results.get(i)
            rows.append(r if r is not None else runner.Result(case, C.FAILED, runner.CLOSE_FAILED,
                                                              "case was not run by the client"))
        return runner.print_table(rows, out, allow_unimplemented, only_failures)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=9001)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--cases", default="*")
    ap.add_argument("--exclude", default="")
    ap.add_argument("--full", action="store_true", help="9.x up to 16 MiB, full 12/13 lists")
    ap.add_argument("--timeout", type=float, default=900.0, help="give up after this many seconds")
    ap.add_argument("--allow-unimplemented", action="store_true",
                    help="do not count declined permessage-deflate (12.x/13.x) as failures")
    ap.add_argument("--quiet", action="store_true", help="table lists only the cases that did not pass")
    args = ap.parse_args()

    server = FuzzingServer(C.select(C.all_cases(args.full), args.cases, args.exclude), args.quiet)
    lsock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((args.host, args.port))
    lsock.listen(16)
    lsock.settimeout(0.2)
    print("listening on %d" % lsock.getsockname()[1], flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    deadline = time.monotonic() + args.timeout
    workers = []
    while not server.done.is_set() and not stop.is_set() and time.monotonic() < deadline:
        try:
            conn, _ = lsock.accept()
        except socket.timeout:
            continue
        t = threading.Thread(target=server.handle, args=(conn,), daemon=True)
        t.start()
        workers.append(t)
    lsock.close()
    timed_out = not server.done.is_set()
    for t in workers:
        t.join(5.0 if timed_out else 30.0)
    if timed_out:
        why = "stopped by SIGTERM" if stop.is_set() else "timed out after %.0f s" % args.timeout
        sys.stdout.write("%s before the client's updateReports\n" % why)
    if server.agent:
        sys.stdout.write("agent: %s\n" % server.agent)
    failed = server.report(sys.stdout, args.allow_unimplemented, args.quiet)
    return 1 if failed or timed_out else 0


if __name__ == "__main__":
    sys.exit(main())
