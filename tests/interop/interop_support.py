"""Common parts of the Python interop tests: peers that may be missing, processes that print
`listening on N`, a throwaway CA and server certificate, and a hard time bound.

Run with Debian's /usr/bin/python3: python3-websockets is installed for that interpreter only.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

SKIP = 77  # ctest SKIP_RETURN_CODE


class test_failure(Exception):
    """A failed check; run_bounded() turns it into exit status 1."""


def fail(message: str) -> None:
    raise test_failure(message)


def check(cond: bool, message: str) -> None:
    if not cond:
        fail(message)


def peer_missing(what: str) -> None:
    """A real peer is not installed: skip the test, except in CI where every peer must be there."""
    if os.environ.get("CI", "").lower() == "true":
        print(f"FAIL: CI=true and the interop peer is missing: {what} (run scripts/deps.sh test)",
              file=sys.stderr, flush=True)
        sys.exit(1)
    print(f"SKIP: interop peer missing: {what} (run scripts/deps.sh test)", flush=True)
    sys.exit(SKIP)


def require_websockets():
    try:
        import websockets  # noqa: F401  (Debian's python3-websockets)
        import websockets.client
        import websockets.server
    except ImportError as e:
        peer_missing(f"python module websockets for {sys.executable} ({e})")
    return websockets


def require_file(path: str, what: str) -> str:
    if not path or not os.access(path, os.X_OK):
        print(f"FAIL: {what} not found or not executable: {path!r}", file=sys.stderr, flush=True)
        sys.exit(1)
    return path


class listening_process:
    """Starts a server that prints `listening on <port>` on stdout and reads the port.

    Used as a context manager: leaving the block kills the process if stop() was not called.
    stderr is inherited, so sanitizer reports land in the test's output.
    """

    def __init__(self, argv: list[str], timeout: float = 20.0):
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                     text=True, bufsize=1)
        self.port = self._read_port(timeout)

    def _read_port(self, timeout: float) -> int:
        found: list[str] = []

        def reader() -> None:
            assert self.proc.stdout is not None
            line = self.proc.stdout.readline()
            found.append(line)

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        t.join(timeout)
        line = found[0].strip() if found else ""
        if not line.startswith("listening on "):
            self.kill()
            fail(f"{self.argv[0]} did not print 'listening on N' within {timeout}s "
                 f"(got {line!r}, exit {self.proc.poll()})")
        # Keep draining stdout so a chatty server never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()
        return int(line.rsplit(" ", 1)[1])

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            sys.stdout.write(f"[{Path(self.argv[0]).name}] {line}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Signals the process and waits; returns its exit status (-N for a signal)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            fail(f"{self.argv[0]} did not exit within {timeout}s of signal {sig}")
        return -1

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> "listening_process":
        return self

    def __exit__(self, *exc) -> None:
        self.kill()


def stop_and_read_stats(server: listening_process, stats_file: Path) -> dict:
    """SIGTERM, expect a clean exit 0, and return the JSON the server wrote to --stats-file."""
    code = server.stop()
    check(code == 0, f"echo_server exited with {code} after SIGTERM (expected 0)")
    check(stats_file.is_file(), f"echo_server wrote no --stats-file {stats_file}")
    stats = json.loads(stats_file.read_text())
    for key in ("connections", "messages_in", "messages_out", "compressed_frames_in",
                "compressed_frames_out"):
        check(isinstance(stats.get(key), int), f"stats file lacks integer {key!r}: {stats}")
    return stats


def _openssl(*args: str, cwd: Path) -> None:
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        fail(f"openssl {' '.join(args)} failed: {r.stderr.strip()}")


def make_ca(directory: Path, name: str = "ca") -> tuple[Path, Path]:
    """A self-signed test CA: returns (certificate, key) PEM paths."""
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
             "-keyout", key.name, "-out", cert.name, "-subj", f"/CN=duplex test {name}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-addext", "subjectKeyIdentifier=hash", cwd=directory)
    return cert, key


def make_certs(directory: Path) -> tuple[Path, Path, Path]:
    """A test CA and a server certificate it signed for 127.0.0.1 and localhost.

    Returns (ca certificate, server certificate, server key), all PEM files in `directory`."""
    ca_cert, ca_key = make_ca(directory)
    ext = directory / "server.ext"
    ext.write_text("basicConstraints=critical,CA:FALSE\n"
                   "keyUsage=critical,digitalSignature,keyEncipherment\n"
                   "extendedKeyUsage=serverAuth\n"
                   "subjectKeyIdentifier=hash\n"
                   "authorityKeyIdentifier=keyid,issuer\n"
                   "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-sha256", "-keyout", "server.key",
             "-out", "server.csr", "-subj", "/CN=localhost", cwd=directory)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", ca_cert.name, "-CAkey", ca_key.name,
             "-CAcreateserial", "-days", "2", "-sha256", "-extfile", ext.name,
             "-out", "server.pem", cwd=directory)
    return ca_cert, directory / "server.pem", directory / "server.key"


def text_message(size: int, seed: int) -> str:
    """Valid UTF-8 text of exactly `size` bytes, with multi-byte characters, different per seed."""
    pieces = ["héllo ", "wörld ", "✓ ", "𝄞 ", f"#{seed} ", "plain ascii "]
    out: list[str] = []
    n = 0
    i = seed
    while n < size:
        p = pieces[i % len(pieces)]
        i += 1
        b = len(p.encode())
        if n + b > size:
            p = "x" * (size - n)
            b = size - n
        out.append(p)
        n += b
    return "".join(out)


def binary_message(size: int, seed: int, compressible: bool = True) -> bytes:
    """`size` bytes that vary per seed; compressible ones repeat a pattern, others are noise."""
    if compressible:
        pattern = bytes((seed * 31 + i * 7) & 0xFF for i in range(251))
        return (pattern * (size // len(pattern) + 1))[:size]
    return os.urandom(size)


def run_bounded(coro, seconds: float) -> None:
    """Runs the test coroutine under a hard time bound (a hang is a failure, not a stuck ctest)
    and exits: 0 when it passed, 1 with a FAIL line when a check failed or time ran out."""
    start = time.monotonic()
    try:
        asyncio.run(asyncio.wait_for(coro, seconds))
    except asyncio.TimeoutError:
        print(f"FAIL: test did not finish within {seconds}s", file=sys.stderr, flush=True)
        sys.exit(1)
    except test_failure as e:
        print(f"FAIL: {e}", file=sys.stderr, flush=True)
        sys.exit(1)
    print(f"ok ({time.monotonic() - start:.1f}s)")
