// channel_hub: channels, subscriptions and fan-out for one node (ARCHITECTURE.md "Threads and
// the hot path", "Data model").
//
// Shape: one shard per loop thread (each with that thread's executor); a subscriber lives on
// the shard of its connection's thread and subscribes through it (hub.shard_at(i)). publish()
// may be called from any thread: the broker gives the publication its offset and epoch,
// stores history, and hands it back through broker_events; the hub then builds ONE delivery
// (one allocation, shared by reference), looks up which shards have subscribers (one striped
// lock, channel_directory) and posts one task per such shard. Each shard walks its own
// subscriber list without locks. Every wire format is encoded at most once per publication
// for the whole node (delivery::frame).
//
// Lifetime: the broker, namespace table, format registry and executors must outlive the hub,
// and the hub must outlive every task it posted: stop the loops (or drain the executors)
// before destroying it. The namespace table and format registry must not change after
// construction.
//
// Thread safety: publish/history/presence/channels are safe from any thread. shard_at(i)
// returns a shard whose members belong to that shard's thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/executor.h"
#include "base/shared_payload.h"
#include "hub/broker.h"
#include "hub/channel_directory.h"
#include "hub/namespace_options.h"
#include "hub/publication.h"
#include "hub/shard.h"
#include "hub/wire_format.h"

namespace duplex::hub {

struct publish_request {
  std::string_view channel;
  shared_payload data;
  std::optional<client_info> info;  // the publishing client, if any
  std::vector<std::pair<std::string, std::string>> tags;
  credential cred = credential::server;
};

class channel_hub final : private broker_events {
 public:
  // One shard per executor (at most max_shards). Installs itself as b's event handler.
  channel_hub(std::span<executor* const> shard_executors, broker& b,
              const namespace_table& namespaces, const format_registry& formats);
  ~channel_hub();
  channel_hub(const channel_hub&) = delete;
  channel_hub& operator=(const channel_hub&) = delete;

  std::size_t shard_count() const noexcept { return shards_.size(); }
  shard& shard_at(std::size_t i) noexcept { return *shards_[i]; }

  // Validates, checks the namespace's publish rule, and publishes through the broker. done
  // gets the publication's position (offset/epoch when the namespace keeps history).
  void publish(publish_request req, executor* reply_on, callback<publish_result> done);

  // Reads history (namespace must keep history: else not_available) under history_read.
  void history(std::string_view channel, const history_query& q, credential cred,
               executor* reply_on, callback<history_result> done);
  void remove_history(std::string_view channel, executor* reply_on, callback<error> done);

  // Presence (namespace must have presence on: else not_available) under presence_read.
  void presence(std::string_view channel, credential cred, executor* reply_on,
                callback<presence_result> done);
  void presence_stats(std::string_view channel, credential cred, executor* reply_on,
                      callback<presence_stats_result> done);

  // Subscribers of `channel` on this node, across shards.
  std::size_t subscribers(std::string_view channel) const { return directory_.subscribers(channel); }
  // Channels with subscribers on this node and their counts.
  std::vector<std::pair<std::string, std::size_t>> channels() const { return directory_.snapshot(); }

  // Publications accepted by publish() on this node (passed validation and the access rule),
  // from any thread; for metrics.
  std::uint64_t published() const noexcept { return published_.load(std::memory_order_relaxed); }

  const namespace_table& namespaces() const noexcept { return *namespaces_; }
  const format_registry& formats() const noexcept { return *formats_; }
  hub::broker& broker() noexcept { return *broker_; }

 private:
  friend class shard;

  void on_publication(const publication& pub) override;
  void on_join(const std::string& channel, const client_info& who) override;
  void on_leave(const std::string& channel, const client_info& who) override;
  void fan_out(push_kind kind, publication pub);

  // Resolves channel + checks `rule(opts)` for cred; returns ok and sets *opts.
  template <class Rule>
  error admit(std::string_view channel, credential cred, Rule rule,
              const namespace_options** opts) const;

  hub::broker* broker_;
  const namespace_table* namespaces_;
  const format_registry* formats_;
  channel_directory directory_;
  std::vector<std::unique_ptr<shard>> shards_;
  std::atomic<std::uint64_t> published_{0};
};

}  // namespace duplex::hub
