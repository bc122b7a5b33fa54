#!/usr/bin/python3
"""The duplex benchmark: our servers against Node `ws`, Node `socket.io`, Boost.Beast and the
floor server.

    bench/run.py [--quick] [--reps 3] [--seconds 5] [--rate 100000] [--servers ...]
                 [--scenarios echo|fanout|sio|all|NAME,...]

Three families of scenarios: echo (our echo_server against the echo peers), fan-out (`duplex
serve` against the Node `ws` broadcast peer, `duplex serve` delivering over SSE and
HTTP-streaming next to its WebSocket, and across nodes through Redis: `duplex-redis1`,
`duplex-redis2`) and Socket.IO (examples/sio_showcase against Node's socket.io 4.8: echo with
acks, room broadcast, idle sockets). Plus `redis_links` (not in `all`): bench/redis_link_bench,
one shared Redis broker against one per loop thread. Builds what it needs (the release
preset for our binaries; bench/ standalone for the load generator and the peers unless the
release tree already has them), then for every scenario measures every server that applies in
the same run, interleaved (the server order rotates each repetition), each on a fresh process
pinned to one core with the generator on another, and prints one markdown table of medians per
family. See bench/README.md for the method.
"""
import argparse
import json
import os
import resource
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")

SERVERS = ["duplex", "duplex-history", "duplex-sse", "duplex-http-stream", "duplex-redis1",
           "duplex-redis2", "floor", "beast", "node", "duplex-sio", "node-sio"]
# Which servers take part in which family. Echo: `duplex` is examples/echo_server, `node` the
# ws echo peer. Fan-out: `duplex` is `duplex serve` with history, presence and join/leave off
# (pure fan-out), `duplex-history` the same with the default namespace's history (100
# publications, 5 min), `node` the ws broadcast peer. `duplex-sse` and `duplex-http-stream` are
# `duplex serve` with the `duplex` config whose subscribers receive over SSE (GET /events) and
# Centrifugo's unidirectional HTTP-streaming (POST /connection/uni_http_stream, a signed token
# per channel) instead of the WebSocket; the publisher is the same WebSocket client. They take
# part in the fan-out scenarios, not in subscribed_idle (the generator opens idle subscribed
# connections over WebSocket only).
# Cross-node (issue 7): `duplex-redis1` is one `duplex serve` with `--broker redis://` (the
# `duplex` config: every publication goes out to Redis and comes back on the node's subscriber
# link); `duplex-redis2` is two of them on the same Redis: the subscribers on node B, the
# publisher connection (a Centrifugo client's `publish` command, as for `duplex`) on node A, so
# every delivery crossed Redis. run.py starts its own redis-server per measurement. They take
# part in the fan-out scenarios only.
# Socket.IO: `duplex-sio` is examples/sio_showcase --threads 1, `node-sio` the socket.io peer
# (bench/peers/sio_server.js, socket.io pinned in bench/peers/package.json); same event contract.
FAMILY_SERVERS = {
    "echo": ["duplex", "floor", "beast", "node"],
    "fanout": ["duplex", "duplex-history", "duplex-sse", "duplex-http-stream", "duplex-redis1",
               "duplex-redis2", "floor", "node"],
    "sio": ["duplex-sio", "node-sio"],
    "redis": [],  # redis_links runs bench/redis_link_bench, no server (run_redis_links)
}
# The server whose row the ×ours columns divide by, per family.
OURS = {"echo": "duplex", "fanout": "duplex", "sio": "duplex-sio"}
# Fan-out servers whose subscribers are not WebSocket clients: generator arguments.
STREAM_SERVERS = {
    "duplex-sse": ["--sub-transport", "sse"],
    "duplex-http-stream": ["--sub-transport", "http_stream"],
}
# `duplex serve --token-secret` of `duplex-http-stream`; the generator signs its subscribers'
# connection tokens (HS256) with it.
TOKEN_SECRET = "duplex-bench-token-secret"
# Fan-out servers on a Redis broker: how many `duplex serve` nodes share the Redis.
REDIS_SERVERS = {"duplex-redis1": 1, "duplex-redis2": 2}
# name -> (label, kind, loadgen arguments). Echo fixed-rate scenarios get --rate/--burst from
# the options; fan-out ones carry their own fixed rate (publications/s) below.
SCENARIOS = {
    "text32": ("32 B text", "echo", ["-c", "100", "-p", "10", "-s", "32"]),
    "binary4k": ("4 KiB binary", "echo", ["-c", "100", "-p", "10", "-s", "4096", "--binary"]),
    "idle": ("idle conns", "idle", []),
    "fanout1x10k": ("1 ch × 10,000 subs", "fanout", ["-c", "10000", "-k", "1", "-s", "64"]),
    "fanout100x100": ("100 ch × 100 subs", "fanout", ["-c", "10000", "-k", "100", "-s", "64"]),
    "subscribed_idle": ("subscribed idle conns", "subscribed", []),
    # Socket.IO family: the same scenario kinds in the generator's Socket.IO dialect (--sio).
    "sio_echo": ("echo + ack, 32 B, 100 conns × 10 in flight", "echo",
                 ["--sio", "-c", "100", "-p", "10", "-s", "32"]),
    "sio_broadcast": ("room broadcast, 1 room × 1,000 members", "fanout",
                      ["--sio", "-c", "1000", "-k", "1", "-s", "64"]),
    # Spread over 127.0.0.1-5 (2,000 sockets per source address).
    "sio_idle": ("idle sockets", "idle", ["--sio", "--sources", "5"]),
    # One shared redis_broker vs one per loop thread (bench/redis_link_bench.cc).
    "redis_links": ("Redis connections: shared vs per loop thread", "redis_links", []),
}
SIO_SCENARIOS = ("sio_echo", "sio_broadcast", "sio_idle")
# Fixed offered rates of the fan-out scenarios, publications/s: 1,000,000 deliveries/s each.
# sio_broadcast: 100 publications/s to 1,000 members, 100,000 deliveries/s (--sio-broadcast-rate).
FANOUT_RATE = {"fanout1x10k": 100, "fanout100x100": 10000, "sio_broadcast": 100}
GROUPS = {
    "echo": ["text32", "binary4k", "idle"],
    "fanout": ["fanout1x10k", "fanout100x100", "subscribed_idle"],
    "sio": list(SIO_SCENARIOS),
}
GROUPS["all"] = GROUPS["echo"] + GROUPS["fanout"] + GROUPS["sio"]
# Cross-node fan-out (issue 7): the fan-out scenarios; pair with
# --servers duplex,duplex-redis1,duplex-redis2.
GROUPS["xnode"] = ["fanout1x10k", "fanout100x100"]
# Not a server scenario: bench/redis_link_bench against run.py's redis-server (see below).
REDIS_LINKS = "redis_links"
# Channel options of `duplex serve` for the fan-out servers (server/config.h keys). Every
# channel of the runs is in the default namespace; presence and join/leave stay off in both
# (with join/leave on, 10,000 subscribers of one channel cost 50 million join pushes at setup).
DUPLEX_CONFIGS = {
    "duplex": """[channel]
history_size = 0
history_ttl = "0s"
presence = false
join_leave = false
subscribe = "anonymous"
publish = "anonymous"
""",
    "duplex-history": """[channel]
history_size = 100
history_ttl = "5m"
presence = false
join_leave = false
subscribe = "anonymous"
publish = "anonymous"
""",
}


