#!/usr/bin/python3
"""The duplex benchmark: our echo server against Node `ws`, Boost.Beast and the floor server.

    bench/run.py [--quick] [--reps 3] [--seconds 5] [--rate 100000] [--servers ...]

Builds what it needs (the release preset for our echo_server; bench/ standalone for the load
generator and the peers unless the release tree already has them), then for every scenario
measures every server in the same run, interleaved (the server order rotates each
repetition), each on a fresh process pinned to one core with the generator on another, and
prints one markdown table of medians. See bench/README.md for the method.
"""
import argparse
import json
import os
import select
import shutil
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")

SERVERS = ["duplex", "floor", "beast", "node"]
# name -> (label, loadgen arguments). Fixed-rate scenarios get --rate/--burst from the options.
SCENARIOS = {
    "text32": ("32 B text", ["-c", "100", "-p", "10", "-s", "32"]),
    "binary4k": ("4 KiB binary", ["-c", "100", "-p", "10", "-s", "4096", "--binary"]),
    "idle": ("idle conns", []),
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, **kw):
    log("+ " + " ".join(cmd))
    return subprocess.run(cmd, cwd=ROOT, **kw)


def build(args):
    """Returns {name: path} of the binaries to use."""
    release = os.path.join(ROOT, "build", "release")
    bins = {}
    if args.duplex_bin:
        bins["duplex"] = os.path.abspath(args.duplex_bin)
    elif not args.no_build:
        if run(["cmake", "--preset", "release"], stdout=subprocess.DEVNULL).returncode != 0:
            sys.exit("run.py: `cmake --preset release` failed")
        if run(["cmake", "--build", "--preset", "release", "--target", "echo_server"]).returncode:
            sys.exit("run.py: building echo_server (release preset) failed; fix the build or "
                     "pass --duplex-bin PATH")
    bins.setdefault("duplex", os.path.join(release, "examples", "echo_server"))

    # bench/ in the release tree when the top level adds it, else standalone in build/bench.
    in_release = os.path.exists(os.path.join(release, "bench", "build.ninja")) or \
        os.path.isdir(os.path.join(release, "bench", "CMakeFiles"))
    bench_dir = os.path.join(release, "bench") if in_release else os.path.join(ROOT, "build", "bench")
    targets = ["duplex_loadgen", "floor_server", "beast_echo_server"]
    if not args.no_build:
        if in_release:
            cmd = ["cmake", "--build", "--preset", "release", "--target"] + targets
        else:
            if run(["cmake", "-S", BENCH, "-B", bench_dir, "-G", "Ninja",
                    "-DCMAKE_BUILD_TYPE=Release"], stdout=subprocess.DEVNULL).returncode:
                sys.exit("run.py: configuring bench/ failed")
            cmd = ["cmake", "--build", bench_dir, "-j", "2", "--target"] + targets
        if run(cmd).returncode:
            sys.exit("run.py: building the load generator and peers failed")
    bins["loadgen"] = os.path.join(bench_dir, "duplex_loadgen")
    bins["floor"] = os.path.join(bench_dir, "floor_server")
    bins["beast"] = os.path.join(bench_dir, "beast_echo_server")
    for name, path in bins.items():
        if not os.access(path, os.X_OK):
            sys.exit(f"run.py: missing {name} binary {path}")
    return bins


def server_cmd(name, bins):
    if name == "duplex":
        return [bins["duplex"], "--port", "0", "--threads", "1", "--no-deflate"]
    if name == "floor":
        return [bins["floor"], "--port", "0"]
    if name == "beast":
        return [bins["beast"], "--port", "0"]
    if name == "node":
        return ["node", os.path.join(BENCH, "peers", "ws_echo_server.js"), "--port", "0"]
    raise ValueError(name)


