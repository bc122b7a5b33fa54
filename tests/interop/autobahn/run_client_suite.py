#!/usr/bin/python3
"""Runs fuzzingserver.py against an echo client in Autobahn mode and returns the verdict.

  run_client_suite.py --client build/<preset>/examples/echo_client [fuzzingserver options...]

Starts the fuzzing server on port 0, runs `CLIENT --autobahn ws://127.0.0.1:PORT --agent duplex`,
and exits 1 if any case failed, if the client exits non-zero, or if it runs past --client-timeout.
Options it does not know (e.g. --cases, --exclude, --full, --allow-unimplemented, --quiet) are
passed on to fuzzingserver.py.
"""

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--client", required=True, help="path to the echo client executable")
    ap.add_argument("--agent", default="duplex")
    ap.add_argument("--client-timeout", type=float, default=600.0, help="seconds before the client is killed")
    args, server_args = ap.parse_known_args()

    server = subprocess.Popen([sys.executable, os.path.join(HERE, "fuzzingserver.py"), "--port", "0",
                               "--timeout", str(args.client_timeout + 30)] + server_args,
                              stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline()
    if not line.startswith("listening on "):
        server.kill()
        sys.stderr.write("run_client_suite: fuzzingserver did not start (%r)\n" % line)
        return 1
    url = "ws://127.0.0.1:%d" % int(line.split()[2])

    t0 = time.monotonic()
    problems = []
    try:
        client = subprocess.run([args.client, "--autobahn", url, "--agent", args.agent],
                                timeout=args.client_timeout, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        if client.returncode != 0:
            problems.append("client exited with status %d" % client.returncode)
        client_out = client.stdout
    except subprocess.TimeoutExpired as e:
        problems.append("client still running after %.0f s; killed" % args.client_timeout)
        client_out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
    client_secs = time.monotonic() - t0

    try:
        report, _ = server.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        # The client is gone without updateReports: make the server print what it has.
        server.terminate()
        try:
            report, _ = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            report, _ = server.communicate()
        problems.append("the client never sent updateReports")
    sys.stdout.write(report)
    if server.returncode != 0:
        problems.append("fuzzingserver reported failures (status %s)" % server.returncode)
    tail = "\n".join((client_out or "").strip().splitlines()[-5:])
    if problems:
        sys.stdout.write("client output (last lines):\n%s\n" % tail)
        sys.stdout.write("run_client_suite: FAILED: %s (client ran %.1f s)\n" % ("; ".join(problems), client_secs))
        return 1
    sys.stdout.write("run_client_suite: OK (client ran %.1f s)\n" % client_secs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
