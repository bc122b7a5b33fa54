#include "hub/channel_hub.h"

#include <bit>
#include <utility>

#include "base/assert.h"
#include "base/clock.h"

namespace duplex::hub {

channel_hub::channel_hub(std::span<executor* const> shard_executors, hub::broker& b,
                         const namespace_table& namespaces, const format_registry& formats)
    : broker_(&b), namespaces_(&namespaces), formats_(&formats), directory_(b) {
  DUPLEX_ASSERT(!shard_executors.empty() && shard_executors.size() <= max_shards);
  shards_.reserve(shard_executors.size());
  for (std::size_t i = 0; i < shard_executors.size(); ++i) {
    DUPLEX_ASSERT(shard_executors[i] != nullptr);
    shards_.push_back(std::make_unique<shard>(*this, i, *shard_executors[i]));
  }
  broker_->set_events(this);
}

channel_hub::~channel_hub() { broker_->set_events(nullptr); }

template <class Rule>
error channel_hub::admit(std::string_view channel, credential cred, Rule rule,
                         const namespace_options** opts) const {
  if (error e = resolve_channel(*namespaces_, channel, opts); e != error::ok) return e;
  return allows(rule(**opts), cred) ? error::ok : error::permission_denied;
}

void channel_hub::publish(publish_request req, executor* reply_on, callback<publish_result> done) {
  const namespace_options* opts = nullptr;
  if (error e = admit(req.channel, req.cred, [](const namespace_options& o) { return o.publish; },
                      &opts);
      e != error::ok) {
    return complete(reply_on, std::move(done), publish_result{e, {}});
  }
  publication pub;
  pub.channel.assign(req.channel);
  pub.data = std::move(req.data);
  pub.info = std::move(req.info);
  pub.tags = std::move(req.tags);
  pub.published_us = clock::now_us();
  published_.fetch_add(1, std::memory_order_relaxed);
  broker_->publish(std::move(pub), publish_options{opts->history_size, opts->history_ttl},
                   reply_on, std::move(done));
}

void channel_hub::history(std::string_view channel, const history_query& q, credential cred,
                          executor* reply_on, callback<history_result> done) {
  const namespace_options* opts = nullptr;
  error e = admit(channel, cred, [](const namespace_options& o) { return o.history_read; }, &opts);
  if (e == error::ok && !opts->history_enabled()) e = error::not_available;
  if (e != error::ok) {
    history_result r;
    r.err = e;
    return complete(reply_on, std::move(done), std::move(r));
  }
  broker_->history(std::string(channel), q, reply_on, std::move(done));
}

void channel_hub::remove_history(std::string_view channel, executor* reply_on,
                                 callback<error> done) {
  const namespace_options* opts = nullptr;
  if (error e = resolve_channel(*namespaces_, channel, &opts); e != error::ok) {
    return complete(reply_on, std::move(done), e);
  }
  broker_->remove_history(std::string(channel), reply_on, std::move(done));
}

void channel_hub::presence(std::string_view channel, credential cred, executor* reply_on,
                           callback<presence_result> done) {
  const namespace_options* opts = nullptr;
  error e = admit(channel, cred, [](const namespace_options& o) { return o.presence_read; }, &opts);
  if (e == error::ok && !opts->presence) e = error::not_available;
  if (e != error::ok) return complete(reply_on, std::move(done), presence_result{e, {}});
  broker_->presence(std::string(channel), reply_on, std::move(done));
}

void channel_hub::presence_stats(std::string_view channel, credential cred, executor* reply_on,
                                 callback<presence_stats_result> done) {
  const namespace_options* opts = nullptr;
  error e = admit(channel, cred, [](const namespace_options& o) { return o.presence_read; }, &opts);
  if (e == error::ok && !opts->presence) e = error::not_available;
  if (e != error::ok) return complete(reply_on, std::move(done), presence_stats_result{e, 0, 0});
  broker_->presence_stats(std::string(channel), reply_on, std::move(done));
}

void channel_hub::on_publication(const publication& pub) { fan_out(push_kind::publication, pub); }

void channel_hub::on_join(const std::string& channel, const client_info& who) {
  publication p;
  p.channel = channel;
  p.info = who;
  fan_out(push_kind::join, std::move(p));
}

void channel_hub::on_leave(const std::string& channel, const client_info& who) {
  publication p;
  p.channel = channel;
  p.info = who;
  fan_out(push_kind::leave, std::move(p));
}

void channel_hub::fan_out(push_kind kind, publication pub) {
  std::uint64_t mask = directory_.shards_of(pub.channel);
  if (mask == 0) return;
  // One delivery for the whole node; each shard's task holds a reference to it.
  auto d = std::make_shared<const delivery>(kind, std::move(pub), *formats_);
  while (mask != 0) {
    const auto i = static_cast<std::size_t>(std::countr_zero(mask));
    mask &= mask - 1;
    shard* s = shards_[i].get();
    s->exec().post([s, d] { s->dispatch(d); });
  }
}

}  // namespace duplex::hub
