// redis_broker: hub::broker over Redis, so that several duplex nodes act as one
// (ARCHITECTURE.md layer 4; docs/redis.md has the keys, scripts, envelope and the ordering
// argument).
//
//   publish       one EVALSHA: the script assigns offset/epoch, XADDs to the channel's
//                 stream, sets expiries and PUBLISHes, so Pub/Sub order is offset order.
//                 Without history: one PUBLISH.
//   pub/sub       one subscriber connection; node_subscribe/node_unsubscribe are reference
//                 counted and coalesced per loop turn into one SUBSCRIBE / UNSUBSCRIBE.
//   history       one EVALSHA reading a consistent window (XRANGE/XREVRANGE on "<offset>-0"
//                 ids) with the epoch check; it waits until a pending SUBSCRIBE of the same
//                 channel is confirmed, so a new subscriber's position never precedes the
//                 point where this node starts receiving the channel.
//   presence      hash + expiry zset per channel; entries this node added are refreshed on a
//                 timer until removed, so a dead node's clients vanish after presence_ttl.
//
// Threads: two connections (commands, subscriber) run on one net::loop given at construction.
// Every broker method may be called from any thread; the work is posted to the loop (FIFO), and
// results come back through hub::complete(reply_on, ...). broker_events callbacks run on the
// loop thread, per channel in the order Redis sent them (= offset order).
//
// Failure: while a connection is down, operations fail at once with broker_unavailable
// (never queued); connections come back with backoff and jitter (the first link back makes the
// other try at once), resubscribe every channel, and options.on_pubsub_restored tells the owner
// that this node may have missed publications while its subscriber link was down (clients
// should be made to recover).
//
// Lifetime: the loop must outlive the broker, and the broker must outlive every task it posted:
// call shutdown() on the loop thread, then destroy the broker after the loop stopped (or from
// the loop thread). The destructor calls shutdown() if needed, which then must run on the loop
// thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "hub/broker.h"
#include "net/loop.h"
#include "redis/connection.h"
#include "redis/endpoint.h"
#include "redis/scripts.h"

namespace duplex::redis {

struct redis_broker_options {
  endpoint where;
  std::string prefix = "duplex";  // key and topic prefix (several deployments, one Redis)
  std::string node_id;            // this node's name in Redis; empty: a random one
  // A channel's offset/epoch state is forgotten this long after its last publication (at
  // least the history ttl); the next publication then starts a new epoch.
  std::chrono::milliseconds meta_ttl = std::chrono::hours(24 * 30);
  std::chrono::milliseconds presence_ttl{60000};   // <= 0: the default
  std::chrono::milliseconds presence_refresh{0};  // <= 0: presence_ttl / 3 (at least 10 ms)
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{5000};
  std::chrono::milliseconds reconnect_min{50};
  std::chrono::milliseconds reconnect_max{5000};
  std::size_t subscribe_batch = 512;  // channels per SUBSCRIBE/UNSUBSCRIBE command
  // Loop thread; after the subscriber link came back (not on the first connect).
  std::function<void()> on_pubsub_restored;
  // Loop thread; a message on this node's topic (node_bus: forwarded requests and responses).
  // Without it such messages are dropped.
  std::function<void(std::string_view payload)> on_node_message;
};

// A snapshot; counters since construction.
struct redis_broker_stats {
  std::uint64_t publishes = 0;           // publish() calls that got an offset/were sent
  std::uint64_t failures = 0;            // operations answered broker_unavailable
  std::uint64_t messages = 0;            // Pub/Sub messages delivered to broker_events
  std::uint64_t malformed = 0;           // Pub/Sub messages / stored entries refused
  std::uint64_t node_messages = 0;       // messages on this node's topic (forwarding)
  std::uint64_t late_messages = 0;       // messages for channels no longer subscribed
  std::uint64_t subscribe_commands = 0;  // SUBSCRIBE commands sent (batches)
  std::uint64_t unsubscribe_commands = 0;
  std::uint64_t commands = 0;            // commands sent on the command connection
  std::uint64_t reconnects = 0;          // links re-established after a loss (both links)
};

class redis_broker final : public hub::broker {
 public:
  // Does not block; connecting starts on the loop (call from any thread).
  redis_broker(net::loop& l, redis_broker_options opts);
  ~redis_broker() override;
  redis_broker(const redis_broker&) = delete;
  redis_broker& operator=(const redis_broker&) = delete;

  void set_events(hub::broker_events* events) override { events_ = events; }
  void node_subscribe(const std::string& channel) override;
  void node_unsubscribe(const std::string& channel) override;

  void publish(hub::publication pub, const hub::publish_options& opts, executor* reply_on,
               hub::callback<hub::publish_result> done) override;
  void publish_join(const std::string& channel, const hub::client_info& who) override;
  void publish_leave(const std::string& channel, const hub::client_info& who) override;

  void history(const std::string& channel, const hub::history_query& q, executor* reply_on,
               hub::callback<hub::history_result> done) override;
  void remove_history(const std::string& channel, executor* reply_on,
                      hub::callback<hub::error> done) override;

