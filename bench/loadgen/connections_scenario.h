// connections_scenario: opens C WebSocket connections (complete, validated handshakes) and
// leaves them idle, to measure the handshake rate, the server's CPU per handshake and its
// resident memory per idle connection.
//
// The figures are marginal: a first batch of `warm` connections is opened (and kept) before
// the baseline sample, so one-time costs of the first connection (OpenSSL's lazy provider
// setup, a JIT warming up, a table's first pages) are not charged to every connection. Then
// C - warm more are opened; RSS after them (plus a settle time) minus the baseline, and the
// server's CPU over their handshakes, are divided by C - warm.
//
// With `subscribe` set, each connection also subscribes to that channel once open (centrifuge
// dialect: connect and subscribe commands; raw dialect: the channel is in the URL and the peer
// confirms), and the figures cover the handshake plus the subscription: the measured phase ends
// at the last subscribe reply, so RSS per connection is that of an idle subscribed connection.
//
// With `sio` set, each connection is a Socket.IO client (sio_protocol.h): the WebSocket goes to
// the Engine.IO endpoint, the client answers the open packet with a CONNECT to "/" and counts as
// open once the server accepted it (40{"sid":...}); pings are answered while idle. The figures
// are then per connected Socket.IO socket.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "client_pool.h"
#include "fanout_protocol.h"

namespace duplex::bench {

struct connections_options {
  pool_options pool;
  std::size_t connections = 10000;
  std::size_t concurrency = 256;  // handshakes in flight at once
  std::size_t warm = 100;         // opened before the baseline sample (see above)
  double settle_seconds = 0.5;    // idle time before the RSS sample
  double hold_seconds = 0;        // keep them open this long after measuring
  pid_t server_pid = 0;
  std::string subscribe;  // channel to subscribe each connection to; empty = none
  dialect proto = dialect::centrifuge;
  bool sio = false;  // Socket.IO sockets CONNECTed to "/" (pool.path: sio_websocket_path)
};

struct connections_report {
  std::size_t opened = 0, failed = 0;  // of the measured C - warm
  std::size_t measured = 0;             // C - warm
  double elapsed_s = 0;
  double handshakes_per_s = 0;
  double gen_cpu_percent = 0;
  double server_cpu_us_per_handshake = -1;
  double server_rss_bytes_per_conn = -1;
  std::uint64_t server_rss_before = 0, server_rss_after = 0;
  std::size_t subscribed = 0;          // subscribe replies or Socket.IO CONNECTs (of all C)
  std::size_t dropped_while_idle = 0;  // closed by the server during settle/hold
  std::string first_error;
};

connections_report run_connections(const connections_options& options);
void print_connections_report(const connections_options& options, const connections_report& r);

}  // namespace duplex::bench