class Server:
    """A server process pinned to `core`; its pid is the server's (taskset execs it)."""

    def __init__(self, name, bins, core):
        self.name = name
        self.proc = subprocess.Popen(["taskset", "-c", str(core)] + server_cmd(name, bins),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
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


def loadgen(bins, core, server, args_list, timeout):
    cmd = ["taskset", "-c", str(core), bins["loadgen"]] + args_list + \
        ["--port", str(server.port), "--server-pid", str(server.proc.pid)]
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
    srv = Server(name, bins, args.server_core)
    out = {}
    try:
        if scenario == "idle":
            r = loadgen(bins, args.gen_core, srv,
                        ["connections", "-c", str(args.idle_connections)], 120)
            out["idle"] = r
        else:
            base = SCENARIOS[scenario][1]
            common = ["echo"] + base + ["-t", str(args.seconds), "--warmup", str(args.warmup)]
            to = args.seconds + args.warmup + 40
            out["fixed"] = loadgen(bins, args.gen_core, srv, common +
                                   ["--rate", str(args.rate), "--burst", str(args.burst)], to)
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


def summarize(results, servers, scenarios):
    """results[scenario][server] = list of per-repetition dicts -> table rows of medians."""
    rows = []
    med = {}
    for sc in scenarios:
        for name in servers:
            reps = results[sc][name]
            m = {"failed": sum(1 for r in reps for x in r.values()
                               if isinstance(x, dict) and x.get("error")) +
                 sum(1 for r in reps if r.get("crash"))}
            if sc == "idle":
                get = lambda k: median([r["idle"].get(k) for r in reps if "idle" in r])
                m.update(rss=get("server_rss_bytes_per_conn"),
                         hs_cpu=get("server_cpu_us_per_handshake"),
                         hs_rate=get("handshakes_per_s"), gen=get("gen_cpu_percent"))
            else:
                def get(kind, k):
                    return median([r[kind].get(k) for r in reps if kind in r])
                m.update(cpu=get("fixed", "server_cpu_us_per_msg"),
                         cpu_max=get("max", "server_cpu_us_per_msg"),
                         rate_max=get("max", "msgs_per_s"), p99=get("fixed", "p99_us"),
                         achieved=get("fixed", "msgs_per_s"),
                         gen=get("fixed", "gen_cpu_percent"),
                         gen_max=get("max", "gen_cpu_percent"))
            med[(sc, name)] = m
    return med


def print_table(med, servers, scenarios, args):
    print("| server | scenario | CPU µs/msg @rate | ×ours | CPU µs/msg @max | ×ours | msgs/s @max "
          "| msgs/s @rate | p99 µs @rate | RSS B/conn | ×ours | CPU µs/handshake | ×ours "
          "| gen CPU % |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for sc in scenarios:
        ours = med.get((sc, "duplex"), {})
        for name in servers:
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
    commit = out(["git", "rev-parse", "--short", "HEAD"])
    dirty = " (+ uncommitted changes)" if out(["git", "status", "--porcelain"]) else ""
    return (f"commit {commit}{dirty}; node {out(['node', '--version'])}, ws {ws_version} "
            f"(perMessageDeflate off); Boost.Beast {boost} (defaults); kernel {os.uname().release}; "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the start")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 repetition, 3 s windows (smoke run)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0, help="measured window per run")
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--rate", type=int, default=100000, help="fixed offered rate, msgs/s")
    ap.add_argument("--burst", type=int, default=10,
                    help="fixed rate: messages written together per connection (<= 10 in flight)")
    ap.add_argument("--idle-connections", type=int, default=10000)
    ap.add_argument("--servers", default=",".join(SERVERS))
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--server-core", type=int, default=0)
    ap.add_argument("--gen-core", type=int, default=1)
    ap.add_argument("--no-build", action="store_true", help="use the binaries already built")
    ap.add_argument("--duplex-bin", help="our echo_server binary (skips the release build)")
    ap.add_argument("--json", help="also write every raw result here")
    args = ap.parse_args()
    if args.quick:
        args.reps, args.seconds, args.warmup = 1, 3.0, 0.5
    servers = [s for s in args.servers.split(",") if s]
    scenarios = [s for s in args.scenarios.split(",") if s]
    for s in servers:
        if s not in SERVERS:
            sys.exit(f"run.py: unknown server {s}")
    for s in scenarios:
        if s not in SCENARIOS:
            sys.exit(f"run.py: unknown scenario {s}")
    if "node" in servers and not shutil.which("node"):
        sys.exit("run.py: node is not on PATH")

    bins = build(args)
    header = versions(bins)
    started = time.monotonic()
    results = {sc: {name: [] for name in servers} for sc in scenarios}
    for rep in range(args.reps):
        order = servers[rep % len(servers):] + servers[:rep % len(servers)]
        for sc in scenarios:
            for name in order:
                log(f"rep {rep + 1}/{args.reps}: {name} {sc}")
                try:
                    results[sc][name].append(measure(name, sc, bins, args))
                except RuntimeError as e:
                    log(f"  FAILED: {e}")
                    results[sc][name].append({"crash": str(e)})

    med = summarize(results, servers, scenarios)
    print(f"\nduplex bench: {args.reps} repetition(s), {args.seconds:g} s windows "
          f"(+{args.warmup:g} s warm-up), fixed rate {args.rate:,} msgs/s in bursts of "
          f"{args.burst}, 100 conns × 10 in flight; idle: {args.idle_connections:,} conns. "
          f"Server on core {args.server_core}, generator on core {args.gen_core}. Medians. "
          f"{header}. Took {time.monotonic() - started:.0f} s.\n")
    print_table(med, servers, scenarios, args)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "header": header, "results": results}, f, indent=1)
    failed = any(m["failed"] for m in med.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
