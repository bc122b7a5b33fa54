// node_registry: which duplex nodes share a Redis, and their figures (issue 7, `/api/info`).
//
// Each node announces itself every `interval` with one EVAL that writes its entry and an
// expiry (`now + ttl`, ms on the Redis clock) and prunes entries whose expiry passed; list()
// reads the entries whose expiry is still ahead, by the same clock, so nodes never compare
// their own clocks. A node that stops cleanly removes its entry (shutdown()); one that dies
// (SIGKILL, a stopped loop, a lost network) drops out of every list once its ttl passes.
// Keys (docs/redis.md, "Keys"): `P:{nodes}` hash (node id -> encoded entry) and `P:{nodes}:z`
// sorted set (node id -> expiry).
//
// The registry has its own redis::connection (one short command per interval: it never waits
// behind the broker's traffic, and the broker knows nothing of it). Entries read back from
// Redis are untrusted: decode_node_entry() checks them strictly; an entry that fails is
// skipped and counted (stats().malformed), never shown.
//
// Threads: everything runs on the net::loop given at construction. list() may be called from
// any thread (posted to the loop, FIFO); its result comes back through hub::complete(reply_on,
// ...). options.load runs on the loop thread.
//
// Failure: while the link is down (or after shutdown()), list() fails at once with
// broker_unavailable, never queued behind a connect; a Redis that stops answering fails it
// after command_timeout (the link is dropped and reconnects). Announces resume, at once, when
// the link comes back (a restarted Redis learns of this node within one round trip).
//
// Lifetime: the loop must outlive the registry. Call shutdown() on the loop thread and destroy
// the registry after its done ran (or after the loop stopped); destroying it without
// shutdown() leaves the entry to expire, as a crash would.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/executor.h"
#include "hub/broker.h"
#include "net/loop.h"
#include "redis/connection.h"
#include "redis/endpoint.h"

namespace duplex::redis {

// One node's figures, as the server API's `info` reports them (Centrifugo's Node object).
struct node_load {
  std::uint64_t num_clients = 0;   // client connections
  std::uint64_t num_users = 0;     // distinct users (0 when the node does not count them)
  std::uint64_t num_channels = 0;  // channels with a local subscriber
  std::uint64_t num_subs = 0;      // channel subscriptions
  std::uint64_t uptime_s = 0;

  bool operator==(const node_load&) const = default;
};

struct node_entry {
  std::string id;  // the node id (redis_broker_options::node_id in duplex serve)
  std::string name;
  std::string version;
  node_load load;

