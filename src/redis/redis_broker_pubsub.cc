// redis_broker, inbound side: which channels this node subscribes in Redis (reference counted,
// coalesced per loop turn) and what arrives on the subscriber connection. See redis_broker.h.
#include <hiredis/hiredis.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <span>

#include "redis/envelope.h"
#include "redis/redis_broker.h"

namespace duplex::redis {
namespace {

std::string_view text_of(const redisReply* r) noexcept { return {r->str, r->len}; }

bool is_string(const redisReply* r) noexcept {
  return r != nullptr && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

}  // namespace

void redis_broker::node_subscribe(const std::string& channel) {
  std::lock_guard lock(sub_mu_);
  if (++wanted_[channel] == 1) {
    dirty_.insert(channel);
    schedule_flush_locked();
  }
}

void redis_broker::node_unsubscribe(const std::string& channel) {
  std::lock_guard lock(sub_mu_);
  auto it = wanted_.find(channel);
  if (it == wanted_.end()) return;  // unbalanced call: nothing to undo
  if (--it->second == 0) {
    wanted_.erase(it);
    dirty_.insert(channel);
    schedule_flush_locked();
  }
}

void redis_broker::schedule_flush_locked() {
  if (flush_posted_) return;
  flush_posted_ = true;
  // Everything that changes before this task runs rides in the same (UN)SUBSCRIBE.
  on_loop([this] { flush_subscriptions(false); });
}

void redis_broker::flush_subscriptions(bool everything) {
  std::vector<std::string> add;
  std::vector<std::string> remove;
  {
    std::lock_guard lock(sub_mu_);
    if (!everything) flush_posted_ = false;
    if (shut_down_ || !sub_->up()) {
      dirty_.clear();  // on_sub_up does a full pass
      return;
    }
    if (everything) {
      dirty_.clear();
      for (const auto& [ch, n] : wanted_) {
        if (!active_.contains(ch)) add.push_back(ch);
      }
      for (const auto& [ch, s] : active_) {
        if (!wanted_.contains(ch)) remove.push_back(ch);
      }
    } else {
      for (const std::string& ch : dirty_) {
        const bool want = wanted_.contains(ch);
        const bool have = active_.contains(ch);
        if (want && !have) add.push_back(ch);
        if (!want && have) remove.push_back(ch);
      }
      dirty_.clear();
    }
  }
  std::vector<std::string> topics;
  topics.reserve(std::max(add.size(), remove.size()));
  for (std::string& ch : remove) {
    auto it = active_.find(ch);
    release_waiting(it->second);
    active_.erase(it);
    topics.push_back(topic_prefix_ + ch);
  }
  send_subscriptions(topics, false);
  topics.clear();
  for (std::string& ch : add) {
    ++inflight_[ch];
    topics.push_back(topic_prefix_ + ch);
    active_.emplace(std::move(ch), channel_sub{});
  }
  send_subscriptions(topics, true);
}

void redis_broker::send_subscriptions(std::vector<std::string>& topics, bool subscribe) {
  const std::span<const std::string> all(topics);
  for (std::size_t i = 0; i < all.size(); i += opts_.subscribe_batch) {
    const auto part = all.subspan(i, std::min(opts_.subscribe_batch, all.size() - i));
    const bool sent = subscribe ? sub_->subscribe(part) : sub_->unsubscribe(part);
    if (!sent) return;  // the link is going away; on_sub_up redoes everything
    (subscribe ? counters_.subscribe_commands : counters_.unsubscribe_commands)
        .fetch_add(1, std::memory_order_relaxed);
  }
}

void redis_broker::release_waiting(channel_sub& s) {
  auto waiting = std::move(s.waiting);
  s.waiting.clear();
  for (auto& fn : waiting) fn();
}

void redis_broker::on_push(redisReply& r) {
  // hiredis has checked the shape it relies on ([kind, name, ...]); check the rest ourselves.
  if (r.type != REDIS_REPLY_ARRAY || r.elements < 3 || !is_string(r.element[0]) ||
      !is_string(r.element[1])) {
    return;
  }
  const std::string_view kind = text_of(r.element[0]);
  const std::string_view topic = text_of(r.element[1]);
  if (kind == "message") {
    if (!is_string(r.element[2])) return count_malformed("non-string message", topic);
    on_message(topic, text_of(r.element[2]));
  } else if (kind == "subscribe") {
    on_subscribed(topic);
  }
}

void redis_broker::on_subscribed(std::string_view topic) {
  if (!topic.starts_with(topic_prefix_)) return;  // the node topic
  const std::string_view ch = topic.substr(topic_prefix_.size());
  auto inflight = inflight_.find(ch);
  if (inflight == inflight_.end()) return;
  if (--inflight->second != 0) return;  // a later SUBSCRIBE of this channel is still pending
  inflight_.erase(inflight);
  auto it = active_.find(ch);
  if (it == active_.end()) return;
  it->second.confirmed = true;
  release_waiting(it->second);
}

void redis_broker::on_message(std::string_view topic, std::string_view payload) {
  if (!topic.starts_with(topic_prefix_)) {
    if (topic != node_topic_) return count_malformed("unexpected topic", topic);
    counters_.node_messages.fetch_add(1, std::memory_order_relaxed);
    if (opts_.on_node_message) opts_.on_node_message(payload);  // decoded by the node bus
    return;
  }
  const std::string_view ch = topic.substr(topic_prefix_.size());
  if (!active_.contains(ch)) {
    // Sent before our UNSUBSCRIBE reached Redis: nobody here wants it any more.
    counters_.late_messages.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  envelope env;
  if (const envelope_error e = decode(payload, env); e != envelope_error::ok) {
    return count_malformed(to_string(e), payload);
  }
  switch (env.kind) {
    case envelope_kind::publication:
      if (env.pub.channel != ch) return count_malformed("channel mismatch", payload);
      counters_.messages.fetch_add(1, std::memory_order_relaxed);
      if (events_) events_->on_publication(env.pub);
      return;
    case envelope_kind::join:
    case envelope_kind::leave:
      if (env.channel != ch) return count_malformed("channel mismatch", payload);
      counters_.messages.fetch_add(1, std::memory_order_relaxed);
      if (!events_) return;
      if (env.kind == envelope_kind::join) {
        events_->on_join(env.channel, env.who);
      } else {
        events_->on_leave(env.channel, env.who);
      }
      return;
    case envelope_kind::client:
      return count_malformed("presence entry on a channel topic", payload);
    case envelope_kind::request:
    case envelope_kind::response:
      return count_malformed("node message on a channel topic", payload);
  }
}

void redis_broker::count_malformed(std::string_view what, std::string_view sample) {
  const auto n = counters_.malformed.fetch_add(1, std::memory_order_relaxed);
  // A peer that sends garbage once tends to send it a lot: log the first and then a sample.
  if (n % 1000 == 0) {
    spdlog::warn("redis broker: refused a message from Redis ({}); {} so far; first bytes: {:?}",
                 what, n + 1, sample.substr(0, 64));
  }
}

}  // namespace duplex::redis
