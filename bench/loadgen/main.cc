// loadgen: the WebSocket load generator of the benchmark (see bench/README.md).
//
//   loadgen echo        --port N [--connections 100] [--in-flight 10] [--size 32] [--binary]
//                       [--seconds 5] [--warmup 1] [--rate 0 [--burst 1]] [--server-pid PID]
//   loadgen connections --port N [--connections 10000] [--concurrency 256] [--settle 0.5]
//                       [--warm 100] [--hold 0] [--sources 0] [--server-pid PID]
//
// Single-threaded (epoll); run it on its own core (taskset -c 1). Prints one JSON line on
// stdout and a human summary on stderr; exits 1 when any connection failed.
#include <sys/resource.h>

#include <cstdio>

#include <CLI/CLI.hpp>

#include "connections_scenario.h"
#include "echo_scenario.h"

namespace {

// Raises the soft open-files limit to the hard one; returns the limit now in force.
rlim_t raise_nofile() {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

bool fits(std::size_t connections) {
  rlim_t limit = raise_nofile();
  if (connections + 16 > limit) {
    std::fprintf(stderr, "loadgen: %zu connections need more than the %llu open files allowed\n",
                 connections, static_cast<unsigned long long>(limit));
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace duplex::bench;
  CLI::App app{"duplex WebSocket load generator"};
  app.require_subcommand(1);

  echo_options eo;
  pool_options& ep = eo.pool;
  std::uint16_t eport = 0;
  auto* echo = app.add_subcommand("echo", "echo messages and measure rate, latency, CPU");
  echo->add_option("--host", ep.host, "server IPv4 address");
  echo->add_option("--port", eport, "server port")->required();
  echo->add_option("--path", ep.path, "request target");
  echo->add_option("--connections,-c", eo.connections, "connections");
  echo->add_option("--in-flight,-p", eo.in_flight, "messages in flight per connection")
      ->check(CLI::Range(1u, 1u << 16));
  echo->add_option("--size,-s", ep.message_size, "bytes per message")->check(CLI::Range(1, 1 << 24));
  echo->add_flag("--binary", ep.binary, "binary messages (default: text)");
  echo->add_option("--seconds,-t", eo.seconds, "measured window");
  echo->add_option("--warmup", eo.warmup_seconds, "seconds before the window");
  echo->add_option("--rate,-r", eo.rate, "offered messages/s, paced across connections (0 = max)");
  echo->add_option("--burst", eo.burst,
                   "fixed rate: messages sent together to one connection (<= in-flight)");
  echo->add_option("--tick-us", eo.tick_ns, "pacing granularity (us)")->transform([](std::string s) {
    return std::to_string(std::stoull(s) * 1000);
  });
  echo->add_option("--server-pid", eo.server_pid, "sample this process's CPU over the window");
  echo->add_option("--sources", ep.sources, "source addresses 127.0.0.1..N")
      ->check(CLI::Range(1u, 250u));

  connections_options co;
  pool_options& cp = co.pool;
  std::uint16_t cport = 0;
  unsigned csources = 0;
  auto* conns = app.add_subcommand("connections", "open idle connections; handshake rate, RSS");
  conns->add_option("--host", cp.host, "server IPv4 address");
  conns->add_option("--port", cport, "server port")->required();
  conns->add_option("--path", cp.path, "request target");
  conns->add_option("--connections,-c", co.connections, "connections to open");
  conns->add_option("--concurrency", co.concurrency, "handshakes in flight");
  conns->add_option("--warm", co.warm, "connections opened before the baseline sample");
  conns->add_option("--settle", co.settle_seconds, "idle seconds before sampling RSS");
  conns->add_option("--hold", co.hold_seconds, "seconds to keep them open afterwards");
  conns->add_option("--sources", csources, "source addresses 127.0.0.1..N (0: one per 20,000)")
      ->check(CLI::Range(0u, 250u));
  conns->add_option("--server-pid", co.server_pid, "sample this process's CPU and RSS");

  CLI11_PARSE(app, argc, argv);

  if (echo->parsed()) {
    ep.port = eport;
    if (!fits(eo.connections)) return 2;
    auto r = run_echo(eo);
    print_echo_report(eo, r);
    return r.failures ? 1 : 0;
  }
  cp.port = cport;
  cp.sources = csources ? csources : static_cast<unsigned>((co.connections + 19999) / 20000);
  if (!fits(co.connections)) return 2;
  auto r = run_connections(co);
  print_connections_report(co, r);
  return r.failed || r.dropped_while_idle ? 1 : 0;
}