  bool operator==(const node_entry&) const = default;
};

struct node_list_result {
  hub::error err = hub::error::ok;  // ok or broker_unavailable
  std::vector<node_entry> nodes;    // live nodes, by name then id; this node included
};

// ---- The stored entry (sans-I/O) ----
//
//   entry   = "N1" str(id) str(name) str(version)
//             num(clients) num(users) num(channels) num(subs) num(uptime_s)
//   str(s)  = decimal(len(s)) ":" s          num(n) = str(decimal(n))
// decimal = "0" or [1-9][0-9]*, at most INT64_MAX: the envelope's conventions (envelope.h).
// Example: id "a", name "n", version "v1", figures 3 0 2 5 60:
//   N11:a1:n2:v11:31:01:21:52:60

inline constexpr std::size_t max_node_id_bytes = 128;
inline constexpr std::size_t max_node_text_bytes = 256;  // name, version

enum class node_entry_error : std::uint8_t {
  ok = 0,
  bad_magic,   // not "N1"
  truncated,   // a field or length runs past the end
  bad_number,  // not a canonical decimal, or larger than INT64_MAX
  too_long,    // id over max_node_id_bytes, name or version over max_node_text_bytes
  trailing,    // bytes left after the last field
};

std::string_view to_string(node_entry_error e) noexcept;

// Decodes one stored entry. On error `out` is left in an unspecified state.
node_entry_error decode_node_entry(std::string_view bytes, node_entry& out);
// The stored form. Fields over the limits are cut to them (decode would refuse them); numbers
// above INT64_MAX are clamped to it.
std::string encode_node_entry(const node_entry& e);

// ---- The registry ----

struct node_registry_options {
  endpoint where;
  std::string prefix = "duplex";  // key prefix, as redis_broker_options::prefix
  std::string node_id;            // this node's id; empty: a random one
  std::string name;               // shown by `info`
  std::string version;
  std::chrono::milliseconds interval{3000};  // between announces (<= 0: the default)
  std::chrono::milliseconds ttl{0};          // entry lifetime; <= 0: 3 x interval
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{5000};
  std::chrono::milliseconds reconnect_min{50};
  std::chrono::milliseconds reconnect_max{5000};
  // How long shutdown() waits for Redis to confirm the removal before it gives up.
  std::chrono::milliseconds shutdown_timeout{1000};
  std::size_t max_nodes = 1000;  // list() reads at most this many entries
  // This node's current figures; loop thread, at every announce and list(). Empty: zeros.
  std::function<node_load()> load;
};

// A snapshot; counters since construction.
struct node_registry_stats {
  std::uint64_t announces = 0;          // announces Redis confirmed
  std::uint64_t announce_failures = 0;  // announces not sent (link down) or failed
  std::uint64_t lists = 0;              // list() calls answered with the nodes
  std::uint64_t list_failures = 0;      // list() calls answered broker_unavailable
  std::uint64_t malformed = 0;          // stored entries refused (decode, id mismatch, missing)
};

class node_registry {
 public:
  // Does not block; connecting and the first announce start on the loop (any thread).
  node_registry(net::loop& l, node_registry_options opts);
  // Loop thread, or after the loop stopped. Without shutdown() the entry is left to expire.
  ~node_registry();
  node_registry(const node_registry&) = delete;
  node_registry& operator=(const node_registry&) = delete;

  // The live nodes (expiry ahead on the Redis clock), this node's entry with fresh figures from
  // options.load. done runs exactly once, through hub::complete(reply_on, ...). Any thread.
  void list(executor* reply_on, hub::callback<node_list_result> done);

  // Stops announcing, removes this node's entry (best effort: it waits for Redis's answer at
  // most shutdown_timeout), closes the link (pending list() calls fail), then runs done on the
  // loop thread (inline when there is nothing to wait for). Loop thread only; a second call
  // runs its done at once.
  void shutdown(std::function<void()> done = {});

  // The link is up. Any thread.
  bool connected() const noexcept { return up_.load(std::memory_order_acquire); }
  const std::string& node_id() const noexcept { return opts_.node_id; }
  const node_registry_options& options() const noexcept { return opts_; }
  node_registry_stats stats() const noexcept;

 private:
  struct counters {
    std::atomic<std::uint64_t> announces{0}, announce_failures{0}, lists{0}, list_failures{0},
        malformed{0};
  };

  void start();
  void arm_timer();
  void announce();
  void send_list(executor* reply_on, hub::callback<node_list_result> done);
  node_entry self() const;
  void finish_shutdown();

  net::loop& loop_;
  node_registry_options opts_;
  const std::string hash_key_;  // P:{nodes}
  const std::string zset_key_;  // P:{nodes}:z
  std::unique_ptr<connection> conn_;
  std::atomic<bool> up_{false};

  // Loop thread only.
  bool shut_down_ = false;
  bool finished_ = false;    // shutdown() closed the link and ran its done
  bool announcing_ = false;  // an announce is outstanding: the next tick skips (no pile-up)
  timer_id timer_ = 0;
  timer_id shutdown_timer_ = 0;
  std::function<void()> shutdown_done_;
  // Tasks and timers hold a weak reference: one that outlives the registry (a loop run again
  // after the registry went) does nothing.
  std::shared_ptr<int> life_ = std::make_shared<int>(0);

  counters counters_;
};

}  // namespace duplex::redis
