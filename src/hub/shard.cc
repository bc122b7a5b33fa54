#include "hub/shard.h"

#include <algorithm>
#include <utility>

#include "base/assert.h"
#include "base/prefetch.h"
#include "hub/channel_hub.h"

namespace duplex::hub {

shard::shard(channel_hub& hub, std::size_t index, executor& ex)
    : hub_(hub), index_(index), ex_(&ex) {}

client_info shard::identity(const subscriber& s, const shared_payload& chan_info) const {
  client_info who = s.client();
  who.chan_info = chan_info;
  return who;
}

void shard::fail_now(callback<subscribe_result> done, error e, channel_error why) {
  subscribe_result r;
  r.err = e;
  r.why = why;
  complete(ex_, std::move(done), std::move(r));
}

bool shard::holds(const subscriber& s, std::string_view channel) const {
  auto it = channels_.find(channel);
  if (it == channels_.end()) return false;
  const auto& slots = it->second.slots;
  return std::any_of(slots.begin(), slots.end(), [&](const slot& x) { return x.sub == &s; });
}

std::size_t shard::local_subscribers(std::string_view channel) const {
  auto it = channels_.find(channel);
  return it == channels_.end() ? 0 : it->second.live();
}

void shard::subscribe(subscriber& s, const subscribe_request& req,
                      callback<subscribe_result> done) {
  DUPLEX_ASSERT(ex_->in_thread());
  const namespace_options* opts = nullptr;
  channel_error why = channel_error::ok;
  if (error e = resolve_channel(hub_.namespaces(), req.channel, &opts, &why); e != error::ok) {
    return fail_now(std::move(done), e, why);
  }
  if (!allows(opts->subscribe, req.cred)) return fail_now(std::move(done), error::permission_denied);
  if (holds(s, req.channel)) return fail_now(std::move(done), error::already_subscribed);

  auto it = channels_.find(req.channel);
  const bool first_on_shard = it == channels_.end() || it->second.live() == 0;
  if (error e = hub_.directory_.add(req.channel, index_, first_on_shard, opts->max_subscribers);
      e != error::ok) {
    return fail_now(std::move(done), e);
  }
  if (it == channels_.end()) it = channels_.emplace(std::string(req.channel), local_channel{}).first;
  it->second.opts = opts;

  const std::uint64_t id = ++next_pending_;
  it->second.slots.push_back(slot{&s, req.chan_info, id});
  pending_subscribe& p = pending_[id];
  p.sub = &s;
  p.channel = it->first;
  p.opts = opts;
  p.since = req.recover_since;
  p.done = std::move(done);

  if (opts->presence) {
    p.presence_added = true;
    hub_.broker().add_presence(p.channel, identity(s, req.chan_info), ex_, [this, id](error e) {
      if (e != error::ok) {
        subscribe_result r;
        r.err = e;
        return finish(id, std::move(r));
      }
      step_history(id);
    });
    return;
  }
  step_history(id);
}

void shard::step_history(std::uint64_t id) {
  auto pit = pending_.find(id);
  if (pit == pending_.end()) return;  // unsubscribed meanwhile
  pending_subscribe& p = pit->second;
  if (!p.opts->history_enabled()) {
    ex_->post([this, id] { finish(id, subscribe_result{}); });  // done is never inline
    return;
  }
  history_query q;  // limit 0: position only
  if (p.since) q = recovery_query(*p.since, p.opts->recovery_max_publications);
  hub_.broker().history(p.channel, q, ex_, [this, id](history_result h) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    subscribe_result r;
    if (it->second.since) {
      recovery_result rec = judge_recovery(*it->second.since,
                                           it->second.opts->recovery_max_publications,
                                           std::move(h));
      r.err = rec.err;
      r.position = std::move(rec.position);
      r.recovered = rec.recovered;
      r.publications = std::move(rec.pubs);
    } else {
      r.err = h.err;
      r.position = std::move(h.position);
    }
    finish(id, std::move(r));
  });
}

void shard::finish(std::uint64_t id, subscribe_result r) {
  auto pit = pending_.find(id);
  if (pit == pending_.end()) return;
  pending_subscribe p = std::move(pit->second);
  pending_.erase(pit);

  auto cit = channels_.find(p.channel);
  DUPLEX_ASSERT(cit != channels_.end());
  auto sit = std::find_if(cit->second.slots.begin(), cit->second.slots.end(),
                          [&](const slot& x) { return x.pending_id == id; });
  DUPLEX_ASSERT(sit != cit->second.slots.end());

  if (r.err != error::ok) {
    remove_slot(cit, *p.sub);
    if (p.presence_added) {
      hub_.broker().remove_presence(p.channel, p.sub->client().client_id, nullptr, {});
    }
    if (p.done) p.done(std::move(r));
    return;
  }

  sit->pending_id = 0;
  const shared_payload chan_info = sit->chan_info;
  ++counters_.subscribes;
  ++counters_.subscriptions;
  const stream_position top = r.position;
  subscriber* s = p.sub;
  if (p.done) p.done(std::move(r));
  if (p.opts->join_leave && holds(*s, p.channel)) {
    hub_.broker().publish_join(p.channel, identity(*s, chan_info));
  }
  // Hand over what arrived meanwhile, minus what the reply already covered (offsets up to the
  // position it reported). The subscriber may unsubscribe from inside any of these calls.
  bool caught_up = top.offset == 0;  // no history: nothing to fence
  for (const delivery_ptr& d : p.held) {
    if (!holds(*s, p.channel)) return;
    const publication& pub = d->pub();
    if (d->kind() == push_kind::publication && pub.offset != 0) {
      if (pub.epoch == top.epoch && pub.offset <= top.offset) continue;
      caught_up = true;
    }
    ++counters_.deliveries;
    s->deliver(*d);
  }
  if (caught_up) return;
  // Live delivery has not reached the position yet: fence until it does.
  cit = channels_.find(p.channel);
  if (cit == channels_.end()) return;
  for (slot& x : cit->second.slots) {
    if (x.sub != s) continue;
    x.pending_id = id;
    fences_.emplace(id, fence{top.epoch, top.offset});
    return;
  }
}

