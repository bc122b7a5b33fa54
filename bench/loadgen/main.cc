// loadgen: the WebSocket load generator of the benchmark (see bench/README.md).
//
//   loadgen echo        --port N [--connections 100] [--in-flight 10] [--size 32]
//                       [--binary | --sio] [--seconds 5] [--warmup 1] [--rate 0 [--burst 1]]
//                       [--server-pid PID]
//   loadgen connections --port N [--connections 10000] [--concurrency 256] [--settle 0.5]
//                       [--warm 100] [--hold 0] [--sources 0] [--server-pid PID]
//                       [--subscribe CHANNEL [--raw] | --sio]
//   loadgen fanout      --port N [--subscribers 10000] [--channels 1] [--size 64]
//                       [--rate 0] [--window 16] [--seconds 5] [--warmup 1]
//                       [--raw | --sio | --sub-transport ws|sse|http_stream [--hmac-secret S]]
//                       [--sources 0] [--server-pid PID] [--pub-port N] [--also-pid PID...]
//
// --sio: the Socket.IO dialect (sio_protocol.h) at /socket.io/?EIO=4&transport=websocket: echo
// with acks, idle sockets CONNECTed to "/", room broadcast (join, to-room, room-msg).
//
// Single-threaded (epoll); run it on its own core (taskset -c 1). Prints one JSON line on
// stdout and a human summary on stderr; exits 1 when any connection failed.
#include <sys/resource.h>

#include <cctype>
#include <cstdio>

#include <CLI/CLI.hpp>

