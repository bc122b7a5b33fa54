// channel_directory: the node-wide view of which shards have subscribers for which channel,
// and how many subscribers a channel has in total (for max_subscribers).
//
// Publishers read it once per publication to know which shards to post to; shards update it
// on subscribe/unsubscribe. It is the only shared, locked structure on the publish path, and
// it is touched once per publication, never once per subscriber (deliveries use the shard's
// own map without locks). Channels are spread over 32 stripes, each a mutex and a map.
//
// Thread safety: all members, from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "hub/broker.h"
#include "hub/error.h"

namespace duplex::hub {

// Shards are one bit each in a 64-bit mask: a node runs at most 64 loop threads.
inline constexpr std::size_t max_shards = 64;

class channel_directory {
 public:
  // `b` is told when the node gains its first / loses its last subscriber of a channel; those
  // calls happen under the channel's stripe lock so they reach the broker in order.
  explicit channel_directory(broker& b) : broker_(&b) {}

  // Counts one more subscriber of `channel` on `shard`. Returns too_many_subscribers (and
  // counts nothing) when max_subscribers (0 = unlimited) is already reached.
  error add(std::string_view channel, std::size_t shard, bool first_on_shard,
            std::size_t max_subscribers);
  // Counts one subscriber less; `last_on_shard` clears the shard's bit.
  void remove(std::string_view channel, std::size_t shard, bool last_on_shard);

  // Bit i set: shard i has at least one subscriber of `channel`.
  std::uint64_t shards_of(std::string_view channel) const;
  std::size_t subscribers(std::string_view channel) const;
  // Every channel with subscribers and its count (server API "channels"); O(channels).
  std::vector<std::pair<std::string, std::size_t>> snapshot() const;

 private:
  struct entry {
    std::uint64_t shard_mask = 0;
    std::size_t count = 0;
  };
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  struct stripe {
    mutable std::mutex mu;
    std::unordered_map<std::string, entry, string_hash, std::equal_to<>> map;
  };
  stripe& stripe_of(std::string_view channel) const noexcept;

  broker* broker_;
  mutable std::array<stripe, 32> stripes_;
};

}  // namespace duplex::hub
