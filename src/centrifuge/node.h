// centrifuge::node: the Centrifugo client protocol on one duplex node — the per-loop-thread
// state its sessions share (command parser, reply buffer, the registry of live sessions by
// client and user, counters) and the operations the server API performs on sessions
// (subscribe/unsubscribe/disconnect a user's connections).
//
// Start-up order: register_formats() on the hub's format registry BEFORE the hub is built (the
// registry is frozen afterwards), then build the hub, then the node with the hub and those
// formats. One node shard per hub shard (= loop thread); a session lives on the shard of its
// connection's thread.
//
// Thread safety: the control operations (disconnect_user, ...) and stats() are safe from any
// thread: they post one task per shard. shard_state members belong to their loop thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "centrifuge/authenticator.h"
#include "centrifuge/codec/command.h"
#include "centrifuge/codec/command_parser.h"
#include "centrifuge/transport_kind.h"
#include "hub/channel_hub.h"
#include "hub/wire_format.h"

namespace duplex::centrifuge {

class session;

struct node_options {
  // Server pings ({} every ping_interval); a client that does not answer within pong_timeout
  // is disconnected with 3012 "no pong". 0 disables pings.
  std::chrono::milliseconds ping_interval{25000};
  std::chrono::milliseconds pong_timeout{8000};
  // A connection that sends no connect command within this long is closed with 3502 "stale".
  std::chrono::milliseconds stale_timeout{10000};
  // Unsent bytes per connection before the namespace's slow-consumer policy applies.
  std::size_t max_output_bytes = 4u << 20;
  std::size_t max_channels_per_client = 128;
  // Connect without a token (as an anonymous user). Without it such a connect is refused with
  // 3501 "bad request", as Centrifugo does when no credentials are found.
  bool anonymous_connect = true;
  std::string version = "duplex";  // connect result `version`
  std::string node_name;           // connect result `node` ("" = left out)
  parse_limits limits;
  // Called with the publish-to-write latency (microseconds) of sampled deliveries; may be null.
  // Runs on loop threads concurrently: must be thread-safe (metrics histograms are).
  std::function<void(std::uint64_t)> observe_delivery_latency;
};

// Wire formats the Centrifugo sessions use (ids in the hub's registry).
struct formats {
  hub::wire_format websocket_json{};  // a JSON push in one WebSocket text frame
  // Emulation and unidirectional transports (stream_formats.h, http_transports.h).
  hub::wire_format http_stream_json{};      // a push line in one HTTP chunk
  hub::wire_format sse_json{};              // a push as one SSE event
  hub::wire_format uni_websocket_json{};    // a bare Push object in one WebSocket text frame
  hub::wire_format uni_sse_json{};          // a bare Push object as one SSE event
  hub::wire_format uni_http_stream_json{};  // a bare Push object line in one HTTP chunk
};

// Counters of one shard: written by its loop thread (relaxed atomics, no locked instruction),
// read by a metrics scrape from any thread.
struct shard_stats {
  struct value {
    std::atomic<std::uint64_t> v{0};
    void add(std::uint64_t n = 1) noexcept {
      v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    void sub(std::uint64_t n = 1) noexcept {
      v.store(v.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
    }
    std::uint64_t get() const noexcept { return v.load(std::memory_order_relaxed); }
  };
  value connections;       // current sessions (connected or not)
  value connects;          // successful connect commands
  value commands;          // commands received
  value errors;            // error replies sent
  value disconnects;       // disconnects we initiated (any code)
  value bad_requests;      // protocol errors (disconnect 3501)
  value messages_in;       // frames received
  value bytes_in;
  value messages_out;      // replies and pushes written (a batch frame counts once)
  value bytes_out;
  value publications_out;  // publication pushes written
  value slow_drops;        // subscriptions dropped for a slow consumer (client told: 2500)
  value slow_disconnects;  // connections closed for a slow consumer (3008)
  value recoveries;        // subscribe with recover that was complete
  value recoveries_failed; // subscribe with recover that was not (position lost)
  std::array<value, transport_kind_count> by_transport;  // current sessions per transport
};

// One loop thread's share of the node.
struct shard_state {
  explicit shard_state(const parse_limits& limits) : parser(limits) {}
  command_parser parser;
  std::vector<command> commands;  // reused per frame
  std::string out;                // replies of the frame being processed, reused
  // Live sessions that completed connect. Keys view into the session's own strings.
  std::unordered_map<std::string_view, session*> by_client;
  std::unordered_multimap<std::string_view, session*> by_user;  // non-empty users only
  shard_stats stats;
  std::uint32_t latency_sample = 0;
};

class node {
 public:
  // Registers this layer's wire formats. Call before constructing the hub.
  static formats register_formats(hub::format_registry& registry);

  // `auth` may be null (then every token is invalid: anonymous connects only). hub, auth and
  // the executors behind the hub's shards must outlive the node.
  node(hub::channel_hub& hub, const formats& f, const authenticator* auth, node_options options);
  ~node();
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  hub::channel_hub& hub() noexcept { return *hub_; }
  const node_options& options() const noexcept { return options_; }
  const formats& wire() const noexcept { return formats_; }
  const authenticator* auth() const noexcept { return auth_; }
  std::size_t shard_count() const noexcept { return shards_.size(); }
  shard_state& shard(std::size_t i) noexcept { return *shards_[i]; }
  const shard_state& shard(std::size_t i) const noexcept { return *shards_[i]; }

  // Server API operations on live sessions, from any thread. `client` narrows to one
  // connection of the user ("" = all of them). done(n) runs once with the number of sessions
  // affected, on `reply_on` (nullptr: on the last shard's thread), after every shard answered.
  void disconnect_user(std::string user, std::string client, std::uint32_t code,
                       std::string reason, executor* reply_on, std::function<void(std::size_t)> done);
  void subscribe_user(std::string user, std::string client, std::string channel,
                      executor* reply_on, std::function<void(std::size_t)> done);
  void unsubscribe_user(std::string user, std::string client, std::string channel,
                        executor* reply_on, std::function<void(std::size_t)> done);

  // Sum of a counter over shards (any thread).
  std::uint64_t total(shard_stats::value shard_stats::*member) const noexcept;
  // Current sessions over transport `k`, summed over shards (any thread).
  std::uint64_t connections_of(transport_kind k) const noexcept;

 private:
  // Runs fn(shard index, state) on every shard's thread; done(sum of returns) after all.
  void on_every_shard(std::function<std::size_t(std::size_t, shard_state&)> fn,
                      executor* reply_on, std::function<void(std::size_t)> done);
  // Runs act on every live session of `user` (only `client` when set) on every shard; done gets
  // how many returned true.
  void on_matching(std::string user, std::string client, std::function<bool(session&)> act,
                   executor* reply_on, std::function<void(std::size_t)> done);

  hub::channel_hub* hub_;
  formats formats_;
  const authenticator* auth_;
  node_options options_;
  std::vector<std::unique_ptr<shard_state>> shards_;
};

}  // namespace duplex::centrifuge
