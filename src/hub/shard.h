// shard: one loop thread's part of the hub — the subscribers that live on that thread, by
// channel, and the fan-out to them.
//
// A connection never changes thread, so its subscriptions live on one shard, and that shard's
// map is touched only by its thread: deliveries take no lock. Publications arrive as a posted
// task carrying one shared delivery (see channel_hub::publish).
//
// Costs per publication on a shard: one posted task, one hash lookup of the channel, then per
// local subscriber one virtual deliver() call (the frame is encoded once per format for the
// whole node; see delivery.h). No allocation per subscriber. Subscribe/unsubscribe are O(local
// subscribers of the channel) (a scan of a pointer vector); they are not on the message path.
//
// Thread safety: every member must be called on this shard's executor thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/executor.h"
#include "base/shared_payload.h"
#include "hub/broker.h"
#include "hub/delivery.h"
#include "hub/namespace_options.h"
#include "hub/recovery.h"
#include "hub/subscriber.h"

namespace duplex::hub {

class channel_hub;

struct subscribe_request {
  std::string_view channel;
  credential cred = credential::anonymous;
  shared_payload chan_info;  // from the subscription token; rides on presence and join/leave
  // Recover from this position (a reconnecting client's last seen offset/epoch).
  std::optional<stream_position> recover_since;
};

struct subscribe_result {
  error err = error::ok;
  channel_error why = channel_error::ok;  // detail for err == bad_channel
  stream_position position;   // the stream's top when the namespace keeps history
  bool recovered = false;     // only meaningful with recover_since
  std::vector<publication> publications;  // recovered publications, oldest first
};

// Plain integers, written by the shard's thread only; read them there (post a task to collect).
struct shard_counters {
  std::uint64_t publications = 0;     // publications that reached this shard's subscribers
  std::uint64_t deliveries = 0;       // deliver() calls (publications, joins and leaves)
  std::uint64_t drops = 0;            // report_slow under the drop policy
  std::uint64_t slow_disconnects = 0; // report_slow under the disconnect policy
  std::uint64_t subscriptions = 0;    // current
  std::uint64_t subscribes = 0;       // total successful
  std::uint64_t unsubscribes = 0;     // total
};

class shard {
 public:
  shard(channel_hub& hub, std::size_t index, executor& ex);
  shard(const shard&) = delete;
  shard& operator=(const shard&) = delete;

  std::size_t index() const noexcept { return index_; }
  executor& exec() const noexcept { return *ex_; }

  // Subscribes `s` to req.channel: validates the name, checks the namespace's subscribe rule
  // and max_subscribers, adds presence, positions or recovers from history, then calls done
  // (always later, posted on this thread; never inline) and publishes the join event.
  // Publications that arrive while the subscribe is in flight are held and delivered right
  // after done, minus those already covered by result.position (so a recovered client sees
  // each offset once, in order). A broker may also hand over live publications covered by the
  // position *after* its history reply (Redis: the reply and the live message come on two
  // connections, read in either order), so until a live publication beyond the position
  // arrives, the subscriber is fenced: covered offsets of that epoch are dropped for it.
  // If unsubscribe(s, channel) runs before completion, done is never called.
  void subscribe(subscriber& s, const subscribe_request& req, callback<subscribe_result> done);

  // Removes the subscription at once (no more deliveries after this returns), then removes
  // presence and publishes the leave event. not_subscribed if `s` does not hold `channel`.
  error unsubscribe(subscriber& s, std::string_view channel);

  // A session's output limit was exceeded on `channel`: counts it and applies the namespace's
  // slow_consumer_policy by calling s.on_slow() synchronously. Never blocks, never stalls the
  // channel for other subscribers. Ignored when s does not hold the channel.
  void report_slow(subscriber& s, std::string_view channel);

  const shard_counters& counters() const noexcept { return counters_; }
  std::size_t local_subscribers(std::string_view channel) const;

  // Delivers a push to this shard's subscribers of its channel. Called by the hub through a
  // posted task; public for tests.
  void dispatch(const delivery_ptr& d);

 private:
  struct slot {
    subscriber* sub;               // nullptr: removed while the list was being iterated
    shared_payload chan_info;
    // != 0 while the subscribe is in flight (an entry in pending_), then while the fence is
    // up (an entry in fences_).
    std::uint64_t pending_id = 0;
  };
  // dispatch()'s cache prefetch pipeline over a channel's slots (subscriber::prefetch).
  static void prefetch_ahead(const std::vector<slot>& slots, std::size_t i) noexcept;
  struct local_channel {
    std::vector<slot> slots;
    std::size_t removed = 0;  // nullptr slots awaiting compaction
    const namespace_options* opts = nullptr;
    std::size_t live() const noexcept { return slots.size() - removed; }
  };
  struct pending_subscribe {
    subscriber* sub;
    std::string channel;
    const namespace_options* opts;
    std::optional<stream_position> since;
    callback<subscribe_result> done;
    std::vector<delivery_ptr> held;  // pushes that arrived before done ran
    bool presence_added = false;
  };
  // Live publications of `epoch` at or below `offset` are already covered for one slot.
  struct fence {
    std::string epoch;
    std::uint64_t offset = 0;
  };
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  using channel_map = std::unordered_map<std::string, local_channel, string_hash, std::equal_to<>>;

  void fail_now(callback<subscribe_result> done, error e, channel_error why = channel_error::ok);
  void step_history(std::uint64_t id);
  void finish(std::uint64_t id, subscribe_result r);
  // For a slot whose pending_id is not in pending_: true when the fence covers d (skip it);
  // lowers the fence once a publication beyond it (or of another epoch) arrives.
  bool fenced(slot& x, const delivery& d);
  // Drops s from the channel's list and the directory; returns its chan_info.
  shared_payload remove_slot(channel_map::iterator it, subscriber& s);
  bool holds(const subscriber& s, std::string_view channel) const;
  client_info identity(const subscriber& s, const shared_payload& chan_info) const;

  channel_hub& hub_;
  std::size_t index_;
  executor* ex_;
  channel_map channels_;
  std::unordered_map<std::uint64_t, pending_subscribe> pending_;
  std::unordered_map<std::uint64_t, fence> fences_;
  std::uint64_t next_pending_ = 0;
  const local_channel* iterating_ = nullptr;  // the list dispatch() is walking
  shard_counters counters_;
};

}  // namespace duplex::hub