  void add_presence(const std::string& channel, const hub::client_info& who, executor* reply_on,
                    hub::callback<hub::error> done) override;
  void remove_presence(const std::string& channel, const std::string& client_id,
                       executor* reply_on, hub::callback<hub::error> done) override;
  void presence(const std::string& channel, executor* reply_on,
                hub::callback<hub::presence_result> done) override;
  void presence_stats(const std::string& channel, executor* reply_on,
                      hub::callback<hub::presence_stats_result> done) override;

  // PUBLISHes `payload` on node `node_id`'s topic (node_bus). done (on reply_on, or the loop
  // thread when null) gets the number of nodes that received it: 0 when no such node is
  // subscribed (gone), -1 when Redis could not be asked. Any thread.
  void send_to_node(std::string_view node_id, std::string payload, executor* reply_on,
                    hub::callback<long long> done);

  // Closes both connections (pending operations fail with broker_unavailable) and stops
  // timers; later calls fail at once. Loop thread only; idempotent.
  void shutdown();

  // Both connections are up. Any thread.
  bool connected() const noexcept {
    return cmd_up_.load(std::memory_order_acquire) && sub_up_.load(std::memory_order_acquire);
  }
  const std::string& node_id() const noexcept { return opts_.node_id; }
  redis_broker_stats stats() const noexcept;

 private:
  struct channel_sub {
    bool confirmed = false;                      // Redis acknowledged the latest SUBSCRIBE
    std::vector<std::function<void()>> waiting;  // history reads held until then
  };
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  template <class V>
  using string_map = std::unordered_map<std::string, V, string_hash, std::equal_to<>>;
  struct counters {
    std::atomic<std::uint64_t> publishes{0}, failures{0}, messages{0}, malformed{0}, node_messages{0},
        late_messages{0}, subscribe_commands{0}, unsubscribe_commands{0}, commands{0},
        reconnects{0};
  };
  using reply_fn = connection::reply_fn;

  // Runs fn on the loop thread (posted, FIFO with other calls).
  void on_loop(std::function<void()> fn);
  void start();
  void arm_presence_timer();
  void on_cmd_up();
  void on_cmd_down();
  void on_sub_up();
  void on_sub_down();
  void on_push(redisReply& r);
  void on_message(std::string_view topic, std::string_view payload);
  void on_subscribed(std::string_view topic);
  void count_malformed(std::string_view what, std::string_view sample);
  void schedule_flush_locked();
  void flush_subscriptions(bool everything);
  void send_subscriptions(std::vector<std::string>& topics, bool subscribe);
  void release_waiting(channel_sub& s);
  // Runs a script with EVALSHA, falling back to EVAL on NOSCRIPT. args: KEYS then ARGV.
  // done(nullptr) when the command could not be sent or the link failed (then maybe inline).
  void eval(const script& s, int num_keys, std::vector<std::string> args, reply_fn done);
  struct eval_call;
  bool send_eval(const std::shared_ptr<eval_call>& call, bool by_sha);
  bool command(std::span<const std::string_view> args, reply_fn done);
  void send_history(const std::string& channel, const hub::history_query& q, executor* reply_on,
                    hub::callback<hub::history_result> done);
  void send_presence_add(const std::string& channel,
                         const std::vector<std::pair<std::string, std::string>>& entries,
                         reply_fn done);
  void read_presence(const std::string& channel,
                     std::function<void(bool ok, std::vector<hub::client_info>)> done);
  void refresh_presence();
  std::string new_epoch();
  template <class T>
  void fail(executor* reply_on, hub::callback<T> done, T result);

  net::loop& loop_;
  redis_broker_options opts_;
  key_names keys_;
  const std::string topic_prefix_;
  const std::string node_topic_;
  hub::broker_events* events_ = nullptr;
  std::unique_ptr<connection> cmd_;
  std::unique_ptr<connection> sub_;
  std::atomic<bool> cmd_up_{false};
  std::atomic<bool> sub_up_{false};

  // Wanted subscriptions, from any thread.
  std::mutex sub_mu_;
  std::unordered_map<std::string, std::size_t> wanted_;  // channel -> node_subscribe count
  std::unordered_set<std::string> dirty_;                // changed since the last flush
  bool flush_posted_ = false;

  // Loop thread only.
  string_map<channel_sub> active_;  // SUBSCRIBEd on the current link
  // SUBSCRIBEs sent on the current link and not yet confirmed, per channel: a channel that was
  // unsubscribed and subscribed again is confirmed only by the reply to the latest SUBSCRIBE.
  string_map<std::size_t> inflight_;
  bool sub_was_up_ = false;
  bool cmd_was_up_ = false;
  bool shut_down_ = false;
  // Presence entries this node added and refreshes: channel -> client id -> encoded info.
  string_map<string_map<std::string>> local_presence_;
  timer_id presence_timer_ = 0;
  std::mt19937_64 rng_;

  counters counters_;
};

}  // namespace duplex::redis
