// duplex::sdk::client's public methods (each posts to the loop thread) and its commands:
// ids, timeouts, replies, the bounded publish buffer, and pushes.
#include "centrifuge/codec/codes.h"
#include "client/client_impl.h"

namespace duplex::sdk {

// ------------------------------------------------------------------ commands (loop)

std::uint32_t client::impl::send_raw(std::uint32_t id, std::string text, pending_command pc) {
  if (!ws || state.load() != client_state::connected) {
    if (pc.on_fail) pc.on_fail(make_error(client_error::disconnected, "not connected"));
    return 0;
  }
  if (ws->send(text) != send_status::queued) {
    if (pc.on_fail) pc.on_fail(make_error(client_error::disconnected, "send failed"));
    return 0;
  }
  count([](client_stats& s) { ++s.commands_sent; });
  pc.timer = loop.run_after(cfg.timeout, [this, id] {
    auto it = pending.find(id);
    if (it == pending.end()) return;
    pending_command p = std::move(it->second);
    pending.erase(it);
    if (p.on_fail) p.on_fail(make_error(client_error::timeout, "no reply in time"));
  });
  pending.emplace(id, std::move(pc));
  return id;
}

void client::impl::fail_pending(const sdk::error& e) {
  auto all = std::move(pending);
  pending.clear();
  for (auto& [id, pc] : all) {
    cancel(pc.timer);
    if (pc.on_fail) pc.on_fail(e);
  }
}

namespace {
// A pending command whose reply carries no value: cb gets {} or the error.
template <class T, class Fn>
client::impl::pending_command make_pending(std::function<void(result<T>)> cb, Fn value_of) {
  client::impl::pending_command pc;
  pc.on_reply = [cb, value_of](wire::reply& r) {
    if (!cb) return;
    if (r.err) return cb({*r.err, {}});
    cb({std::nullopt, value_of(r)});
  };
  pc.on_fail = [cb](const sdk::error& e) {
    if (cb) cb({e, {}});
  };
  return pc;
}
}  // namespace

void client::impl::do_publish(std::string channel, std::string data, std::function<void(result<empty>)> cb) {
  if (state.load() == client_state::connected) {
    const std::uint32_t id = next_id++;
    send_raw(id, wire::encode_publish(id, channel, data), make_pending(cb, [](wire::reply&) { return empty{}; }));
    return;
  }
  if (buffered.size() >= cfg.max_buffered_publishes) {
    if (cb) cb({make_error(cfg.max_buffered_publishes ? client_error::buffer_full : client_error::disconnected,
                           cfg.max_buffered_publishes ? "publish buffer full" : "not connected"), {}});
    return;
  }
  buffered.push_back({std::move(channel), std::move(data), std::move(cb)});
  count([n = buffered.size()](client_stats& s) { s.buffered_publishes = n; });
}

void client::impl::maybe_flush() {
  if (!flush_after_subs || state.load() != client_state::connected) return;
  for (auto& s : subs_snapshot())
    if (s->pending_id != 0) return;
  flush_after_subs = false;
  flush_buffered();
}

void client::impl::flush_buffered() {
  auto all = std::move(buffered);
  buffered.clear();
  count([](client_stats& s) { s.buffered_publishes = 0; });
  for (auto& b : all) do_publish(std::move(b.channel), std::move(b.data), std::move(b.cb));
}

void client::impl::do_presence(std::string channel, std::function<void(result<std::vector<presence_entry>>)> cb) {
  const std::uint32_t id = next_id++;
  send_raw(id, wire::encode_presence(id, channel),
           make_pending(cb, [](wire::reply& r) { return std::move(r.presence); }));
}

void client::impl::do_presence_stats(std::string channel, std::function<void(result<sdk::presence_stats>)> cb) {
  const std::uint32_t id = next_id++;
  send_raw(id, wire::encode_presence_stats(id, channel), make_pending(cb, [](wire::reply& r) { return r.stats; }));
}

void client::impl::do_history(std::string channel, history_options o, std::function<void(result<history_result>)> cb) {
  const std::uint32_t id = next_id++;
  send_raw(id, wire::encode_history(id, channel, o), make_pending(cb, [channel](wire::reply& r) {
             for (auto& p : r.history.publications) p.channel = channel;
             return std::move(r.history);
           }));
}

// ------------------------------------------------------------------ pushes (loop)

void client::impl::on_push(wire::push& p) {
  auto sub = p.channel.empty() ? nullptr : find_sub(p.channel);
  switch (p.kind) {
    case wire::push_kind::publication:
      count([](client_stats& s) { ++s.publications; });
      if (sub) {
        if (sub->state.load() == subscription_state::subscribed) {
          deliver(*sub, p.pub);
        } else if (sub->pending_id != 0 && sub->early.size() < subscription::impl::max_early) {
          sub->early.push_back(std::move(p.pub));
        }
      } else {
        auto it = server_subs.find(p.channel);
        if (it != server_subs.end() && it->second.recoverable && p.pub.offset != 0) {
          if (p.pub.offset <= it->second.offset) break;  // already delivered
          it->second.offset = p.pub.offset;
        }
        if (on_publication) on_publication(p.pub);
      }
      break;
    case wire::push_kind::join:
      if (sub && sub->on_join) sub->on_join(p.info);
      break;
    case wire::push_kind::leave:
      if (sub && sub->on_leave) sub->on_leave(p.info);
      break;
    case wire::push_kind::unsubscribe:
      if (sub) {
        // Codes >= 2500: resubscribe (the server asks for it); below: stay unsubscribed.
        if (p.code >= 2500) {
          sub->state.store(subscription_state::subscribing);
          if (sub->on_subscribing) sub->on_subscribing({p.code, p.reason});
          send_subscribe(sub);
        } else {
          sub_unsubscribe(sub, p.code, p.reason);
        }
      } else {
        server_subs.erase(p.channel);
        if (on_unsubscribed) on_unsubscribed({p.channel, p.code, p.reason});
      }
      break;
    case wire::push_kind::subscribe:
      if (!sub) {
        const bool positioned = p.sub.positioned || p.sub.recoverable;
        server_subs[p.channel] = {p.sub.offset, p.sub.epoch, positioned};
        if (on_subscribed) on_subscribed({p.channel, false, false, positioned, p.sub.offset, p.sub.epoch, p.sub.data});
      }
      break;
    case wire::push_kind::message:
      if (on_message) on_message(p.data);
      break;
    case wire::push_kind::disconnect:
      drop_transport(p.code, p.reason);
      break;
    case wire::push_kind::connect:
    case wire::push_kind::refresh:
    case wire::push_kind::unknown: break;
  }
}

// ------------------------------------------------------------------ public API

client::client(client_config config) : impl_(std::make_shared<impl>(std::move(config))) {}

client::~client() { impl_->shutdown(); }

void client::connect() {
  impl_->post([d = impl_.get()] { d->do_connect(); });
}

void client::disconnect() {
  impl_->post([d = impl_.get()] { d->do_disconnect(state_codes::disconnect_called, "disconnect called"); });
}

void client::close() { impl_->shutdown(); }

client_state client::state() const { return impl_->state.load(); }

std::shared_ptr<subscription> client::new_subscription(std::string channel, subscription_options opts) {
  std::lock_guard l(impl_->subs_mu);
  auto& slot = impl_->subs[channel];
  if (!slot) {
    auto d = std::make_shared<subscription::impl>(impl_, channel, std::move(opts));
    // The constructor is private to keep subscriptions made by the client only.
    slot = std::shared_ptr<subscription>(new subscription(std::move(d)));
  }
  return slot;
}

std::shared_ptr<subscription> client::get_subscription(const std::string& channel) const {
  std::lock_guard l(impl_->subs_mu);
  auto it = impl_->subs.find(channel);
  return it == impl_->subs.end() ? nullptr : it->second;
}

void client::remove_subscription(const std::shared_ptr<subscription>& sub) {
  if (!sub) return;
  sub->unsubscribe();
  std::lock_guard l(impl_->subs_mu);
  auto it = impl_->subs.find(sub->channel());
  if (it != impl_->subs.end() && it->second == sub) impl_->subs.erase(it);
}

void client::publish(std::string channel, std::string json, std::function<void(result<empty>)> cb) {
  impl_->post([d = impl_.get(), channel = std::move(channel), json = std::move(json), cb = std::move(cb)]() mutable {
    if (!wire::is_json(json)) {
      if (cb) cb({make_error(client_error::bad_request, "data is not valid JSON"), {}});
      return;
    }
    d->do_publish(std::move(channel), std::move(json), std::move(cb));
  });
}

void client::rpc(std::string method, std::string json, std::function<void(result<std::string>)> cb) {
  impl_->post([d = impl_.get(), method = std::move(method), json = std::move(json), cb = std::move(cb)] {
    const std::uint32_t id = d->next_id++;
    d->send_raw(id, wire::encode_rpc(id, method, json),
                make_pending(cb, [](wire::reply& r) { return std::move(r.data); }));
  });
}

void client::presence(std::string channel, std::function<void(result<std::vector<presence_entry>>)> cb) {
  impl_->post([d = impl_.get(), channel = std::move(channel), cb = std::move(cb)]() mutable {
    d->do_presence(std::move(channel), std::move(cb));
  });
}

void client::presence_stats(std::string channel, std::function<void(result<sdk::presence_stats>)> cb) {
  impl_->post([d = impl_.get(), channel = std::move(channel), cb = std::move(cb)]() mutable {
    d->do_presence_stats(std::move(channel), std::move(cb));
  });
}

void client::history(std::string channel, history_options opts, std::function<void(result<history_result>)> cb) {
  impl_->post([d = impl_.get(), channel = std::move(channel), opts = std::move(opts), cb = std::move(cb)]() mutable {
    d->do_history(std::move(channel), std::move(opts), std::move(cb));
  });
}

void client::send(std::string json) {
  impl_->post([d = impl_.get(), json = std::move(json)] {
    if (d->ws && d->state.load() == client_state::connected) d->ws->send(wire::encode_send(json));
  });
}

#define DUPLEX_SDK_SETTER(name, type)                                                    \
  void client::name(std::function<void(const type&)> fn) {                               \
    impl_->post([d = impl_.get(), fn = std::move(fn)]() mutable { d->name = std::move(fn); }); \
  }
DUPLEX_SDK_SETTER(on_connecting, state_event)
DUPLEX_SDK_SETTER(on_connected, connected_event)
DUPLEX_SDK_SETTER(on_disconnected, state_event)
DUPLEX_SDK_SETTER(on_error, sdk::error)
DUPLEX_SDK_SETTER(on_publication, publication)
DUPLEX_SDK_SETTER(on_subscribed, subscribed_event)
DUPLEX_SDK_SETTER(on_unsubscribed, unsubscribed_event)
DUPLEX_SDK_SETTER(on_message, std::string)
#undef DUPLEX_SDK_SETTER

client_stats client::stats() const {
  std::lock_guard l(impl_->stats_mu);
  return impl_->stats_;
}

}  // namespace duplex::sdk
