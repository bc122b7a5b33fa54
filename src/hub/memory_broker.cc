#include "hub/memory_broker.h"

#include <unordered_set>
#include <utility>

#include "base/clock.h"

namespace duplex::hub {

memory_broker::memory_broker(memory_broker_options opts) : opts_(std::move(opts)) {
  if (!opts_.now_ms) opts_.now_ms = [] { return clock::now_ms(); };
  std::random_device rd;
  rng_.seed((static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^ clock::now_us());
}

memory_broker::stripe& memory_broker::stripe_of(std::string_view channel) noexcept {
  return stripes_[std::hash<std::string_view>{}(channel) % stripes_.size()];
}

std::string memory_broker::new_epoch() {
  std::uint64_t v;
  {
    std::lock_guard lock(rng_mu_);
    v = rng_();
  }
  static constexpr char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::string e(8, '0');  // 8 chars: fits std::string's small buffer, never allocates
  for (char& c : e) {
    c = alphabet[v % 62];
    v /= 62;
  }
  return e;
}

history_ring& memory_broker::stream_locked(stripe& s, const std::string& channel,
                                           std::uint64_t now) {
  auto it = s.streams.find(channel);
  if (it != s.streams.end()) {
    const auto idle_limit = static_cast<std::uint64_t>(opts_.meta_ttl.count());
    if (it->second.last_active_ms() + idle_limit > now) {
      return it->second;
    }
    it->second = history_ring(new_epoch(), now);  // state lost: a new stream, a new epoch
    return it->second;
  }
  return s.streams.emplace(channel, history_ring(new_epoch(), now)).first->second;
}

void memory_broker::publish(publication pub, const publish_options& opts, executor* reply_on,
                            callback<publish_result> done) {
  publish_result r;
  stripe& s = stripe_of(pub.channel);
  {
    std::lock_guard lock(s.mu);
    if (opts.history_size > 0 && opts.history_ttl.count() > 0) {
      const std::uint64_t now = opts_.now_ms();
      history_ring& ring = stream_locked(s, pub.channel, now);
      ring.append(pub, now, opts.history_size, static_cast<std::uint64_t>(opts.history_ttl.count()));
      r.position = {pub.offset, pub.epoch};
    } else {
      pub.offset = 0;
      pub.epoch.clear();
    }
    if (events_) events_->on_publication(pub);
  }
  complete(reply_on, std::move(done), std::move(r));
}

void memory_broker::publish_join(const std::string& channel, const client_info& who) {
  stripe& s = stripe_of(channel);
  std::lock_guard lock(s.mu);  // orders the event with the channel's publications
  if (events_) events_->on_join(channel, who);
}

void memory_broker::publish_leave(const std::string& channel, const client_info& who) {
  stripe& s = stripe_of(channel);
  std::lock_guard lock(s.mu);
  if (events_) events_->on_leave(channel, who);
}

void memory_broker::history(const std::string& channel, const history_query& q,
                            executor* reply_on, callback<history_result> done) {
  history_result r;
  stripe& s = stripe_of(channel);
  {
    std::lock_guard lock(s.mu);
    const std::uint64_t now = opts_.now_ms();
    // A query creates the stream (and its epoch) if needed, so a subscriber can be positioned
    // on a channel before its first publication.
    r = stream_locked(s, channel, now).query(q, now);
  }
  complete(reply_on, std::move(done), std::move(r));
}

void memory_broker::remove_history(const std::string& channel, executor* reply_on,
                                   callback<error> done) {
  stripe& s = stripe_of(channel);
  {
    std::lock_guard lock(s.mu);
    s.streams.erase(channel);
  }
  complete(reply_on, std::move(done), error::ok);
}

void memory_broker::add_presence(const std::string& channel, const client_info& who,
                                 executor* reply_on, callback<error> done) {
  stripe& s = stripe_of(channel);
  {
    std::lock_guard lock(s.mu);
    s.presence[channel].insert_or_assign(who.client_id, who);
  }
  complete(reply_on, std::move(done), error::ok);
}

void memory_broker::remove_presence(const std::string& channel, const std::string& client_id,
                                    executor* reply_on, callback<error> done) {
  stripe& s = stripe_of(channel);
  {
    std::lock_guard lock(s.mu);
    auto it = s.presence.find(channel);
    if (it != s.presence.end()) {
      it->second.erase(client_id);
      if (it->second.empty()) s.presence.erase(it);
    }
  }
  complete(reply_on, std::move(done), error::ok);
}

void memory_broker::presence(const std::string& channel, executor* reply_on,
                             callback<presence_result> done) {
  presence_result r;
  stripe& s = stripe_of(channel);
  {
    std::lock_guard lock(s.mu);
    auto it = s.presence.find(channel);
    if (it != s.presence.end()) {
      r.clients.reserve(it->second.size());
      for (const auto& [id, info] : it->second) r.clients.push_back(info);
    }
  }
  complete(reply_on, std::move(done), std::move(r));
}

void memory_broker::presence_stats(const std::string& channel, executor* reply_on,
                                   callback<presence_stats_result> done) {
  presence_stats_result r;
  stripe& s = stripe_of(channel);
  {
    std::lock_guard lock(s.mu);
    auto it = s.presence.find(channel);
    if (it != s.presence.end()) {
      std::unordered_set<std::string_view> users;
      for (const auto& [id, info] : it->second) users.insert(info.user_id);
      r.num_clients = it->second.size();
      r.num_users = users.size();
    }
  }
  complete(reply_on, std::move(done), std::move(r));
}

std::size_t memory_broker::sweep() {
  std::size_t dropped = 0;
  const std::uint64_t now = opts_.now_ms();
  const auto idle_limit = static_cast<std::uint64_t>(opts_.meta_ttl.count());
  for (stripe& s : stripes_) {
    std::lock_guard lock(s.mu);
    for (auto it = s.streams.begin(); it != s.streams.end();) {
      it->second.expire(now);
      if (it->second.last_active_ms() + idle_limit <= now && it->second.size() == 0) {
        it = s.streams.erase(it);
        ++dropped;
      } else {
        ++it;
      }
    }
  }
  return dropped;
}

}  // namespace duplex::hub