bool shard::fenced(slot& x, const delivery& d) {
  auto fit = fences_.find(x.pending_id);
  if (fit != fences_.end()) {
    const publication& pub = d.pub();
    if (d.kind() != push_kind::publication || pub.offset == 0) return false;  // join, leave
    if (pub.epoch == fit->second.epoch && pub.offset <= fit->second.offset) return true;
    fences_.erase(fit);  // live delivery caught up with the position
  }
  x.pending_id = 0;
  return false;
}

shared_payload shard::remove_slot(channel_map::iterator it, subscriber& s) {
  local_channel& ch = it->second;
  auto sit = std::find_if(ch.slots.begin(), ch.slots.end(), [&](const slot& x) { return x.sub == &s; });
  DUPLEX_ASSERT(sit != ch.slots.end());
  shared_payload chan_info = std::move(sit->chan_info);
  if (iterating_ == &ch) {
    sit->sub = nullptr;  // dispatch() is walking this vector: compact after it
    ++ch.removed;
  } else {
    *sit = std::move(ch.slots.back());  // order among subscribers does not matter
    ch.slots.pop_back();
  }
  const bool last = ch.live() == 0;
  hub_.directory_.remove(it->first, index_, last);
  if (last && iterating_ != &ch) channels_.erase(it);
  return chan_info;
}

error shard::unsubscribe(subscriber& s, std::string_view channel) {
  DUPLEX_ASSERT(ex_->in_thread());
  auto it = channels_.find(channel);
  if (it == channels_.end()) return error::not_subscribed;
  auto& slots = it->second.slots;
  auto sit = std::find_if(slots.begin(), slots.end(), [&](const slot& x) { return x.sub == &s; });
  if (sit == slots.end()) return error::not_subscribed;

  const namespace_options* opts = it->second.opts;
  const std::string name = it->first;  // `it` may be erased below
  if (sit->pending_id != 0 && fences_.erase(sit->pending_id) != 0) sit->pending_id = 0;
  if (sit->pending_id != 0) {
    const bool presence_added = pending_[sit->pending_id].presence_added;
    pending_.erase(sit->pending_id);  // done is dropped, per the contract
    remove_slot(it, s);
    if (presence_added) hub_.broker().remove_presence(name, s.client().client_id, nullptr, {});
    return error::ok;
  }
  shared_payload chan_info = remove_slot(it, s);
  ++counters_.unsubscribes;
  --counters_.subscriptions;
  if (opts->presence) hub_.broker().remove_presence(name, s.client().client_id, nullptr, {});
  if (opts->join_leave) hub_.broker().publish_leave(name, identity(s, chan_info));
  return error::ok;
}

void shard::report_slow(subscriber& s, std::string_view channel) {
  DUPLEX_ASSERT(ex_->in_thread());
  auto it = channels_.find(channel);
  if (it == channels_.end() || !holds(s, channel)) return;
  const slow_consumer_policy policy = it->second.opts->slow_policy;
  if (policy == slow_consumer_policy::drop) {
    ++counters_.drops;
  } else {
    ++counters_.slow_disconnects;
  }
  s.on_slow(channel, policy);
}

void shard::prefetch_ahead(const std::vector<slot>& slots, std::size_t i) noexcept {
  // Stage 0, 10 slots ahead: the subscriber object's first lines (where a session keeps what
  // deliver() reads); then its own stages 0-3, 8, 6, 4 and 2 slots ahead.
  prefetch_pipeline(slots, i, 2, 5, [](const slot& x, unsigned k) {
    if (x.sub == nullptr) return;
    if (k == 0) {
      prefetch_lines(x.sub, 2 * cache_line);
    } else {
      x.sub->prefetch(k - 1);
    }
  });
}

void shard::dispatch(const delivery_ptr& dp) {
  const delivery& d = *dp;
  auto it = channels_.find(d.pub().channel);
  if (it == channels_.end()) return;  // the last local subscriber left after the post
  if (d.kind() == push_kind::publication) ++counters_.publications;
  local_channel& ch = it->second;
  DUPLEX_ASSERT(iterating_ == nullptr);
  iterating_ = &ch;
  // Index loop over the size at entry: a subscribe from inside deliver() may append (and
  // reallocate), an unsubscribe only nulls a slot; newcomers start with the next push.
  const std::size_t n = ch.slots.size();
  for (std::size_t i = 0; i < n; ++i) {
    prefetch_ahead(ch.slots, i);
    slot& x = ch.slots[i];
    if (x.sub == nullptr) continue;
    if (x.pending_id != 0) {
      auto pit = pending_.find(x.pending_id);
      if (pit != pending_.end()) {
        pit->second.held.push_back(dp);
        continue;
      }
      if (fenced(x, d)) continue;
    }
    ++counters_.deliveries;
    x.sub->deliver(d);
  }
  iterating_ = nullptr;
  if (ch.removed != 0) {
    std::erase_if(ch.slots, [](const slot& x) { return x.sub == nullptr; });
    ch.removed = 0;
    if (ch.slots.empty()) channels_.erase(it);
  }
}

}  // namespace duplex::hub
