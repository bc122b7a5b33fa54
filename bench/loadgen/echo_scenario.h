// echo_scenario: C connections each keep up to P messages of S bytes in flight to an echo
// server, for a warm-up and then a measured window of T seconds, either as fast as echoes come
// back (max rate: each echo triggers the next message) or at a fixed offered rate R paced
// round-robin across connections in bursts of B messages (one write each). Latency is from the
// flush that sent a message to the read that completed its echo, per message.
//
// Two dialects: a WebSocket echo (each data message comes back as it was sent), or Socket.IO
// (`sio`, sio_protocol.h): each connection first completes the Engine.IO open and the CONNECT
// to "/", then message n is the event 42<n>["echo","<S bytes>"] and its echo the ack
// 43<n>["<S bytes>"], checked byte for byte and in order (an ack out of order, or with other
// arguments, fails the connection). The payload is S bytes of printable ASCII without '"' or
// '\\', so it travels as a JSON string without escapes.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

#include "client_pool.h"

namespace duplex::bench {

struct echo_options {
  pool_options pool;
  std::size_t connections = 100;
  std::uint32_t in_flight = 10;
  double seconds = 5.0;
  double warmup_seconds = 1.0;
  double rate = 0;               // messages/s offered; 0 = max rate
  std::uint32_t burst = 1;          // fixed rate: messages written together to one connection
  std::uint64_t tick_ns = 100'000;  // pacing granularity at a fixed rate
  pid_t server_pid = 0;          // when set, the server's CPU and RSS are sampled at the window
  bool sio = false;              // Socket.IO echo with acks (pool.path: sio_websocket_path)
};

struct echo_report {
  std::size_t connections_open = 0;
  std::uint64_t messages = 0;  // echoes completed inside the window
  double window_s = 0;
  double msgs_per_s = 0;
  double mb_per_s = 0;         // payload bytes echoed per second, one direction, 1e6 bytes
  double p50_us = 0, p99_us = 0, p999_us = 0;
  double gen_cpu_percent = 0;  // of one core
  double offered_rate = 0;     // 0 = max
  std::uint64_t skipped = 0;   // fixed rate: messages not sent because every window was full
  double server_cpu_us_per_msg = -1;       // schedstat; -1 when not sampled
  double server_stat_cpu_us_per_msg = -1;  // utime+stime (10 ms ticks)
  double server_cpu_percent = -1;
  std::size_t failures = 0;
  std::string first_error;
};

echo_report run_echo(const echo_options& options);

// One line of JSON (for bench/run.py) and a human summary on stderr.
void print_echo_report(const echo_options& options, const echo_report& r);

}  // namespace duplex::bench
