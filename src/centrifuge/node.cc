#include "centrifuge/node.h"

#include <mutex>
#include <utility>

#include "centrifuge/session.h"
#include "centrifuge/stream_formats.h"
#include "ws/frame.h"
#include "ws/protocol.h"

namespace duplex::centrifuge {

namespace {

shared_payload text_frame(std::string_view json) {
  return ws::protocol::make_frame(
      ws::opcode::text, std::as_bytes(std::span<const char>(json.data(), json.size())));
}

// The WebSocket JSON format: each push is one JSON reply in one text frame. Pure function of
// the push (the same bytes for every receiver), as wire_format.h requires.
shared_payload encode_websocket_json(hub::push_kind kind, const hub::publication& p) {
  return text_frame(encode_push_json(kind, p).view());
}

}  // namespace

formats node::register_formats(hub::format_registry& registry) {
  formats f;
  f.websocket_json = registry.add("centrifuge-json/websocket", encode_websocket_json);
  register_stream_formats(registry, f);
  return f;
}

node::node(hub::channel_hub& hub, const formats& f, const authenticator* auth, node_options options)
    : hub_(&hub), formats_(f), auth_(auth), options_(std::move(options)) {
  shards_.reserve(hub.shard_count());
  for (std::size_t i = 0; i < hub.shard_count(); ++i) {
    shards_.push_back(std::make_unique<shard_state>(options_.limits));
  }
}

node::~node() = default;

std::uint64_t node::total(shard_stats::value shard_stats::*member) const noexcept {
  std::uint64_t sum = 0;
  for (const auto& s : shards_) sum += (s->stats.*member).get();
  return sum;
}

std::uint64_t node::connections_of(transport_kind k) const noexcept {
  std::uint64_t sum = 0;
  for (const auto& s : shards_) sum += s->stats.by_transport[static_cast<std::size_t>(k)].get();
  return sum;
}

void node::on_every_shard(std::function<std::size_t(std::size_t, shard_state&)> fn,
                          executor* reply_on, std::function<void(std::size_t)> done) {
  struct gather {
    std::mutex mu;
    std::size_t left;
    std::size_t sum = 0;
    executor* reply_on;
    std::function<void(std::size_t)> done;
  };
  auto g = std::make_shared<gather>();
  g->left = shards_.size();
  g->reply_on = reply_on;
  g->done = std::move(done);
  auto shared_fn = std::make_shared<std::function<std::size_t(std::size_t, shard_state&)>>(std::move(fn));
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    shard_state* st = shards_[i].get();
    hub_->shard_at(i).exec().post([g, shared_fn, i, st] {
      const std::size_t n = (*shared_fn)(i, *st);
      std::size_t sum = 0;
      {
        std::lock_guard lk(g->mu);
        g->sum += n;
        if (--g->left != 0) return;
        sum = g->sum;
      }
      hub::complete<std::size_t>(g->reply_on, std::move(g->done), sum);
    });
  }
}

namespace {

// The sessions of `user` (optionally only `client`) on one shard, copied out so the caller may
// change the maps while acting on them.
std::vector<std::weak_ptr<session>> matching(shard_state& st, const std::string& user,
                                             const std::string& client) {
  std::vector<std::weak_ptr<session>> out;
  if (!client.empty()) {
    auto it = st.by_client.find(client);
    if (it != st.by_client.end() && (user.empty() || it->second->user() == user))
      out.push_back(it->second->weak_from_this());
    return out;
  }
  if (user.empty()) return out;
  auto [b, e] = st.by_user.equal_range(user);
  for (auto it = b; it != e; ++it) out.push_back(it->second->weak_from_this());
  return out;
}

}  // namespace

void node::on_matching(std::string user, std::string client, std::function<bool(session&)> act,
                       executor* reply_on, std::function<void(std::size_t)> done) {
  on_every_shard(
      [user = std::move(user), client = std::move(client),
       act = std::move(act)](std::size_t, shard_state& st) {
        std::size_t n = 0;
        for (auto& w : matching(st, user, client)) {
          if (auto s = w.lock(); s && act(*s)) ++n;
        }
        return n;
      },
      reply_on, std::move(done));
}

void node::disconnect_user(std::string user, std::string client, std::uint32_t code,
                           std::string reason, executor* reply_on,
                           std::function<void(std::size_t)> done) {
  on_matching(
      std::move(user), std::move(client),
      [code, reason = std::move(reason)](session& s) {
        s.disconnect(code, reason);
        return true;
      },
      reply_on, std::move(done));
}

void node::subscribe_user(std::string user, std::string client, std::string channel,
                          executor* reply_on, std::function<void(std::size_t)> done) {
  on_matching(
      std::move(user), std::move(client),
      [channel = std::move(channel)](session& s) { return s.server_subscribe(channel); },
      reply_on, std::move(done));
}

void node::unsubscribe_user(std::string user, std::string client, std::string channel,
                            executor* reply_on, std::function<void(std::size_t)> done) {
  on_matching(
      std::move(user), std::move(client),
      [channel = std::move(channel)](session& s) { return s.server_unsubscribe(channel); },
      reply_on, std::move(done));
}

}  // namespace duplex::centrifuge
