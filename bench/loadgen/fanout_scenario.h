// fanout_scenario: S subscriber connections spread round-robin over K channels (subscriber j
// on channel j mod K) and one publisher connection that publishes `size`-byte publications to
// the channels in turn, either at a fixed rate R (publications/s, paced) or at the maximum rate
// the system sustains with bounded work in flight. Each publication carries its channel's
// sequence number and its send time (fanout_protocol.h), so each subscriber checks that it
// gets every publication of its channel, in order, and records publish-to-delivery latency.
//
// Cross-node: with pool.first_port set, the publisher connects to that port (node A) and the
// subscribers to pool.port (node B); both are timed on this process's one clock, so latency
// needs no clock agreement between processes.
//
// Flow control (both modes): a window of W publications outstanding per channel, i.e. at most
// W x K publish commands without a reply and at most W x S deliveries outstanding (published x
// subscribers of the channel, minus delivered or found lost); --in-flight and --max-lag set
// either bound directly. The delivery bound keeps the max-rate run end to end: publishing runs
// as fast as deliveries come back, whichever side (server or generator) is the bottleneck, and
// backlog does not pile up without bound in socket buffers and output queues. The max rate
// depends on W: a server that coalesces the pushes queued for one connection into one write
// spends less per delivery the more publications are outstanding. At a fixed rate, a
// publication that either bound stops is not sent and counted as `skipped` (the system is
// behind the offered rate by more than W publications per channel).
//
// Subscribers speak WebSocket (the Centrifugo protocol, or the raw dialect) or, in the
// centrifuge dialect, one of duplex's HTTP streaming transports (`transport`, see
// fanout_protocol.h): SSE at /events or Centrifugo's unidirectional HTTP-streaming. The
// publisher is a centrifuge WebSocket client in every case. A subscriber counts as ready when
// its subscription is live: its subscribe reply (ws), the :subscribed event (sse), the connect
// push listing its channel (http_stream, whose connect reply waits for the server-side
// subscriptions).
//
// Or Socket.IO (dialect::socketio, sio_protocol.h): every connection CONNECTs to "/" at the
// Engine.IO endpoint; subscriber j joins room "<channel j mod K>" (the event join(room, ack),
// ready at its ack) and the publisher emits to-room(room, data, ack) for each publication,
// which the server sends to the room's members as room-msg(room, data) (the sender is not a
// member); the ack, [true], is the publish reply. The data is the bench data with the padding
// member named "x" (fanout_protocol.h: a server that sorts members writes it as sent).
//
// Latency is from the publisher's send (taken just before the write) to the read that
// completed the subscriber's frame. It includes the generator's own time to get to that
// socket: with one generator thread, the last of 10,000 subscribers of a publication is read
// after the other 9,999, which bounds what this figure can show.
//
// Lost: a gap in a subscriber's sequence counts the missing publications; after the window the
// generator stops publishing and waits for the rest until `drain_seconds` pass without a
// delivery (at most 60 s), and whatever a subscriber still misses then counts as lost too. `reordered` counts sequence numbers that
// went backwards (duplicates or reordering: the protocols promise neither).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "client_pool.h"
#include "fanout_protocol.h"

namespace duplex::bench {

struct fanout_options {
  pool_options pool;  // centrifuge: pool.path is the endpoint; raw: the paths below are used
  dialect proto = dialect::centrifuge;
  sub_transport transport = sub_transport::ws;  // centrifuge dialect only
  std::string sse_path = "/events";
  std::string uni_stream_path = "/connection/uni_http_stream";
  std::string hmac_secret;          // http_stream: the server's token secret (signs the tokens)
  std::string token_user = "bench"; // http_stream: the tokens' `sub`
  std::size_t subscribers = 10000;
  std::size_t channels = 1;
  std::string channel_prefix = "bench";  // channel k is "<prefix><k>", or "<prefix>" when K = 1
  std::size_t size = 64;                 // bytes of data per publication
  double rate = 0;                       // publications/s offered; 0 = max
  std::uint32_t window = 16;             // publications outstanding per channel
  std::uint64_t in_flight = 0;           // publish commands without a reply; 0 = W x K
  std::uint64_t max_lag = 0;             // deliveries outstanding; 0 = W x S
  double seconds = 5.0;
  double warmup_seconds = 1.0;
  double drain_seconds = 2.0;            // give up after this long without a delivery
  std::uint64_t tick_ns = 100'000;       // pacing granularity at a fixed rate
  std::size_t concurrency = 256;         // handshakes in flight while opening
  pid_t server_pid = 0;
  // Other processes sampled like the server over the window, reported apart (`also`): in a
  // cross-node run the publisher's node and Redis, the server being the subscribers' node.
  std::vector<pid_t> also_pids;
};

// What one sampled process spent over the measured window.
struct process_figures {
  pid_t pid = 0;
  double cpu_us_per_delivery = -1;  // schedstat; -1 when not sampled
  double cpu_percent = -1;
  std::uint64_t rss_bytes = 0;      // at the window's end
};

struct fanout_report {
  std::size_t subscribers_ready = 0;  // subscribed (reply received) before publishing began
  double setup_s = 0;                 // first connect to the last subscribe reply
  double window_s = 0;
  std::uint64_t publications = 0;     // sent inside the window
  std::uint64_t deliveries = 0;       // received inside the window
  double pubs_per_s = 0, deliveries_per_s = 0;
  double p50_us = 0, p99_us = 0, p999_us = 0;
  double offered_rate = 0;            // 0 = max
  std::uint64_t skipped = 0;          // fixed rate, inside the window (see the file comment)
  std::uint64_t lost = 0, reordered = 0, misrouted = 0;  // whole run
  std::uint64_t publish_errors = 0, other_lines = 0;     // whole run
  std::uint64_t heartbeats = 0, ignored_fields = 0;      // streams (stream_reader), whole run
  std::uint64_t total_published = 0, total_delivered = 0;
  std::uint64_t in_flight = 0, max_lag = 0;  // the bounds in force
  double gen_cpu_percent = 0;
  double server_cpu_us_per_delivery = -1;       // schedstat; -1 when not sampled
  double server_stat_cpu_us_per_delivery = -1;  // utime+stime (10 ms ticks)
  double server_cpu_percent = -1;
  std::uint64_t server_rss_bytes = 0;           // at the window's end
  std::vector<process_figures> also;            // options.also_pids, in that order
  std::size_t failures = 0;
  std::string first_error;
};

fanout_report run_fanout(const fanout_options& options);

// One line of JSON (for bench/run.py) and a human summary on stderr.
void print_fanout_report(const fanout_options& options, const fanout_report& r);

}  // namespace duplex::bench
