#!/usr/bin/python3
"""Runs fuzzingclient.py against an echo server executable and returns the verdict.

  run_server_suite.py --server build/<preset>/examples/echo_server [--server-arg=--no-deflate]
                      [fuzzingclient options: --cases, --exclude, --full, --allow-unimplemented, --quiet]

Starts `SERVER --port 0 [server args]`, reads `listening on <port>`, runs the cases, then sends
SIGTERM and requires the server to exit 0 within 10 s. Exits 1 on any failed case, a server
that dies during the run, or one that does not stop cleanly.
"""

import argparse
import os
import signal
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", required=True, help="path to the echo server executable")
    ap.add_argument("--server-arg", action="append", default=[], help="extra argument for the server")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds for the whole case run")
    args, client_args = ap.parse_known_args()

    server = subprocess.Popen([args.server, "--port", "0"] + args.server_arg, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    line = ""
    timer = threading.Timer(15.0, server.kill)  # a server that never announces its port
    timer.start()
    for line in server.stdout:
        if line.startswith("listening on "):
            break
    timer.cancel()
    if not line.startswith("listening on "):
        server.kill()
        sys.stdout.write("run_server_suite: server did not print 'listening on <port>'\n")
        return 1
    port = int(line.split()[2])
    log = []
    drain = threading.Thread(target=lambda: log.extend(server.stdout), daemon=True)
    drain.start()

    problems = []
    try:
        rc = subprocess.run([sys.executable, os.path.join(HERE, "fuzzingclient.py"), "--url",
                             "ws://127.0.0.1:%d" % port] + client_args, timeout=args.timeout).returncode
        if rc != 0:
            problems.append("fuzzingclient reported failures")
    except subprocess.TimeoutExpired:
        problems.append("fuzzingclient did not finish within %.0f s" % args.timeout)
    if server.poll() is not None:
        problems.append("server exited during the run with status %d" % server.returncode)
    else:
        server.send_signal(signal.SIGTERM)
        try:
            if server.wait(10) != 0:
                problems.append("server exited with status %d after SIGTERM" % server.returncode)
        except subprocess.TimeoutExpired:
            server.kill()
            problems.append("server did not stop within 10 s of SIGTERM")
    drain.join(2)
    if problems:
        sys.stdout.write("server output (last lines):\n%s" % "".join(log[-10:]))
        sys.stdout.write("run_server_suite: FAILED: %s\n" % "; ".join(problems))
        return 1
    sys.stdout.write("run_server_suite: OK\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
