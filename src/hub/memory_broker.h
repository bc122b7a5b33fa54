// memory_broker: the default, single-node broker. History, offsets, epochs and presence live
// in this process; "other nodes" do not exist, so every publication goes straight to the
// local broker_events handler.
//
// Epochs: each channel stream gets a fresh random epoch when its state is created — on first
// use, after remove_history(), after its state sat idle past `meta_ttl`, and (because the
// generator is seeded per instance) after a process restart. Clients positioned in an older
// stream are therefore told they were not recovered instead of being handed wrong offsets.
//
// Expiry is lazy (on access) plus sweep(), which the server calls from a timer to release
// channels nobody touches any more.
//
// Threading: any method from any thread. Channels are spread over 16 stripes, each a mutex and
// a map, so publishers on different channels rarely contend. broker_events callbacks run
// under the channel's stripe lock (that is what keeps them in offset order per channel).
// Callbacks to callers are posted per broker.h.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <unordered_map>

#include "hub/broker.h"
#include "hub/history_ring.h"

namespace duplex::hub {

struct memory_broker_options {
  // Milliseconds on a monotonic clock; defaults to duplex::clock::now_ms. Tests inject a fake.
  std::function<std::uint64_t()> now_ms;
  // Channel state (top offset and epoch) is forgotten this long after its last publication.
  std::chrono::milliseconds meta_ttl = std::chrono::hours(24 * 30);
};

class memory_broker final : public broker {
 public:
  explicit memory_broker(memory_broker_options opts = {});

  void set_events(broker_events* events) override { events_ = events; }
  void node_subscribe(const std::string&) override {}
  void node_unsubscribe(const std::string&) override {}

  void publish(publication pub, const publish_options& opts, executor* reply_on,
               callback<publish_result> done) override;
  void publish_join(const std::string& channel, const client_info& who) override;
  void publish_leave(const std::string& channel, const client_info& who) override;

  void history(const std::string& channel, const history_query& q, executor* reply_on,
               callback<history_result> done) override;
  void remove_history(const std::string& channel, executor* reply_on,
                      callback<error> done) override;

  void add_presence(const std::string& channel, const client_info& who, executor* reply_on,
                    callback<error> done) override;
  void remove_presence(const std::string& channel, const std::string& client_id,
                       executor* reply_on, callback<error> done) override;
  void presence(const std::string& channel, executor* reply_on,
                callback<presence_result> done) override;
  void presence_stats(const std::string& channel, executor* reply_on,
                      callback<presence_stats_result> done) override;

  // Releases channel streams idle past meta_ttl (their entries have expired too) and empty
  // presence sets. Returns how many channel streams were dropped.
  std::size_t sweep();

 private:
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  template <class V>
  using string_map = std::unordered_map<std::string, V, string_hash, std::equal_to<>>;

  struct stripe {
    std::mutex mu;
    string_map<history_ring> streams;
    string_map<string_map<client_info>> presence;  // channel -> client id -> info
  };

  stripe& stripe_of(std::string_view channel) noexcept;
  // The channel's live stream, created (new epoch) or recreated after meta_ttl as needed.
  // Caller holds the stripe's lock.
  history_ring& stream_locked(stripe& s, const std::string& channel, std::uint64_t now);
  std::string new_epoch();

  memory_broker_options opts_;
  broker_events* events_ = nullptr;
  std::array<stripe, 16> stripes_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;
};

}  // namespace duplex::hub
