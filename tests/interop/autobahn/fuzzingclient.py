#!/usr/bin/python3
"""Autobahn-style "fuzzingclient": runs the cases against a WebSocket echo SERVER.

  fuzzingclient.py --url ws://127.0.0.1:PORT [--cases 1.*,2.*] [--exclude 12.*] [--full]

For each case: open a TCP connection, write the upgrade request by hand, check the 101 and
the accept key, send the case's (masked) frames and judge what the server does. Prints one
line per case and `N passed, M failed`; exits 1 if any case failed.
"""

import argparse
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cases as C  # noqa: E402
import runner  # noqa: E402
import session as S  # noqa: E402
import wsproto as wp  # noqa: E402


def run_one(case, host, port, path):
    offers = None
    if case.deflate is not None:
        offers = case.deflate[0]
    sock = None
    try:
        sock = wp.connect(host, port)
        ext = ", ".join(wp.format_extension(o) for o in offers) if offers else None
        headers, rest = wp.client_handshake(sock, host, port, path, ext)
    except (OSError, ConnectionError) as e:
        if sock is not None:
            sock.close()
        return runner.Result(case, C.FAILED, runner.CLOSE_FAILED, "opening handshake: %s" % e)
    deflate = None
    if offers is not None:
        deflate, err = wp.validate_deflate_response(offers, headers.get("sec-websocket-extensions"))
        if err:
            sock.close()
            return runner.Result(case, C.FAILED, runner.CLOSE_FAILED, err)
    elif headers.get("sec-websocket-extensions"):
        sock.close()
        return runner.Result(case, C.FAILED, runner.CLOSE_FAILED, "server answered an extension that "
                             "was not offered: %s" % headers["sec-websocket-extensions"])
    session = S.Session(sock, True, deflate, rest)
    if offers is not None and deflate is None:
        session.send_close(wp.CLOSE_NORMAL)
        session.wind_down()
        # RFC 7692 section 7.1.2.1 lets a server decline an offer it cannot honour; zlib cannot
        # compress with an 8-bit window, so declining offers that allow nothing else is fine.
        only8 = all(o.get("server_max_window_bits") == "8" for o in offers)
        return runner.unimplemented(case, "server declined permessage-deflate", excused=only8)
    return runner.run_case(case, session)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True, help="ws://127.0.0.1:PORT[/path]")
    ap.add_argument("--cases", default="*", help="comma-separated id patterns to run (default all)")
    ap.add_argument("--exclude", default="", help="comma-separated id patterns to skip")
    ap.add_argument("--full", action="store_true", help="9.x up to 16 MiB, full 12/13 lists")
    ap.add_argument("--allow-unimplemented", action="store_true",
                    help="do not count declined permessage-deflate (12.x/13.x) as failures")
    ap.add_argument("--quiet", action="store_true", help="print only failed cases and the summary")
    args = ap.parse_args()

    u = urllib.parse.urlsplit(args.url)
    if u.scheme != "ws" or not u.hostname:
        ap.error("only ws://host:port URLs are supported")
    host, port, path = u.hostname, u.port or 80, (u.path or "/") + ("?" + u.query if u.query else "")

    selected = C.select(C.all_cases(args.full), args.cases, args.exclude)
    results = []
    t0 = time.monotonic()
    for case in selected:
        results.append(run_one(case, host, port, path))
    failed = runner.print_table(results, sys.stdout, args.allow_unimplemented, args.quiet)
    sys.stderr.write("(%d cases in %.1f s)\n" % (len(results), time.monotonic() - t0))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