def family(scenario):
    if scenario == REDIS_LINKS:
        return "redis"
    if scenario in SIO_SCENARIOS:
        return "sio"
    return "echo" if SCENARIOS[scenario][1] in ("echo", "idle") else "fanout"


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, cwd=ROOT, **kw):
    log("+ " + " ".join(cmd))
    return subprocess.run(cmd, cwd=cwd, **kw)


def build(args, scenarios):
    """Returns {name: path} of the binaries to use."""
    release = os.path.abspath(args.build_dir) if args.build_dir else \
        os.path.join(ROOT, "build", "release")
    families = {family(sc) for sc in scenarios}
    bins = {}
    if args.duplex_bin:
        bins["duplex"] = os.path.abspath(args.duplex_bin)
    if args.duplex_serve_bin:
        bins["duplex_serve"] = os.path.abspath(args.duplex_serve_bin)
    if args.duplex_sio_bin:
        bins["sio_showcase"] = os.path.abspath(args.duplex_sio_bin)
    ours = []
    if "echo" in families and "duplex" not in bins:
        ours.append("echo_server")
    if "fanout" in families and "duplex_serve" not in bins:
        ours.append("duplex")
    if "sio" in families and "sio_showcase" not in bins:
        ours.append("sio_showcase")
    if ours and not args.no_build:
        configure = ["cmake", "--preset", "release"] + (["-B", release] if args.build_dir else [])
        if run(configure, stdout=subprocess.DEVNULL).returncode != 0:
            sys.exit("run.py: `cmake --preset release` failed")
        if run(["cmake", "--build", release, "-j", "2", "--target"] + ours).returncode:
            sys.exit(f"run.py: building {' '.join(ours)} (release preset) failed; fix the build "
                     "or pass --duplex-bin / --duplex-serve-bin / --duplex-sio-bin PATH")
    bins.setdefault("duplex", os.path.join(release, "examples", "echo_server"))
    bins.setdefault("duplex_serve", os.path.join(release, "apps", "duplex", "duplex"))
    bins.setdefault("sio_showcase", os.path.join(release, "examples", "sio_showcase"))

    # bench/ in the release tree when the top level adds it, else standalone in build/bench.
    in_release = os.path.exists(os.path.join(release, "bench", "build.ninja")) or \
        os.path.isdir(os.path.join(release, "bench", "CMakeFiles"))
    bench_dir = os.path.join(release, "bench") if in_release else os.path.join(ROOT, "build", "bench")
    targets = ["duplex_loadgen", "floor_server", "beast_echo_server"]
    if not args.no_build:
        if not in_release:
            if run(["cmake", "-S", BENCH, "-B", bench_dir, "-G", "Ninja",
                    "-DCMAKE_BUILD_TYPE=Release"], stdout=subprocess.DEVNULL).returncode:
                sys.exit("run.py: configuring bench/ failed")
        cmd = ["cmake", "--build", release if in_release else bench_dir, "-j", "2", "--target"] + \
            targets
        if run(cmd).returncode:
            sys.exit("run.py: building the load generator and peers failed")
    bins["loadgen"] = os.path.join(bench_dir, "duplex_loadgen")
    bins["floor"] = os.path.join(bench_dir, "floor_server")
    bins["beast"] = os.path.join(bench_dir, "beast_echo_server")
    if "redis" in families:
        if not in_release:
            sys.exit("run.py: redis_links needs the release tree's bench/ (cmake --preset release "
                     "adds it): redis_link_bench links the Redis broker")
        if not args.no_build and run(["cmake", "--build", release, "-j", "2", "--target",
                                      "redis_link_bench"]).returncode:
            sys.exit("run.py: building redis_link_bench failed")
        bins["redis_link_bench"] = os.path.join(bench_dir, "redis_link_bench")
    needed = {"loadgen"}
    if "redis" in families:
        needed.add("redis_link_bench")
    if "echo" in families:
        needed |= {"duplex", "floor", "beast"}
    if "fanout" in families:
        needed.add("duplex_serve")
        if "floor" in args.servers:
            needed.add("floor")
    if "sio" in families:
        needed.add("sio_showcase")
    for name in needed:
        if not os.access(bins[name], os.X_OK):
            sys.exit(f"run.py: missing {name} binary {bins[name]}")
    return bins


PEERS = os.path.join(BENCH, "peers")


def node_peers(servers, scenarios):
    """The Node peers' packages (bench/peers/package.json, socket.io): `npm ci` there when
    node_modules is missing and a server needs it. Bench-only: CI never installs them."""
    if "node-sio" not in servers or not any(family(sc) == "sio" for sc in scenarios):
        return
    if os.path.isdir(os.path.join(PEERS, "node_modules", "socket.io")):
        return
    if run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PEERS).returncode:
        sys.exit("run.py: `npm ci` in bench/peers failed (the socket.io peer needs it)")


