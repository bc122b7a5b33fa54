#include "hub/channel_directory.h"

#include "base/assert.h"

namespace duplex::hub {

channel_directory::stripe& channel_directory::stripe_of(std::string_view channel) const noexcept {
  return stripes_[std::hash<std::string_view>{}(channel) % stripes_.size()];
}

error channel_directory::add(std::string_view channel, std::size_t shard, bool first_on_shard,
                             std::size_t max_subscribers) {
  DUPLEX_ASSERT(shard < max_shards);
  stripe& s = stripe_of(channel);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(channel);
  if (it == s.map.end()) {
    it = s.map.emplace(std::string(channel), entry{}).first;
    broker_->node_subscribe(it->first);
  }
  entry& e = it->second;
  if (max_subscribers != 0 && e.count >= max_subscribers) return error::too_many_subscribers;
  ++e.count;
  if (first_on_shard) e.shard_mask |= std::uint64_t{1} << shard;
  return error::ok;
}

void channel_directory::remove(std::string_view channel, std::size_t shard, bool last_on_shard) {
  stripe& s = stripe_of(channel);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(channel);
  DUPLEX_ASSERT(it != s.map.end() && it->second.count > 0);
  entry& e = it->second;
  --e.count;
  if (last_on_shard) e.shard_mask &= ~(std::uint64_t{1} << shard);
  if (e.count == 0) {
    broker_->node_unsubscribe(it->first);
    s.map.erase(it);
  }
}

std::uint64_t channel_directory::shards_of(std::string_view channel) const {
  stripe& s = stripe_of(channel);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(channel);
  return it == s.map.end() ? 0 : it->second.shard_mask;
}

std::size_t channel_directory::subscribers(std::string_view channel) const {
  stripe& s = stripe_of(channel);
  std::lock_guard lock(s.mu);
  auto it = s.map.find(channel);
  return it == s.map.end() ? 0 : it->second.count;
}

std::vector<std::pair<std::string, std::size_t>> channel_directory::snapshot() const {
  std::vector<std::pair<std::string, std::size_t>> out;
  for (const stripe& s : stripes_) {
    std::lock_guard lock(s.mu);
    for (const auto& [name, e] : s.map) out.emplace_back(name, e.count);
  }
  return out;
}

}  // namespace duplex::hub