#include "connections_scenario.h"
#include "echo_scenario.h"
#include "fanout_scenario.h"
#include "sio_protocol.h"

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
  echo->add_flag("--sio", eo.sio,
                 "Socket.IO: emit echo(payload) with an ack per message (path: the Engine.IO "
                 "WebSocket endpoint)");
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
  conns->add_option("--subscribe", co.subscribe,
                    "subscribe each connection to this channel (centrifuge: connect+subscribe)");
  bool craw = false;
  conns->add_flag("--raw", craw,
                  "with --subscribe: the broadcast peer's dialect (/sub?channel=, no commands)");
  conns->add_flag("--sio", co.sio,
                  "Socket.IO sockets, each CONNECTed to \"/\" (path: the Engine.IO WebSocket "
                  "endpoint)");

  fanout_options fo;
  pool_options& fp = fo.pool;
  fp.path = "/connection/websocket";
  std::uint16_t fport = 0;
  unsigned fsources = 0;
  bool fraw = false, fsio = false;
  auto* fan = app.add_subcommand(
      "fanout", "subscribers on K channels, one publisher; deliveries/s, latency, losses, CPU");
  fan->add_option("--host", fp.host, "server IPv4 address");
  fan->add_option("--port", fport, "server port")->required();
  fan->add_option("--path", fp.path, "centrifuge endpoint");
  fan->add_flag("--raw", fraw,
                "broadcast peer dialect: /sub?channel=NAME and /pub (default: Centrifugo v2 JSON)");
  fan->add_flag("--sio", fsio,
                "Socket.IO rooms: subscribers join(room), the publisher emits to-room(room, data), "
                "members get room-msg (path: the Engine.IO WebSocket endpoint)");
  std::string ftransport = "ws";
  fan->add_option("--sub-transport", ftransport,
                  "centrifuge dialect: subscribers over ws (/connection/websocket), sse (GET "
                  "/events?channel=) or http_stream (POST /connection/uni_http_stream, a token per "
                  "channel signed with --hmac-secret)")
      ->check(CLI::IsMember({"ws", "sse", "http_stream"}));
  fan->add_option("--hmac-secret", fo.hmac_secret,
                  "http_stream: the server's HS256 token secret (duplex serve --token-secret)");
  fan->add_option("--sse-path", fo.sse_path, "sse: the endpoint");
  fan->add_option("--uni-stream-path", fo.uni_stream_path, "http_stream: the endpoint");
  fan->add_option("--subscribers,-c", fo.subscribers, "subscriber connections")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));
  fan->add_option("--channels,-k", fo.channels, "channels (subscriber j on channel j mod K)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));
  // Written into JSON, URLs and tokens without escaping: keep it to characters that need none.
  fan->add_option("--channel-prefix", fo.channel_prefix,
                  "channel names: PREFIX<k> (PREFIX if K = 1)")
      ->check([](const std::string& p) -> std::string {
        for (char ch : p) {
          if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-' &&
              ch != '.' && ch != ':')
            return "channel prefix: letters, digits, _ - . : only";
        }
        return {};
      });
  fan->add_option("--size,-s", fo.size, "bytes of data per publication")
      ->check(CLI::Range(std::size_t{16}, std::size_t{1} << 20));
  fan->add_option("--rate,-r", fo.rate, "offered publications/s (0 = max rate)");
  fan->add_option("--window,-w", fo.window, "publications outstanding per channel")
      ->check(CLI::Range(1u, 1u << 20));
  fan->add_option("--in-flight,-p", fo.in_flight,
                  "publish commands awaiting their reply (0: window x channels)");
  fan->add_option("--max-lag", fo.max_lag,
                  "deliveries outstanding (0: window x subscribers)");
  fan->add_option("--seconds,-t", fo.seconds, "measured window");
  fan->add_option("--warmup", fo.warmup_seconds, "seconds of publishing before the window");
  fan->add_option("--drain", fo.drain_seconds, "seconds to wait for late deliveries");
  fan->add_option("--tick-us", fo.tick_ns, "pacing granularity (us)")->transform([](std::string s) {
    return std::to_string(std::stoull(s) * 1000);
  });
  fan->add_option("--concurrency", fo.concurrency, "handshakes in flight while opening");
  fan->add_option("--sources", fsources, "source addresses 127.0.0.1..N (0: one per 20,000)")
      ->check(CLI::Range(0u, 250u));
  fan->add_option("--server-pid", fo.server_pid, "sample this process's CPU over the window");
  fan->add_option("--also-pid", fo.also_pids,
                  "sample these processes too, reported apart (\"also\"): the publisher's node, "
                  "Redis");
  fan->add_option("--pub-port", fp.first_port,
                  "the publisher connects to this port (another node), the subscribers to --port");

  CLI11_PARSE(app, argc, argv);

  if (fan->parsed()) {
    fp.port = fport;
    fo.proto = fraw ? dialect::raw : fsio ? dialect::socketio : dialect::centrifuge;
    if (fraw && fsio) {
      std::fprintf(stderr, "loadgen: --raw and --sio are two dialects: pick one\n");
      return 2;
    }
    if (fsio && fan->count("--path") == 0) fp.path = std::string(sio_websocket_path);
    fo.transport = ftransport == "sse"           ? sub_transport::sse
                   : ftransport == "http_stream" ? sub_transport::http_stream
                                                 : sub_transport::ws;
    if ((fraw || fsio) && fo.transport != sub_transport::ws) {
      std::fprintf(stderr,
                   "loadgen: --sub-transport needs the centrifuge dialect (not --raw or --sio)\n");
      return 2;
    }
    if (fo.transport == sub_transport::http_stream && fo.hmac_secret.empty()) {
      std::fprintf(stderr, "loadgen: --sub-transport http_stream needs --hmac-secret\n");
      return 2;
    }
    const std::size_t total = fo.subscribers + 1;
    fp.sources = fsources ? fsources : static_cast<unsigned>((total + 19999) / 20000);
    if (!fits(total)) return 2;
    auto r = run_fanout(fo);
    print_fanout_report(fo, r);
    return r.failures || r.lost || r.reordered || r.misrouted || r.publish_errors ? 1 : 0;
  }

  if (echo->parsed()) {
    ep.port = eport;
    if (eo.sio && ep.binary) {
      std::fprintf(stderr, "loadgen: --sio echoes a string payload (no --binary)\n");
      return 2;
    }
    if (eo.sio && echo->count("--path") == 0) ep.path = std::string(sio_websocket_path);
    if (!fits(eo.connections)) return 2;
    auto r = run_echo(eo);
    print_echo_report(eo, r);
    return r.failures ? 1 : 0;
  }
  cp.port = cport;
  co.proto = craw ? dialect::raw : dialect::centrifuge;
  if (co.sio && (!co.subscribe.empty() || craw)) {
    std::fprintf(stderr, "loadgen: --sio sockets are only CONNECTed (no --subscribe, --raw)\n");
    return 2;
  }
  if (co.sio && conns->count("--path") == 0) cp.path = std::string(sio_websocket_path);
  if (!co.subscribe.empty() && !craw && conns->count("--path") == 0)
    cp.path = "/connection/websocket";
  cp.sources = csources ? csources : static_cast<unsigned>((co.connections + 19999) / 20000);
  if (!fits(co.connections)) return 2;
  auto r = run_connections(co);
  print_connections_report(co, r);
  return r.failed || r.dropped_while_idle ? 1 : 0;
}