def server_cmd(name, bins, fam, workdir, broker=None):
    if fam == "sio":
        if name == "duplex-sio":
            return [bins["sio_showcase"], "--port", "0", "--threads", "1"]
        if name == "node-sio":
            return ["node", os.path.join(PEERS, "sio_server.js"), "--port", "0"]
        raise ValueError(name)
    if fam == "fanout":
        config = "duplex" if name in STREAM_SERVERS or name in REDIS_SERVERS else name
        if config in DUPLEX_CONFIGS:
            cfg = os.path.join(workdir, f"{config}.toml")
            with open(cfg, "w") as f:
                f.write(DUPLEX_CONFIGS[config])
            token = ["--token-secret", TOKEN_SECRET] if name == "duplex-http-stream" else []
            via = ["--broker", broker] if broker else []
            return [bins["duplex_serve"], "serve", "--host", "127.0.0.1", "--port", "0",
                    "--threads", "1", "--api-key", "bench", "--log-level", "warn",
                    "--config", cfg] + token + via
        if name == "node":
            return ["node", os.path.join(BENCH, "peers", "ws_broadcast_server.js"), "--port", "0"]
        if name == "floor":  # its fan-out mode speaks the broadcast peer's dialect
            return [bins["floor"], "--port", "0"]
        raise ValueError(name)
    if name == "duplex":
        return [bins["duplex"], "--port", "0", "--threads", "1", "--no-deflate"]
    if name == "floor":
        return [bins["floor"], "--port", "0"]
    if name == "beast":
        return [bins["beast"], "--port", "0"]
    if name == "node":
        return ["node", os.path.join(BENCH, "peers", "ws_echo_server.js"), "--port", "0"]
    raise ValueError(name)


def raise_nofile():
    """In the server's process before exec: open-files soft limit up to the hard one (the
    subscribed-idle scenario holds 19,000 connections; the hard limit here is 20,000)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Server:
    """A server process pinned to `core`; its pid is the server's (taskset execs it)."""

    def __init__(self, name, bins, core, fam="echo", workdir=None, broker=None):
        self.name = name
        self.proc = subprocess.Popen(["taskset", "-c", str(core)] +
                                     server_cmd(name, bins, fam, workdir, broker),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     preexec_fn=raise_nofile)
        self.port = None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and self.port is None:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.5)
            if ready:
                line = self.proc.stdout.readline()
                if not line:
                    break
                if line.startswith("listening on "):
                    self.port = int(line.split()[2])
        if self.port is None:
            self.stop()
            raise RuntimeError(f"{name} did not print 'listening on <port>'")
        time.sleep(0.2)  # let the runtime settle (Node's startup GC) before sampling its RSS

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        err = self.proc.stderr.read() if self.proc.stderr else ""
        return self.proc.returncode, err


def free_port():
    """A TCP port nobody listens on now (the kernel's pick for port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_command(port, *args, timeout=5.0):
    """One command on a fresh connection (RESP); returns the reply: str for simple and bulk
    strings, int for integers; raises RuntimeError on an error reply or a closed link."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        out = f"*{len(args)}\r\n".encode()
        for a in args:
            a = str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        s.sendall(out)
        data = b""

        def need(n):
            nonlocal data
            while len(data) < n:
                chunk = s.recv(65536)
                if not chunk:
                    raise RuntimeError("redis closed the connection")
                data += chunk
        while b"\r\n" not in data:
            need(len(data) + 1)
        head, _, rest = data.partition(b"\r\n")
        kind, body = head[:1], head[1:].decode()
        if kind == b"+":
            return body
        if kind == b":":
            return int(body)
        if kind == b"-":
            raise RuntimeError("redis: " + body)
        if kind == b"$":
            n = int(body)
            data = rest
            need(n)
            return data[:n].decode()
        raise RuntimeError(f"redis: unexpected reply {head[:40]!r}")


def redis_commandstats(port):
    """{command: calls} from INFO commandstats (our own INFO calls left out)."""
    calls = {}
    for line in redis_command(port, "INFO", "commandstats").splitlines():
        if line.startswith("cmdstat_"):
            name, _, fields = line[len("cmdstat_"):].partition(":")
            for f in fields.split(","):
                if f.startswith("calls="):
                    calls[name] = int(f[len("calls="):])
    calls.pop("info", None)
    return calls


