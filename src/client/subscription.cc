// duplex::sdk::subscription: client-side subscriptions that survive reconnects.
//
// A wanted subscription is (re)subscribed on every connect; when it has a stream position
// (offset and epoch from earlier publications or subscribe replies) and is recoverable, the
// subscribe asks for recovery, and the server replays what was missed. The subscribed event
// then tells recovered (no gap) from not recovered (gap: the application reloads its state).
// Publications at or below the last offset of the same epoch are dropped, so a publication
// reaches the application once even when a replay and live delivery overlap.
#include "centrifuge/codec/codes.h"
#include "client/client_impl.h"

namespace duplex::sdk {

// ------------------------------------------------------------------ client side (loop)

std::vector<std::shared_ptr<subscription::impl>> client::impl::subs_snapshot() const {
  std::lock_guard l(subs_mu);
  std::vector<std::shared_ptr<subscription::impl>> out;
  out.reserve(subs.size());
  for (auto& [ch, s] : subs) out.push_back(s->impl_);
  return out;
}

std::shared_ptr<subscription::impl> client::impl::find_sub(const std::string& channel) const {
  std::lock_guard l(subs_mu);
  auto it = subs.find(channel);
  return it == subs.end() ? nullptr : it->second->impl_;
}

void client::impl::sub_subscribe(const std::shared_ptr<subscription::impl>& s) {
  if (s->wanted) return;
  s->wanted = true;
  s->state.store(subscription_state::subscribing);
  if (s->on_subscribing) s->on_subscribing({0, "subscribe called"});
  if (state.load() == client_state::connected) send_subscribe(s);
}

void client::impl::sub_unsubscribe(const std::shared_ptr<subscription::impl>& s, std::uint32_t code,
                                   const std::string& reason) {
  const bool was = s->wanted || s->state.load() != subscription_state::unsubscribed;
  s->wanted = false;
  cancel(s->retry_timer);
  const bool on_server = s->state.load() == subscription_state::subscribed || s->pending_id != 0;
  s->pending_id = 0;
  s->early.clear();
  s->state.store(subscription_state::unsubscribed);
  // Only an unsubscribe of our own needs telling the server (a push means it is done there).
  if (on_server && code == 0 && state.load() == client_state::connected) {
    const std::uint32_t id = next_id++;
    send_raw(id, wire::encode_unsubscribe(id, s->channel), {});
  }
  if (was && s->on_unsubscribed) s->on_unsubscribed({s->channel, code, reason});
}

void client::impl::send_subscribe(const std::shared_ptr<subscription::impl>& s) {
  cancel(s->retry_timer);
  s->early.clear();
  wire::subscribe_args a;
  a.channel = s->channel;
  a.token = s->opts.token;
  a.data = s->opts.data;
  a.join_leave = s->opts.join_leave;
  std::string epoch;
  {
    std::lock_guard l(s->pos_mu);
    if (s->opts.recoverable && s->has_position) {
      a.recover = true;
      a.offset = s->offset;
      epoch = s->epoch;
    }
  }
  a.epoch = epoch;
  const std::uint32_t id = next_id++;
  s->pending_id = id;
  pending_command pc;
  pc.on_reply = [this, s, id](wire::reply& r) {
    if (s->pending_id != id) return;  // unsubscribed or resubscribed meanwhile
    s->pending_id = 0;
    on_subscribe_reply(s, r);
    maybe_flush();
  };
  pc.on_fail = [this, s, id](const sdk::error& e) {
    if (s->pending_id != id) return;
    s->pending_id = 0;
    // A timeout while connected: try again; a disconnect resubscribes on the next connect.
    if (e.code == static_cast<std::uint32_t>(client_error::timeout) && s->wanted) {
      if (s->on_error) s->on_error(e);
      send_subscribe(s);
    }
    maybe_flush();
  };
  send_raw(id, wire::encode_subscribe(id, a), std::move(pc));
}

void client::impl::on_subscribe_reply(const std::shared_ptr<subscription::impl>& s, wire::reply& r) {
  if (r.err) {
    const sdk::error e = *r.err;
    if (s->on_error) s->on_error(e);
    if (e.code == static_cast<std::uint32_t>(centrifuge::error_code::unrecoverable_position)) {
      // The position is gone for good: subscribe afresh and report the gap.
      {
        std::lock_guard l(s->pos_mu);
        s->has_position = false;
      }
      s->lost_position = true;
      return send_subscribe(s);
    }
    if (e.temporary || e.code == static_cast<std::uint32_t>(centrifuge::error_code::already_subscribed)) {
      s->retry_timer = loop.run_after(retry.ceiling(1), [this, s] {
        s->retry_timer = 0;
        if (s->wanted && state.load() == client_state::connected) send_subscribe(s);
      });
      return;
    }
    return sub_unsubscribe(s, e.code, e.message);
  }
  wire::subscribe_result& sr = r.sub;
  bool had_position;
  std::uint64_t old_offset;
  std::string old_epoch;
  {
    std::lock_guard l(s->pos_mu);
    had_position = s->has_position;
    old_offset = s->offset;
    old_epoch = s->epoch;
  }
  s->recoverable = sr.recoverable || sr.positioned;
  subscribed_event ev{s->channel, sr.was_recovering, sr.recovered, s->recoverable, sr.offset, sr.epoch, sr.data};
  if (s->lost_position) {
    ev.was_recovering = true;
    ev.recovered = false;
    s->lost_position = false;
  }
  // An epoch change means the server lost the stream (restart without persistent history):
  // whatever the reply says, nothing before the new epoch can come back.
  if (had_position && !old_epoch.empty() && !sr.epoch.empty() && sr.epoch != old_epoch) {
    ev.was_recovering = true;
    ev.recovered = false;
  }
  // The position to deduplicate against: the old one when recovering in the same epoch.
  const bool same_epoch = had_position && old_epoch == sr.epoch;
  if (s->recoverable) {
    if (same_epoch) s->set_position(old_offset, sr.epoch);
    else s->set_position(sr.publications.empty() ? sr.offset : 0, sr.epoch);
  }
  s->state.store(subscription_state::subscribed);
  if (s->on_subscribed) s->on_subscribed(ev);
  auto early = std::move(s->early);
  s->early.clear();
  for (auto* list : {&sr.publications, &early}) {
    for (publication& p : *list) {
      p.channel = s->channel;
      deliver(*s, p);
    }
  }
  if (s->recoverable && sr.offset > 0) {
    std::lock_guard l(s->pos_mu);
    if (sr.offset > s->offset) s->offset = sr.offset;
  }
}

void client::impl::deliver(subscription::impl& s, publication& p) {
  if (p.offset != 0 && s.recoverable) {
    std::lock_guard l(s.pos_mu);
    if (s.has_position && p.offset <= s.offset) return;  // already delivered
    s.has_position = true;
    s.offset = p.offset;
  }
  if (s.on_publication) s.on_publication(p);
}

// A lost connection: subscribed subscriptions wait for the next connect.
void client::impl::subs_to_subscribing(std::uint32_t code, const std::string& reason) {
  for (auto& s : subs_snapshot()) {
    s->pending_id = 0;
    s->early.clear();
    cancel(s->retry_timer);
    if (!s->wanted || s->state.load() != subscription_state::subscribed) continue;
    s->state.store(subscription_state::subscribing);
    if (s->on_subscribing) s->on_subscribing({code, reason});
  }
}

void client::impl::resubscribe_all() {
  for (auto& s : subs_snapshot()) {
    if (s->wanted && s->pending_id == 0) send_subscribe(s);
  }
}

// ------------------------------------------------------------------ public API

subscription::subscription(std::shared_ptr<impl> d) : impl_(std::move(d)) {}
subscription::~subscription() = default;

const std::string& subscription::channel() const noexcept { return impl_->channel; }
subscription_state subscription::state() const { return impl_->state.load(); }

namespace {
template <class Fn>
void on_loop(const std::shared_ptr<subscription::impl>& s, Fn fn) {
  auto c = s->owner.lock();
  if (!c) return;
  c->post([c = c.get(), s, fn = std::move(fn)]() mutable { fn(*c, s); });
}
}  // namespace

void subscription::subscribe() {
  on_loop(impl_, [](client::impl& c, const std::shared_ptr<impl>& s) { c.sub_subscribe(s); });
}

void subscription::unsubscribe() {
  on_loop(impl_, [](client::impl& c, const std::shared_ptr<impl>& s) { c.sub_unsubscribe(s, 0, "unsubscribe called"); });
}

void subscription::publish(std::string json, std::function<void(result<empty>)> cb) {
  on_loop(impl_, [json = std::move(json), cb = std::move(cb)](client::impl& c, const std::shared_ptr<impl>& s) mutable {
    if (!wire::is_json(json)) {
      if (cb) cb({make_error(client_error::bad_request, "data is not valid JSON"), {}});
      return;
    }
    c.do_publish(s->channel, std::move(json), std::move(cb));
  });
}

void subscription::presence(std::function<void(result<std::vector<presence_entry>>)> cb) {
  on_loop(impl_, [cb = std::move(cb)](client::impl& c, const std::shared_ptr<impl>& s) mutable {
    c.do_presence(s->channel, std::move(cb));
  });
}

void subscription::presence_stats(std::function<void(result<sdk::presence_stats>)> cb) {
  on_loop(impl_, [cb = std::move(cb)](client::impl& c, const std::shared_ptr<impl>& s) mutable {
    c.do_presence_stats(s->channel, std::move(cb));
  });
}

void subscription::history(history_options opts, std::function<void(result<history_result>)> cb) {
  on_loop(impl_, [opts = std::move(opts), cb = std::move(cb)](client::impl& c, const std::shared_ptr<impl>& s) mutable {
    c.do_history(s->channel, std::move(opts), std::move(cb));
  });
}

std::uint64_t subscription::offset() const {
  std::lock_guard l(impl_->pos_mu);
  return impl_->offset;
}

std::string subscription::epoch() const {
  std::lock_guard l(impl_->pos_mu);
  return impl_->epoch;
}

#define DUPLEX_SDK_SUB_SETTER(name, type)                                               \
  void subscription::name(std::function<void(const type&)> fn) {                         \
    on_loop(impl_, [fn = std::move(fn)](client::impl&, const std::shared_ptr<impl>& s) mutable { \
      s->name = std::move(fn);                                                           \
    });                                                                                  \
  }
DUPLEX_SDK_SUB_SETTER(on_publication, publication)
DUPLEX_SDK_SUB_SETTER(on_subscribing, state_event)
DUPLEX_SDK_SUB_SETTER(on_subscribed, subscribed_event)
DUPLEX_SDK_SUB_SETTER(on_unsubscribed, unsubscribed_event)
DUPLEX_SDK_SUB_SETTER(on_error, sdk::error)
DUPLEX_SDK_SUB_SETTER(on_join, client_info)
DUPLEX_SDK_SUB_SETTER(on_leave, client_info)
#undef DUPLEX_SDK_SUB_SETTER

}  // namespace duplex::sdk