class RedisServer:
    """Debian's redis-server on a free port of 127.0.0.1, pinned to `core`, no persistence, in
    `workdir`. Bench-only: CI never starts it (the broker's own tests start theirs)."""

    def __init__(self, core, workdir):
        binary = shutil.which("redis-server")
        if not binary:
            raise RuntimeError("redis-server is not on PATH (Debian package redis-server)")
        for _ in range(5):
            self.port = free_port()
            self.proc = subprocess.Popen(
                ["taskset", "-c", str(core), binary, "--port", str(self.port), "--bind",
                 "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir,
                 "--daemonize", "no", "--protected-mode", "no", "--loglevel", "warning"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    if redis_command(self.port, "PING", timeout=0.5) == "PONG":
                        return
                except (OSError, RuntimeError):
                    time.sleep(0.02)
            self.stop()  # the port was taken meanwhile, or it did not start: another port
        raise RuntimeError("redis-server did not start")

    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def wait_clients(self, n, timeout=10):
        """Until `n` clients besides the asking one are connected (each node: two links)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = redis_command(self.port, "INFO", "clients")
            for line in info.splitlines():
                if line.startswith("connected_clients:") and int(line.split(":")[1]) - 1 >= n:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"the nodes did not connect to Redis ({n} links expected)")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def loadgen(bins, core, server, args_list, timeout, extra=()):
    cmd = ["taskset", "-c", str(core), bins["loadgen"]] + args_list + \
        ["--port", str(server.port), "--server-pid", str(server.proc.pid)] + list(extra)
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": "loadgen timed out", "cmd": " ".join(cmd)}
    line = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
    try:
        result = json.loads(line)
    except ValueError:
        result = {"error": f"loadgen exit {p.returncode}: {p.stderr.strip()}"}
    result["summary"] = p.stderr.strip()
    result["cmd"] = " ".join(cmd)
    if p.returncode != 0 and "error" not in result:
        result["error"] = f"loadgen exit {p.returncode}: {result.get('first_error', '')}"
    return result


def measure(name, scenario, bins, args):
    """One fresh server process, the scenario's runs against it; returns a dict of figures."""
    kind = SCENARIOS[scenario][1]
    if name in REDIS_SERVERS:
        return measure_cross_node(name, scenario, bins, args)
    srv = Server(name, bins, args.server_core, family(scenario), args.workdir)
    raw = ["--raw"] if name in ("node", "floor") and kind in ("fanout", "subscribed") else []
    transport = STREAM_SERVERS.get(name, []) + (["--hmac-secret", TOKEN_SECRET]
                                                if name == "duplex-http-stream" else [])
    out = {}
    sio = scenario in SIO_SCENARIOS
    try:
        if kind == "idle":
            count = args.sio_connections if sio else args.idle_connections
            r = loadgen(bins, args.gen_core, srv,
                        ["connections", "-c", str(count)] + SCENARIOS[scenario][2], 120)
            out["idle"] = r
        elif kind == "subscribed":
            r = loadgen(bins, args.gen_core, srv,
                        ["connections", "-c", str(args.subscribed_connections),
                         "--subscribe", "bench"] + raw, 180)
            out["idle"] = r
        elif kind == "fanout":
            common = ["fanout"] + SCENARIOS[scenario][2] + raw + transport + \
                ["-t", str(args.seconds), "--warmup", str(args.warmup),
                 "--window", str(args.window)]
            to = args.seconds + args.warmup + 150
            rate = args.sio_broadcast_rate if sio else FANOUT_RATE[scenario]
            out["fixed"] = loadgen(bins, args.gen_core, srv, common + ["--rate", str(rate)], to)
            out["max"] = loadgen(bins, args.gen_core, srv, common, to)
        else:
            base = SCENARIOS[scenario][2]
            common = ["echo"] + base + ["-t", str(args.seconds), "--warmup", str(args.warmup)]
            to = args.seconds + args.warmup + 40
            rate = args.sio_rate if sio else args.rate
            out["fixed"] = loadgen(bins, args.gen_core, srv, common +
                                   ["--rate", str(rate), "--burst", str(args.burst)], to)
            out["max"] = loadgen(bins, args.gen_core, srv, common, to)
        if not srv.alive():
            out["crash"] = f"{name} exited with {srv.proc.returncode}"
    finally:
        rc, err = srv.stop()
        if out.get("crash"):
            out["crash"] += ": " + err[-500:]
    for k, r in out.items():
        if isinstance(r, dict):
            log(f"  {name:6} {scenario:8} {k:5}: {r.get('summary') or r.get('error')}")
            if r.get("error"):
                log(f"    FAILED: {r['error']}\n    reproduce: {r['cmd']}")
    return out


def measure_cross_node(name, scenario, bins, args):
    """A fan-out scenario on `duplex serve` nodes sharing a fresh redis-server: the subscribers
    on the last node (B), the publisher on the first (A; the same node for one). The figures
    are the loadgen's, plus per run: the publisher's node's CPU added to the server's (all nodes
    together), Redis's CPU and RSS apart, and Redis commands per publication (INFO commandstats
    over the loadgen run / publications sent)."""
    redis = RedisServer(args.redis_core, args.workdir)
    nodes = []
    out = {}
    try:
        for _ in range(REDIS_SERVERS[name]):
            nodes.append(Server(name, bins, args.server_core, "fanout", args.workdir, redis.url()))
        redis.wait_clients(2 * len(nodes))
        sub, pub = nodes[-1], nodes[0]
        extra = ["--also-pid", str(redis.proc.pid)]
        if pub is not sub:
            extra = ["--pub-port", str(pub.port), "--also-pid", str(pub.proc.pid),
                     str(redis.proc.pid)]
        common = ["fanout"] + SCENARIOS[scenario][2] + \
            ["-t", str(args.seconds), "--warmup", str(args.warmup), "--window", str(args.window)]
        to = args.seconds + args.warmup + 150
        for part, rate in (("fixed", ["--rate", str(FANOUT_RATE[scenario])]), ("max", [])):
            before = redis_commandstats(redis.port)
            r = loadgen(bins, args.gen_core, sub, common + rate, to, extra)
            after = redis_commandstats(redis.port)
            calls = {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}
            r["redis_calls"] = calls
            if r.get("total_published"):
                r["redis_calls_per_pub"] = sum(calls.values()) / r["total_published"]
            also = r.get("also") or []
            if len(also) == 2 and r.get("server_cpu_us_per_delivery", -1) >= 0 and \
                    also[0]["cpu_us_per_delivery"] >= 0:
                # The table's server CPU: all nodes. Node B's own stays in the JSON.
                r["node_b_cpu_us_per_delivery"] = r["server_cpu_us_per_delivery"]
                r["node_a_cpu_us_per_delivery"] = also[0]["cpu_us_per_delivery"]
                r["server_cpu_us_per_delivery"] += also[0]["cpu_us_per_delivery"]
                r["node_a_rss_bytes"] = also[0]["rss_bytes"]
            if r.get("server_cpu_percent", -1) >= 0 and all(a["cpu_percent"] >= 0 for a in also):
                r["all_cpu_percent"] = r["server_cpu_percent"] + sum(a["cpu_percent"] for a in also)
            if also:
                r["redis_cpu_us_per_delivery"] = also[-1]["cpu_us_per_delivery"]
                r["redis_cpu_percent"] = also[-1]["cpu_percent"]
                r["redis_rss_bytes"] = also[-1]["rss_bytes"]
            out[part] = r
        for n in nodes:
            if not n.alive():
                out["crash"] = f"{name} node exited with {n.proc.returncode}"
        if redis.proc.poll() is not None:
            out["crash"] = f"redis-server exited with {redis.proc.returncode}"
    finally:
        for n in nodes:
            rc, err = n.stop()
            if out.get("crash"):
                out["crash"] += ": " + err[-500:]
        redis.stop()
    for k, r in out.items():
        if isinstance(r, dict):
            log(f"  {name:6} {scenario:8} {k:5}: {r.get('summary') or r.get('error')}; Redis "
                f"{r.get('redis_calls_per_pub', float('nan')):.2f} commands/publication "
                f"{r.get('redis_calls')}")
            if r.get("error"):
                log(f"    FAILED: {r['error']}\n    reproduce: {r['cmd']}")
    return out


def median(values):
    values = [v for v in values if v is not None and v >= 0]
    return statistics.median(values) if values else None


def fmt(v, digits=2):
    if v is None:
        return "—"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def ratio(v, ours):
    if v is None or not ours:
        return "—"
    return f"{v / ours:.2f}×"


def applicable(scenario, servers):
    """The servers of `servers` that take part in `scenario`, in the given order."""
    return [s for s in servers if s in FAMILY_SERVERS[family(scenario)] and
            not ((s in STREAM_SERVERS or s in REDIS_SERVERS) and
                 SCENARIOS[scenario][1] == "subscribed")]


def summarize(results, servers, scenarios):
    """results[scenario][server] = list of per-repetition dicts -> medians per (scenario, server)."""
    med = {}
    for sc in scenarios:
        kind = SCENARIOS[sc][1]
        for name in applicable(sc, servers):
            reps = results[sc][name]
            m = {"failed": sum(1 for r in reps for x in r.values()
                               if isinstance(x, dict) and x.get("error")) +
                 sum(1 for r in reps if r.get("crash"))}

            def get(part, k):
                return median([r[part].get(k) for r in reps if part in r])
            if kind in ("idle", "subscribed"):
                m.update(rss=get("idle", "server_rss_bytes_per_conn"),
                         hs_cpu=get("idle", "server_cpu_us_per_handshake"),
                         hs_rate=get("idle", "handshakes_per_s"), gen=get("idle", "gen_cpu_percent"))
            elif kind == "fanout":
                m.update(cpu=get("fixed", "server_cpu_us_per_delivery"),
                         cpu_max=get("max", "server_cpu_us_per_delivery"),
                         rate_max=get("max", "deliveries_per_s"),
                         achieved=get("fixed", "deliveries_per_s"),
                         p50=get("fixed", "p50_us"), p99=get("fixed", "p99_us"),
                         p999=get("fixed", "p999_us"), p99_max=get("max", "p99_us"),
                         srv_pct=get("fixed", "server_cpu_percent"),
                         srv_pct_max=get("max", "server_cpu_percent"),
                         gen=get("fixed", "gen_cpu_percent"), gen_max=get("max", "gen_cpu_percent"),
                         lost=sum(r[part].get("lost", 0) for r in reps for part in ("fixed", "max")
                                  if part in r),
                         rss_b=get("max", "server_rss_bytes"), rss_a=get("max", "node_a_rss_bytes"),
                         rss_redis=get("max", "redis_rss_bytes"),
                         redis_cmds=get("fixed", "redis_calls_per_pub"),
                         redis_cmds_max=get("max", "redis_calls_per_pub"),
                         redis_cpu=get("fixed", "redis_cpu_us_per_delivery"),
                         redis_cpu_max=get("max", "redis_cpu_us_per_delivery"),
                         redis_pct_max=get("max", "redis_cpu_percent"),
                         all_pct_max=get("max", "all_cpu_percent"),
                         node_a_cpu_max=get("max", "node_a_cpu_us_per_delivery"),
                         node_b_cpu_max=get("max", "node_b_cpu_us_per_delivery"))
            else:
                m.update(cpu=get("fixed", "server_cpu_us_per_msg"),
                         cpu_max=get("max", "server_cpu_us_per_msg"),
                         rate_max=get("max", "msgs_per_s"), p99=get("fixed", "p99_us"),
                         p50=get("fixed", "p50_us"), srv_pct=get("fixed", "server_cpu_percent"),
                         srv_pct_max=get("max", "server_cpu_percent"), lost=0,
                         achieved=get("fixed", "msgs_per_s"),
                         gen=get("fixed", "gen_cpu_percent"),
                         gen_max=get("max", "gen_cpu_percent"))
            med[(sc, name)] = m
    return med


def print_table(med, servers, scenarios, args):
    """The echo family: echo and idle scenarios."""
    print("| server | scenario | CPU µs/msg @rate | ×ours | CPU µs/msg @max | ×ours | msgs/s @max "
          "| msgs/s @rate | p99 µs @rate | RSS B/conn | ×ours | CPU µs/handshake | ×ours "
          "| gen CPU % |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for sc in scenarios:
        ours = med.get((sc, "duplex"), {})
        for name in applicable(sc, servers):
            m = med[(sc, name)]
            label = SCENARIOS[sc][0]
            fail = f" **{m['failed']} failed**" if m["failed"] else ""
            if sc == "idle":
                cells = ["", "", "", "", "", "", "", fmt(m["rss"], 0), ratio(m["rss"], ours.get("rss")),
                         fmt(m["hs_cpu"]), ratio(m["hs_cpu"], ours.get("hs_cpu")),
                         f"{fmt(m['gen'], 0)} ({fmt(m['hs_rate'], 0)} hs/s)"]
                label = f"{args.idle_connections:,} {label}"
            else:
                cells = [fmt(m["cpu"], 3), ratio(m["cpu"], ours.get("cpu")), fmt(m["cpu_max"], 3),
                         ratio(m["cpu_max"], ours.get("cpu_max")), fmt(m["rate_max"], 0),
                         fmt(m["achieved"], 0), fmt(m["p99"], 0), "", "", "", "",
                         f"{fmt(m['gen'], 0)} / {fmt(m['gen_max'], 0)}"]
            print(f"| {name} | {label}{fail} | " + " | ".join(cells) + " |")
    # Distance of ours to the floor, the figure the targets are written in.
    notes = []
    for sc in scenarios:
        o, f = med.get((sc, "duplex")), med.get((sc, "floor"))
        if not o or not f:
            continue
        if sc == "idle":
            if o["rss"] is not None and f["rss"] is not None:
                notes.append(f"idle: ours {fmt(o['rss'], 0)} B/conn vs floor {fmt(f['rss'], 0)}")
        elif o["cpu"] and f["cpu"]:
            notes.append(f"{SCENARIOS[sc][0]}: ours {100 * (o['cpu'] / f['cpu'] - 1):+.0f}% "
                         f"above the floor @rate, "
                         f"{100 * (o['cpu_max'] / f['cpu_max'] - 1):+.0f}% @max"
                         if o["cpu_max"] and f["cpu_max"] else "")
    if notes:
        print("\nDistance to the floor: " + "; ".join(n for n in notes if n) + ".")


def print_fanout_table(med, servers, scenarios, args):
    """The fan-out family: fan-out and subscribed idle scenarios."""
    print("| server | scenario | CPU µs/delivery @rate | ×ours | CPU µs/delivery @max | ×ours "
          "| deliveries/s @rate | deliveries/s @max | p50 µs @rate | p99 µs @rate | p99.9 µs @rate "
          "| lost | RSS B/conn | ×ours | CPU µs/conn+sub | gen CPU % |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for sc in scenarios:
        ours = med.get((sc, "duplex"), {})
        for name in applicable(sc, servers):
            m = med[(sc, name)]
            label = SCENARIOS[sc][0]
            fail = f" **{m['failed']} failed**" if m["failed"] else ""
            if SCENARIOS[sc][1] == "subscribed":
                cells = [""] * 11 + [fmt(m["rss"], 0), ratio(m["rss"], ours.get("rss")),
                                     fmt(m["hs_cpu"]),
                                     f"{fmt(m['gen'], 0)} ({fmt(m['hs_rate'], 0)} conn/s)"]
                label = f"{args.subscribed_connections:,} {label}"
            else:
                label = f"{label} (rate: {FANOUT_RATE[sc]:,} pubs/s)"
                cells = [fmt(m["cpu"], 3), ratio(m["cpu"], ours.get("cpu")), fmt(m["cpu_max"], 3),
                         ratio(m["cpu_max"], ours.get("cpu_max")), fmt(m["achieved"], 0),
                         fmt(m["rate_max"], 0), fmt(m["p50"], 0), fmt(m["p99"], 0),
                         fmt(m["p999"], 0), str(m["lost"]), "", "", "",
                         f"{fmt(m['gen'], 0)} / {fmt(m['gen_max'], 0)}"]
            print(f"| {name} | {label}{fail} | " + " | ".join(cells) + " |")


def print_cross_node_table(med, servers, scenarios, args):
    """Cross-node fan-out (issue 7): what the fan-out table does not show, per server of the
    Redis rows and the 1-node `duplex` row: Redis's share and memory per process."""
    shown = [s for s in servers if s == "duplex" or s in REDIS_SERVERS]
    if not any(s in REDIS_SERVERS for s in shown):
        return
    print("\n| server | scenario | deliveries/s @max | ×ours | p50 / p99 µs @rate | nodes' CPU "
          "µs/delivery @max (A + B) | Redis CPU µs/delivery @rate / @max | Redis CPU % @max "
          "| Redis commands / publication @rate / @max | RSS MB: subscribers' node / publisher's "
          "node / Redis | server-side CPU % @max (nodes + Redis) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    mb = lambda v: "—" if v is None else f"{v / 1e6:.1f}"
    for sc in scenarios:
        if SCENARIOS[sc][1] != "fanout":
            continue
        ours = med.get((sc, "duplex"), {})
        for name in applicable(sc, shown):
            m = med[(sc, name)]
            fail = f" **{m['failed']} failed**" if m["failed"] else ""
            split = ""
            if m.get("node_a_cpu_max") is not None and m.get("node_b_cpu_max") is not None:
                split = f" ({fmt(m['node_a_cpu_max'], 3)} + {fmt(m['node_b_cpu_max'], 3)})"
            redis = name in REDIS_SERVERS
            rss = mb(m["rss_b"]) + (
                f" / {mb(m['rss_a']) if m['rss_a'] is not None else 'same'} / {mb(m['rss_redis'])}"
                if redis else "")
            cells = [fmt(m["rate_max"], 0), ratio(m["rate_max"], ours.get("rate_max")),
                     f"{fmt(m['p50'], 0)} / {fmt(m['p99'], 0)}", fmt(m["cpu_max"], 3) + split,
                     f"{fmt(m['redis_cpu'], 3)} / {fmt(m['redis_cpu_max'], 3)}" if redis else "",
                     fmt(m["redis_pct_max"], 0) if redis else "",
                     f"{fmt(m['redis_cmds'], 3)} / {fmt(m['redis_cmds_max'], 3)}" if redis else "",
                     rss, fmt(m["all_pct_max"] if redis else m["srv_pct_max"], 0)]
            label = f"{SCENARIOS[sc][0]} (rate: {FANOUT_RATE[sc]:,} pubs/s)"
            print(f"| {name} | {label}{fail} | " + " | ".join(cells) + " |")


def run_redis_links(bins, args):
    """bench/redis_link_bench `args.reps` times, each against a fresh redis-server pinned to
    args.redis_core, the bench pinned to args.links_cores. Returns the list of runs, each a
    list of the bench's JSON lines (or {"error": ...})."""
    runs = []
    opts = ["-n", str(args.links_publications), "-w", str(args.links_window), "-T", "2", "-s",
            "100"]
    args.links_cmd = " ".join(["redis_link_bench", "--redis", "redis://127.0.0.1:PORT"] + opts)
    for rep in range(args.reps):
        log(f"rep {rep + 1}/{args.reps}: redis_links")
        try:
            redis = RedisServer(args.redis_core, args.workdir)
        except RuntimeError as e:
            runs.append([{"error": str(e)}])
            continue
        cmd = ["taskset", "-c", args.links_cores, bins["redis_link_bench"], "--redis",
               redis.url()] + opts
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            lines = [json.loads(x) for x in p.stdout.splitlines() if x.startswith("{")]
            if p.returncode:
                lines.append({"error": f"exit {p.returncode}: {p.stderr.strip()[-500:]}"})
            log(p.stderr.strip())
        except subprocess.TimeoutExpired:
            lines = [{"error": "redis_link_bench timed out"}]
        finally:
            redis.stop()
        runs.append(lines)
    return runs


def print_redis_links(runs, args):
    print(f"\nRedis connections (bench/redis_link_bench, `{args.links_cmd}`): "
          f"{args.links_publications:,} publications of 100 B per line from 2 publishing "
          f"threads, {args.links_window} awaiting their reply per thread; latency = publish() to "
          f"its callback. redis-server on core {args.redis_core}, the bench on cores "
          f"{args.links_cores}. Medians of {args.reps} run(s).\n")
    print("| history | connections | pub/s | ×shared | p50 µs | p99 µs | commands / publication "
          "| failed |")
    print("|---|---|---|---|---|---|---|---|")
    for hist in (True, False):
        shared = None
        for mode, label in (("shared", "one broker shared by 2 threads (1 loop thread)"),
                            ("per_thread", "a broker per loop thread (2 loop threads)")):
            rows = [x for run in runs for x in run if x.get("mode") == mode and
                    x.get("history") == hist]
            failed = sum(1 for x in rows if x["errors"] or not x["delivered"] or
                         x["out_of_order"]) + sum(1 for run in runs for x in run if "error" in x)
            pubs = median([x["pubs_per_s"] for x in rows])
            if mode == "shared":
                shared = pubs
            print(f"| {'on (EVALSHA)' if hist else 'off (PUBLISH)'} | {label} | {fmt(pubs, 0)} | "
                  f"{ratio(pubs, shared)} | {fmt(median([x['p50_us'] for x in rows]), 0)} | "
                  f"{fmt(median([x['p99_us'] for x in rows]), 0)} | "
                  f"{fmt(median([x['commands_per_pub'] for x in rows]), 2)} | {failed} |")


def print_sio_table(med, servers, scenarios, args):
    """The Socket.IO family: one table, ratios to `duplex-sio`, then the issue's targets."""
    print("| server | scenario | msgs/s @max | ×ours | CPU µs/msg @max | ×ours "
          "| CPU µs/msg @rate | ×ours | msgs/s @rate | p50 µs @rate | p99 µs @rate | lost "
          "| RSS B/socket | ×ours | CPU µs/connect | ×ours | server CPU % @rate / @max "
          "| gen CPU % |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for sc in scenarios:
        ours = med.get((sc, OURS["sio"]), {})
        for name in applicable(sc, servers):
            m = med[(sc, name)]
            label = SCENARIOS[sc][0]
            fail = f" **{m['failed']} failed**" if m["failed"] else ""
            if SCENARIOS[sc][1] == "idle":
                label = f"{args.sio_connections:,} {label}"
                cells = [""] * 10 + [fmt(m["rss"], 0), ratio(m["rss"], ours.get("rss")),
                                     fmt(m["hs_cpu"]), ratio(m["hs_cpu"], ours.get("hs_cpu")), "",
                                     f"{fmt(m['gen'], 0)} ({fmt(m['hs_rate'], 0)} sockets/s)"]
            else:
                if SCENARIOS[sc][1] == "fanout":
                    label = f"{label} (rate: {args.sio_broadcast_rate:,} msgs/s; per delivery)"
                else:
                    label = f"{label} (rate: {args.sio_rate:,} msgs/s)"
                cells = [fmt(m["rate_max"], 0), ratio(m["rate_max"], ours.get("rate_max")),
                         fmt(m["cpu_max"], 3), ratio(m["cpu_max"], ours.get("cpu_max")),
                         fmt(m["cpu"], 3), ratio(m["cpu"], ours.get("cpu")), fmt(m["achieved"], 0),
                         fmt(m["p50"], 0), fmt(m["p99"], 0), str(m["lost"]), "", "", "", "",
                         f"{fmt(m['srv_pct'], 0)} / {fmt(m['srv_pct_max'], 0)}",
                         f"{fmt(m['gen'], 0)} / {fmt(m['gen_max'], 0)}"]
            print(f"| {name} | {label}{fail} | " + " | ".join(cells) + " |")
    # The targets: >= 10x Node's throughput (echo, broadcast at max rate), <= 1/5 of its
    # memory per socket.
    lines = []
    for sc in scenarios:
        o, n = med.get((sc, OURS["sio"])), med.get((sc, "node-sio"))
        if not o or not n:
            continue
        if SCENARIOS[sc][1] == "idle":
            if o["rss"] and n["rss"]:
                x = n["rss"] / o["rss"]
                lines.append(f"- memory per socket: ours {fmt(o['rss'], 0)} B, Node "
                             f"{fmt(n['rss'], 0)} B: ours is 1/{x:.1f} of Node's (target ≤ 1/5): "
                             f"{'met' if x >= 5 else 'NOT met'}")
        elif o["rate_max"] and n["rate_max"]:
            x = o["rate_max"] / n["rate_max"]
            what = "echo" if SCENARIOS[sc][1] == "echo" else "broadcast deliveries"
            # Throughput a whole core would give, from the CPU per message at max rate: the
            # figure to read when a server did not get all of its core (shared machine).
            per_core = (f"; per core of server CPU (CPU µs/msg at max rate, Node ÷ ours): "
                        f"{n['cpu_max'] / o['cpu_max']:.1f}×"
                        if o["cpu_max"] and n["cpu_max"] else "")
            lines.append(f"- {what}/s at max rate: ours {fmt(o['rate_max'], 0)}, Node "
                         f"{fmt(n['rate_max'], 0)}: {x:.1f}× Node's (target ≥ 10×): "
                         f"{'met' if x >= 10 else 'NOT met'}{per_core}")
    if lines:
        print("\nTargets (issue 6):\n" + "\n".join(lines))


def redis_version():
    try:
        out = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout
        return "redis-server " + out.split("v=")[1].split()[0]
    except (OSError, IndexError):
        return "redis-server ?"


def versions(bins):
    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT).stdout.strip()
        except OSError:
            return "?"
    ws_pkg = os.path.join(ROOT, "tests", "interop", "node_modules", "ws", "package.json")
    try:
        ws_version = json.load(open(ws_pkg))["version"]
    except (OSError, ValueError):
        ws_version = "?"
    boost = out(["dpkg-query", "-W", "-f=${Version}", "libboost-dev"]) or "?"
    try:
        sio_version = json.load(open(os.path.join(PEERS, "node_modules", "socket.io",
                                                  "package.json")))["version"]
    except (OSError, ValueError):
        sio_version = "not installed"
    commit = out(["git", "rev-parse", "--short", "HEAD"])
    dirty = " (+ uncommitted changes)" if out(["git", "status", "--porcelain"]) else ""
    return (f"commit {commit}{dirty}; node {out(['node', '--version'])}, ws {ws_version} "
            f"(perMessageDeflate off); socket.io {sio_version} (perMessageDeflate off); "
            f"Boost.Beast {boost} (defaults); kernel {os.uname().release}; "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the start")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 repetition, 3 s windows (smoke run)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0, help="measured window per run")
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--rate", type=int, default=100000, help="echo: fixed offered rate, msgs/s")
    ap.add_argument("--burst", type=int, default=10,
                    help="fixed rate: messages written together per connection (<= 10 in flight)")
    ap.add_argument("--idle-connections", type=int, default=10000)
    ap.add_argument("--sio-rate", type=int, default=20000,
                    help="sio_echo: fixed offered rate, msgs/s (Node's socket.io peaks near 45,000 "
                    "on this VM: at 20,000 both servers keep up)")
    ap.add_argument("--sio-broadcast-rate", type=int, default=FANOUT_RATE["sio_broadcast"],
                    help="sio_broadcast: fixed rate, publications/s to the 1,000 members")
    ap.add_argument("--sio-connections", type=int, default=10000,
                    help="sio_idle: Socket.IO sockets (the open-files limit is 20,000)")
    ap.add_argument("--subscribed-connections", type=int, default=19000,
                    help="subscribed_idle: connections (the open-files limit is 20,000)")
    ap.add_argument("--window", type=int, default=16,
                    help="fan-out: publications outstanding per channel")
    ap.add_argument("--servers", default=None, help="default: " + ",".join(SERVERS))
    ap.add_argument("--scenarios", default="all",
                    help="names, or groups: " + ", ".join(f"{g} = {','.join(v)}"
                                                          for g, v in GROUPS.items() if g != "all"))
    ap.add_argument("--server-core", type=int, default=0)
    ap.add_argument("--gen-core", type=int, default=1)
    ap.add_argument("--redis-core", type=int, default=None,
                    help="core of run.py's redis-server (default: the server core, with the nodes)")
    ap.add_argument("--links-cores", default=None,
                    help="redis_links: cores of redis_link_bench (taskset list; default: the "
                    "generator core)")
    ap.add_argument("--links-publications", type=int, default=100000,
                    help="redis_links: publications per (connections, history) line")
    ap.add_argument("--links-window", type=int, default=64,
                    help="redis_links: publications awaiting their reply per publishing thread")
    ap.add_argument("--no-build", action="store_true", help="use the binaries already built")
    ap.add_argument("--build-dir", help="release tree to configure and build in "
                    "(cmake --preset release -B DIR; default build/release)")
    ap.add_argument("--duplex-bin", help="our echo_server binary (skips its release build)")
    ap.add_argument("--duplex-serve-bin", help="our `duplex` program (skips its release build)")
    ap.add_argument("--duplex-sio-bin", help="our sio_showcase binary (skips its release build)")
    ap.add_argument("--json", help="also write every raw result here")
    args = ap.parse_args()
    if args.quick:
        args.reps, args.seconds, args.warmup = 1, 3.0, 0.5
    if args.redis_core is None:
        args.redis_core = args.server_core
    if args.links_cores is None:
        args.links_cores = str(args.gen_core)
    servers = [s for s in (args.servers or ",".join(SERVERS)).split(",") if s]
    if not args.servers and not shutil.which("redis-server"):
        log("run.py: no redis-server on PATH: leaving out " + ", ".join(REDIS_SERVERS))
        servers = [s for s in servers if s not in REDIS_SERVERS]
    scenarios = []
    for s in (s for s in args.scenarios.split(",") if s):
        scenarios += GROUPS.get(s, [s])
    for s in servers:
        if s not in SERVERS:
            sys.exit(f"run.py: unknown server {s}")
    for s in scenarios:
        if s not in SCENARIOS:
            sys.exit(f"run.py: unknown scenario {s}")
    if ("node" in servers or "node-sio" in servers) and not shutil.which("node"):
        sys.exit("run.py: node is not on PATH")

    bins = build(args, scenarios)
    node_peers(servers, scenarios)
    header = versions(bins)
    started = time.monotonic()
    results = {sc: {name: [] for name in applicable(sc, servers)} for sc in scenarios}
    links = None
    with tempfile.TemporaryDirectory(prefix="duplex-bench-") as workdir:
        args.workdir = workdir
        if REDIS_LINKS in scenarios:
            links = run_redis_links(bins, args)
        for rep in range(args.reps):
            order = servers[rep % len(servers):] + servers[:rep % len(servers)]
            for sc in scenarios:
                for name in applicable(sc, order):
                    log(f"rep {rep + 1}/{args.reps}: {name} {sc}")
                    try:
                        results[sc][name].append(measure(name, sc, bins, args))
                    except RuntimeError as e:
                        log(f"  FAILED: {e}")
                        results[sc][name].append({"crash": str(e)})
        del args.workdir

    med = summarize(results, servers, scenarios)
    took = time.monotonic() - started
    header += f", {os.getloadavg()[0]:.2f} at the end"
    echo_sc = [sc for sc in scenarios if family(sc) == "echo"]
    fan_sc = [sc for sc in scenarios if family(sc) == "fanout"]
    redis_servers = [s for s in servers if s in REDIS_SERVERS]
    sio_sc = [sc for sc in scenarios if family(sc) == "sio"]
    if echo_sc:
        print(f"\nduplex bench: {args.reps} repetition(s), {args.seconds:g} s windows "
              f"(+{args.warmup:g} s warm-up), fixed rate {args.rate:,} msgs/s in bursts of "
              f"{args.burst}, 100 conns × 10 in flight; idle: {args.idle_connections:,} conns. "
              f"Server on core {args.server_core}, generator on core {args.gen_core}. Medians. "
              f"{header}. Took {took:.0f} s.\n")
        print_table(med, servers, echo_sc, args)
    if fan_sc:
        print(f"\nduplex fan-out bench: {args.reps} repetition(s), {args.seconds:g} s windows "
              f"(+{args.warmup:g} s warm-up); 64-byte publications from one publisher "
              f"connection, fixed rates of 1,000,000 deliveries/s offered, max rate with "
              f"{args.window} publications outstanding per channel; subscribed idle: "
              f"{args.subscribed_connections:,} conns. `duplex serve --threads 1` with history, "
              f"presence and join/leave off (`duplex-history`: history 100 pubs / 5 min on; "
              f"`duplex-sse`, `duplex-http-stream`: subscribers on SSE /events and Centrifugo "
              f"uni_http_stream instead of WebSocket, ×ours against the WebSocket row); "
              f"node: ws broadcast peer. Server on core {args.server_core}, generator on core "
              f"{args.gen_core}. Medians; lost = sum over the runs. {header}. Took {took:.0f} s.\n")
        if redis_servers:
            print(f"Cross-node: `duplex-redis1` = one node with --broker redis://, "
                  f"`duplex-redis2` = the subscribers on node B and the publisher connection on "
                  f"node A, one redis-server ({redis_version()}, no persistence, fresh per run); "
                  f"every node (`--threads 1`) on core {args.server_core}, Redis on core "
                  f"{args.redis_core}. Their CPU µs/delivery is all nodes' (A + B), Redis's "
                  f"apart below.\n")
        print_fanout_table(med, servers, fan_sc, args)
        print_cross_node_table(med, servers, fan_sc, args)
    if sio_sc:
        print(f"\nduplex Socket.IO bench: {args.reps} repetition(s), {args.seconds:g} s windows "
              f"(+{args.warmup:g} s warm-up). Each socket CONNECTs to \"/\" over "
              f"/socket.io/?EIO=4&transport=websocket. echo: emit echo(<32 B string>) with an ack "
              f"per message, checked; fixed rate {args.sio_rate:,} msgs/s in bursts of "
              f"{args.burst}. broadcast: 1,000 members join one room, one publisher emits "
              f"to-room(room, <64 B object>) with an ack, each member gets room-msg; fixed rate "
              f"{args.sio_broadcast_rate:,} msgs/s ({args.sio_broadcast_rate * 1000:,} "
              f"deliveries/s), max rate with {args.window} outstanding; msgs/s and CPU µs/msg are "
              f"per delivery there. idle: {args.sio_connections:,} sockets. `duplex-sio`: "
              f"examples/sio_showcase --threads 1; `node-sio`: bench/peers/sio_server.js. Server "
              f"on core {args.server_core}, generator on core {args.gen_core}. Medians; lost = sum "
              f"over the runs. {header}. Took {took:.0f} s.\n")
        print_sio_table(med, servers, sio_sc, args)
    if links is not None:
        print_redis_links(links, args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "header": header, "results": results,
                       "redis_links": links}, f, indent=1)
    failed = any(m["failed"] for m in med.values()) or \
        any("error" in x or x.get("errors") or not x.get("delivered", True)
            for run in (links or []) for x in run)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
