#include "centrifuge/session.h"

#include <algorithm>
#include <random>
#include <utility>

#include <spdlog/spdlog.h>

#include "base/assert.h"
#include "base/clock.h"
#include "centrifuge/codec/push_encoder.h"
#include "centrifuge/codec/reply_encoder.h"
#include "centrifuge/node.h"
#include "hub/namespace_options.h"
#include "ws/connection.h"

namespace duplex::centrifuge {

namespace {

// Client ids are random UUIDs (version 4), as Centrifugo's; one generator per loop thread.
std::string new_client_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uint64_t hi = rng(), lo = rng();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  static constexpr char hex[] = "0123456789abcdef";
  std::string s(36, '-');
  int pos = 0;
  auto put = [&](std::uint64_t v, int nibbles) {
    for (int i = nibbles - 1; i >= 0; --i) {
      if (pos == 8 || pos == 13 || pos == 18 || pos == 23) ++pos;
      s[static_cast<std::size_t>(pos++)] = hex[(v >> (i * 4)) & 0xf];
    }
  };
  put(hi, 16);
  put(lo, 16);
  return s;
}

// A hub client_info seen through the codec's view type.
client_info view_of(const hub::client_info& c) {
  return {c.user_id, c.client_id, c.conn_info.view(), c.chan_info.view()};
}

// Codec views of hub publications, for subscribe (recovery) and history replies. Storage is
// sized before any pointer into it is taken.
struct publication_views {
  std::vector<client_info> infos;
  std::vector<std::vector<tag>> tags;
  std::vector<publication> pubs;

  explicit publication_views(const std::vector<hub::publication>& src) {
    infos.reserve(src.size());
    tags.reserve(src.size());
    pubs.reserve(src.size());
    for (const auto& p : src) {
      publication v;
      v.data = p.data.view();
      v.offset = p.offset;
      if (p.info) {
        infos.push_back(view_of(*p.info));
        v.info = &infos.back();
      }
      if (!p.tags.empty()) {
        auto& t = tags.emplace_back();
        for (const auto& [k, val] : p.tags) t.push_back({k, val});
        v.tags = t;
      }
      pubs.push_back(v);
    }
  }
};

std::uint32_t ttl_from(std::int64_t expire_at, std::int64_t now) {
  return expire_at > now ? static_cast<std::uint32_t>(expire_at - now) : 0;
}

}  // namespace

error_code to_error_code(hub::error e) noexcept {
  switch (e) {
    case hub::error::ok: break;
    case hub::error::bad_channel: return error_code::bad_request;
    case hub::error::unknown_namespace: return error_code::unknown_channel;
    case hub::error::permission_denied: return error_code::permission_denied;
    case hub::error::already_subscribed: return error_code::already_subscribed;
    case hub::error::not_subscribed: return error_code::bad_request;
    case hub::error::too_many_subscribers: return error_code::limit_exceeded;
    case hub::error::not_available: return error_code::not_available;
    case hub::error::unrecoverable_position: return error_code::unrecoverable_position;
    case hub::error::broker_unavailable: return error_code::internal;
  }
  return error_code::internal;
}

// A connect reply waiting for the server-side subscriptions of the token's `channels` claim.
struct session::connect_wait {
  std::uint32_t id = 0;
  std::size_t pending = 0;
  bool expires = false;
  std::uint32_t ttl = 0;
  struct sub {
    std::string channel;
    std::optional<hub::stream_position> since;  // the client's position, when recovering
    bool ok = false;
    hub::subscribe_result result;
  };
  std::vector<sub> subs;
};

session::session(node& n, std::size_t shard, transport& t, hub::wire_format format,
                 transport_kind kind)
    : node_(n),
      shard_(shard),
      transport_(t),
      direct_ws_(t.direct_websocket()),
      format_(format),
      kind_(kind) {
  home().stats.connections.add();
  home().stats.by_transport[static_cast<std::size_t>(kind_)].add();
}

session::~session() {
  DUPLEX_ASSERT(state_ == state::closed || state_ == state::initial);
  home().stats.connections.sub();
  home().stats.by_transport[static_cast<std::size_t>(kind_)].sub();
}

executor& session::exec() const { return node_.hub().shard_at(shard_).exec(); }
shard_state& session::home() const { return node_.shard(shard_); }

void session::start() {
  const auto stale = node_.options().stale_timeout;
  if (stale.count() <= 0) return;
  stale_timer_ = exec().run_after(stale, [this] {
    stale_timer_ = 0;
    if (state_ == state::initial) disconnect(disconnects::stale);
  });
}

// ---- inbound ---------------------------------------------------------------------------------

void session::on_frame(std::string_view frame) {
  if (state_ == state::closing || state_ == state::closed) return;
  shard_state& h = home();
  h.stats.messages_in.add();
  h.stats.bytes_in.add(frame.size());
  parse_result pr = h.parser.parse(frame, h.commands);
  // Keep our strong reference: a command may disconnect us, and the transport may then drop
  // its reference from inside close().
  auto self = shared_from_this();
  in_frame_ = true;
  std::string& out = h.out;
  out.clear();
  for (std::size_t i = 0; i < pr.commands && state_ != state::closing && state_ != state::closed; ++i) {
    h.stats.commands.add();
    run(h.commands[i]);
  }
  in_frame_ = false;
  if (!pr.ok() && state_ != state::closing && state_ != state::closed) {
    flush_reply(out);
    bad_request(to_string(pr.error));
    return;
  }
  flush_reply(out);
}

void session::run(const command& c) {
  const method m = c.type();
  if (state_ == state::initial) {
    if (m == method::connect) return on_connect(c.id, std::get<connect_request>(c.body));
    return bad_request("command before connect");
  }
  if (m == method::connect) return bad_request("second connect");
  switch (m) {
    case method::connect: break;
    case method::subscribe: return on_subscribe(c.id, std::get<subscribe_request>(c.body));
    case method::unsubscribe: return on_unsubscribe(c.id, std::get<unsubscribe_request>(c.body));
    case method::publish: return on_publish(c.id, std::get<publish_request>(c.body));
    case method::presence: return on_presence(c.id, std::get<presence_request>(c.body));
    case method::presence_stats:
      return on_presence_stats(c.id, std::get<presence_stats_request>(c.body));
    case method::history: return on_history(c.id, std::get<history_request>(c.body));
    case method::ping:
      return reply([&](std::string& out) { encode_ping_reply(out, c.id); });
    case method::pong: awaiting_pong_ = false; return;
    case method::send: return;  // no handler configured: accepted and ignored
    case method::rpc: return error_reply(c.id, error_code::method_not_found);
    case method::refresh: return on_refresh(c.id, std::get<refresh_request>(c.body));
    case method::sub_refresh: return on_sub_refresh(c.id, std::get<sub_refresh_request>(c.body));
    case method::invalid: return error_reply(c.id, std::get<invalid_request>(c.body).code);
  }
}

void session::on_connect(std::uint32_t id, const connect_request& r) {
  if (stale_timer_ != 0) {
    exec().cancel(stale_timer_);
    stale_timer_ = 0;
  }
  connect_identity ident;
  if (!r.token.empty()) {
    auth_status st = node_.auth() ? node_.auth()->verify_connect(r.token, ident) : auth_status::invalid;
    if (st == auth_status::expired) return error_reply(id, error_code::token_expired);
    if (st != auth_status::ok) return disconnect(disconnects::invalid_token);
  } else if (!node_.options().anonymous_connect) {
    return bad_request("connect without credentials");
  }
  const std::int64_t now = node_.auth() ? node_.auth()->now_unix() : 0;
  if (ident.expire_at && *ident.expire_at <= now) return error_reply(id, error_code::token_expired);

  info_.client_id = new_client_id();
  info_.user_id = std::move(ident.user);
  if (!ident.info_json.empty()) info_.conn_info = shared_payload::copy_of(ident.info_json);
  cred_ = info_.user_id.empty() ? hub::credential::anonymous : hub::credential::authenticated;
  state_ = state::connecting;

  shard_state& h = home();
  h.by_client.emplace(info_.client_id, this);
  if (!info_.user_id.empty()) h.by_user.emplace(info_.user_id, this);
  registered_ = true;

  auto w = std::make_shared<connect_wait>();
  w->id = id;
  if (ident.expire_at) {
    w->expires = true;
    w->ttl = ttl_from(*ident.expire_at, now);
    arm_expiry(*ident.expire_at);
  }
  // Server-side subscriptions, recovering from the positions the client sent in connect.subs.
  for (auto& ch : ident.channels) {
    if (subs_.size() + w->subs.size() >= node_.options().max_channels_per_client) break;
    if (std::any_of(w->subs.begin(), w->subs.end(), [&](const auto& s) { return s.channel == ch; }))
      continue;
    auto& sub = w->subs.emplace_back();
    sub.channel = ch;
    for (const auto& s : r.subs) {
      if (s.channel == ch && s.recover) sub.since = hub::stream_position{s.offset, std::string(s.epoch)};
    }
  }
  w->pending = w->subs.size();
  if (w->pending == 0) return finish_connect(w);
  for (std::size_t i = 0; i < w->subs.size(); ++i) {
    hub_subscribe(w->subs[i].channel, hub::credential::server, {}, w->subs[i].since, true,
                  [this, w, i](hub::subscribe_result res) {
                    w->subs[i].ok = res.err == hub::error::ok;
                    if (!w->subs[i].ok) {
                      spdlog::info("server-side subscription of {} to {} failed: {}",
                                   info_.client_id, w->subs[i].channel, hub::to_string(res.err));
                    }
                    w->subs[i].result = std::move(res);
                    if (--w->pending == 0) finish_connect(w);
                  });
  }
}

void session::finish_connect(const std::shared_ptr<connect_wait>& w) {
  if (state_ != state::connecting) return;
  state_ = state::connected;
  home().stats.connects.add();
  const auto& opt = node_.options();

  // Views for the reply; all storage lives until encode returns.
  std::vector<std::unique_ptr<publication_views>> views;
  std::vector<channel_subscribe_result> subs;
  for (auto& s : w->subs) {
    if (!s.ok) continue;
    auto& v = views.emplace_back(std::make_unique<publication_views>(s.result.publications));
    subscribe_result sr;
    const bool history = !s.result.position.epoch.empty();
    sr.recoverable = history;
    sr.positioned = history;
    sr.epoch = s.result.position.epoch;
    sr.offset = s.result.position.offset;
    sr.was_recovering = s.since.has_value();
    sr.recovered = s.since.has_value() && s.result.recovered;
    sr.publications = v->pubs;
    subs.push_back({s.channel, sr});
    if (s.since.has_value()) {
      (s.result.recovered ? home().stats.recoveries : home().stats.recoveries_failed).add();
    }
  }
  connect_result cr;
  cr.client = info_.client_id;
  cr.version = opt.version;
  cr.expires = w->expires;
  cr.ttl = w->ttl;
  cr.subs = subs;
  cr.ping = static_cast<std::uint32_t>(opt.ping_interval.count() / 1000);
  cr.pong = cr.ping > 0 && pongs_expected_;
  cr.session = session_id_;
  cr.node = opt.node_name;
  reply([&](std::string& out) { encode_connect_reply(out, w->id, cr); });
  arm_ping();
}

void session::hub_subscribe(std::string channel, hub::credential cred, shared_payload chan_info,
                            std::optional<hub::stream_position> since, bool server_side,
                            std::function<void(hub::subscribe_result)> done) {
  subs_.push_back({channel, true, server_side});
  hub::subscribe_request req;
  req.channel = channel;
  req.cred = cred;
  req.chan_info = std::move(chan_info);
  req.recover_since = std::move(since);
  std::weak_ptr<session> weak = weak_from_this();
  node_.hub().shard_at(shard_).subscribe(
      *this, req, [weak, channel, done = std::move(done)](hub::subscribe_result res) {
        auto self = weak.lock();
        if (!self || self->state_ == state::closed) return;
        subscription* s = self->find(channel);
        if (s == nullptr) return;  // unsubscribed meanwhile
        if (res.err == hub::error::ok) s->pending = false;
        else self->forget(channel);
        done(std::move(res));
      });
}

void session::on_subscribe(std::uint32_t id, const subscribe_request& r) {
  if (find(r.channel) != nullptr) return error_reply(id, error_code::already_subscribed);
  if (subs_.size() >= node_.options().max_channels_per_client)
    return error_reply(id, error_code::limit_exceeded);
  hub::credential cred = cred_;
  shared_payload chan_info;
  std::int64_t sub_expire = 0;
  if (!r.token.empty()) {
    subscribe_grant g;
    auth_status st = node_.auth()
                         ? node_.auth()->verify_subscribe(r.token, r.channel, info_.user_id, g)
                         : auth_status::invalid;
    if (st == auth_status::expired) return error_reply(id, error_code::token_expired);
    if (st != auth_status::ok) return disconnect(disconnects::invalid_token);
    cred = hub::credential::subscription_token;
    if (!g.info_json.empty()) chan_info = shared_payload::copy_of(g.info_json);
    if (g.expire_at) sub_expire = *g.expire_at;
  }
  std::optional<hub::stream_position> since;
  if (r.recover) since = hub::stream_position{r.offset, std::string(r.epoch)};
  const bool recovering = r.recover;
  const std::int64_t now = node_.auth() ? node_.auth()->now_unix() : 0;
  hub_subscribe(std::string(r.channel), cred, std::move(chan_info), std::move(since), false,
                [this, id, recovering, sub_expire, now](hub::subscribe_result res) {
                  if (res.err != hub::error::ok) return error_reply(id, to_error_code(res.err));
                  publication_views v(res.publications);
                  subscribe_result sr;
                  const bool history = !res.position.epoch.empty();
                  sr.recoverable = history;
                  sr.positioned = history;
                  sr.epoch = res.position.epoch;
                  sr.offset = res.position.offset;
                  sr.was_recovering = recovering;
                  sr.recovered = recovering && res.recovered;
                  sr.publications = v.pubs;
                  if (sub_expire != 0) {
                    sr.expires = true;
                    sr.ttl = ttl_from(sub_expire, now);
                  }
                  if (recovering) {
                    (res.recovered ? home().stats.recoveries : home().stats.recoveries_failed).add();
                  }
                  reply([&](std::string& out) { encode_subscribe_reply(out, id, sr); });
                });
}

void session::on_unsubscribe(std::uint32_t id, const unsubscribe_request& r) {
  if (find(r.channel) != nullptr) {
    node_.hub().shard_at(shard_).unsubscribe(*this, r.channel);
    forget(r.channel);
  }
  reply([&](std::string& out) { encode_unsubscribe_reply(out, id); });
}

void session::on_publish(std::uint32_t id, const publish_request& r) {
  hub::publish_request req;
  req.channel = r.channel;
  req.data = shared_payload::copy_of(r.data);
  hub::client_info who = info_;
  if (const subscription* s = find(r.channel); s == nullptr) who.chan_info = {};
  req.info = std::move(who);
  req.cred = cred_;
  std::weak_ptr<session> weak = weak_from_this();
  node_.hub().publish(std::move(req), &exec(), [weak, id](hub::publish_result res) {
    auto self = weak.lock();
    if (!self || self->state_ != state::connected) return;
    if (res.err != hub::error::ok) return self->error_reply(id, to_error_code(res.err));
    self->reply([&](std::string& out) { encode_publish_reply(out, id); });
  });
}

void session::on_presence(std::uint32_t id, const presence_request& r) {
  std::weak_ptr<session> weak = weak_from_this();
  node_.hub().presence(r.channel, cred_, &exec(), [weak, id](hub::presence_result res) {
    auto self = weak.lock();
    if (!self || self->state_ != state::connected) return;
    if (res.err != hub::error::ok) return self->error_reply(id, to_error_code(res.err));
    std::vector<client_info> clients;
    clients.reserve(res.clients.size());
    for (const auto& c : res.clients) clients.push_back(view_of(c));
    self->reply([&](std::string& out) { encode_presence_reply(out, id, clients); });
  });
}

void session::on_presence_stats(std::uint32_t id, const presence_stats_request& r) {
  std::weak_ptr<session> weak = weak_from_this();
  node_.hub().presence_stats(r.channel, cred_, &exec(), [weak, id](hub::presence_stats_result res) {
    auto self = weak.lock();
    if (!self || self->state_ != state::connected) return;
    if (res.err != hub::error::ok) return self->error_reply(id, to_error_code(res.err));
    const presence_stats_result r{static_cast<std::uint32_t>(res.num_clients),
                                  static_cast<std::uint32_t>(res.num_users)};
    self->reply([&](std::string& out) { encode_presence_stats_reply(out, id, r); });
  });
}

void session::on_history(std::uint32_t id, const history_request& r) {
  hub::history_query q;
  q.limit = r.limit;
  q.reverse = r.reverse;
  if (r.has_since) q.since = hub::stream_position{r.since.offset, std::string(r.since.epoch)};
  std::weak_ptr<session> weak = weak_from_this();
  node_.hub().history(r.channel, q, cred_, &exec(), [weak, id](hub::history_result res) {
    auto self = weak.lock();
    if (!self || self->state_ != state::connected) return;
    if (res.err != hub::error::ok) return self->error_reply(id, to_error_code(res.err));
    publication_views v(res.pubs);
    history_result hr;
    hr.publications = v.pubs;
    hr.epoch = res.position.epoch;
    hr.offset = res.position.offset;
    self->reply([&](std::string& out) { encode_history_reply(out, id, hr); });
  });
}

void session::on_refresh(std::uint32_t id, const refresh_request& r) {
  connect_identity ident;
  auth_status st = node_.auth() ? node_.auth()->verify_connect(r.token, ident) : auth_status::invalid;
  if (st == auth_status::expired) return error_reply(id, error_code::token_expired);
  if (st != auth_status::ok || ident.user != info_.user_id)
    return disconnect(disconnects::invalid_token);
  refresh_result rr;
  rr.client = info_.client_id;
  rr.version = node_.options().version;
  if (ident.expire_at) {
    const std::int64_t now = node_.auth()->now_unix();
    if (*ident.expire_at <= now) return error_reply(id, error_code::token_expired);
    rr.expires = true;
    rr.ttl = ttl_from(*ident.expire_at, now);
    arm_expiry(*ident.expire_at);
  } else if (expiry_timer_ != 0) {
    exec().cancel(expiry_timer_);
    expiry_timer_ = 0;
    expire_at_ = 0;
  }
  reply([&](std::string& out) { encode_refresh_reply(out, id, rr); });
}

void session::on_sub_refresh(std::uint32_t id, const sub_refresh_request& r) {
  const subscription* s = find(r.channel);
  if (s == nullptr || s->pending) return error_reply(id, error_code::permission_denied);
  subscribe_grant g;
  auth_status st = node_.auth()
                       ? node_.auth()->verify_subscribe(r.token, r.channel, info_.user_id, g)
                       : auth_status::invalid;
  if (st == auth_status::expired) return error_reply(id, error_code::token_expired);
  if (st != auth_status::ok) return disconnect(disconnects::invalid_token);
  sub_refresh_result rr;
  if (g.expire_at) {
    rr.expires = true;
    rr.ttl = ttl_from(*g.expire_at, node_.auth()->now_unix());
  }
  reply([&](std::string& out) { encode_sub_refresh_reply(out, id, rr); });
}

// ---- server-side operations ------------------------------------------------------------------

bool session::server_subscribe(const std::string& channel) {
  if (state_ != state::connected || find(channel) != nullptr) return false;
  hub_subscribe(channel, hub::credential::server, {}, std::nullopt, true,
                [this, channel](hub::subscribe_result res) {
                  if (res.err != hub::error::ok) return;
                  subscribe_push sp;
                  const bool history = !res.position.epoch.empty();
                  sp.recoverable = history;
                  sp.positioned = history;
                  sp.epoch = res.position.epoch;
                  sp.offset = res.position.offset;
                  reply([&](std::string& out) { encode_subscribe_push(out, channel, sp); });
                });
  return true;
}

bool session::server_unsubscribe(std::string_view channel) {
  if (state_ != state::connected || find(channel) == nullptr) return false;
  node_.hub().shard_at(shard_).unsubscribe(*this, channel);
  reply([&](std::string& out) { encode_unsubscribe_push(out, channel, unsubscribe_code::server); });
  forget(channel);
  return true;
}

// ---- hub pushes ------------------------------------------------------------------------------

void session::deliver(const hub::delivery& d) {
  if (state_ != state::connected) return;
  const shared_payload& frame = d.frame(format_);
  if (direct_ws_ != nullptr) {
    direct_ws_->send_frame(frame);
  } else {
    transport_.write_framed(frame);
  }
  shard_state& h = home();
  h.stats.messages_out.add();
  h.stats.bytes_out.add(frame.size());
  if (d.kind() == hub::push_kind::publication) {
    h.stats.publications_out.add();
    const auto& observe = node_.options().observe_delivery_latency;
    if (observe && d.pub().published_us != 0 && (h.latency_sample++ & 63) == 0) {
      const std::uint64_t now = clock::now_us();
      observe(now > d.pub().published_us ? now - d.pub().published_us : 0);
    }
  }
  const std::size_t buffered =
      direct_ws_ != nullptr ? direct_ws_->buffered_amount() : transport_.buffered();
  if (buffered > node_.options().max_output_bytes) {
    node_.hub().shard_at(shard_).report_slow(*this, d.pub().channel);
  }
}

void session::prefetch(unsigned stage) const noexcept {
  if (direct_ws_ != nullptr) direct_ws_->prefetch_output(stage);
}

void session::on_slow(std::string_view channel, hub::slow_consumer_policy applied) {
  if (state_ != state::connected) return;
  if (applied == hub::slow_consumer_policy::drop) {
    home().stats.slow_drops.add();
    spdlog::info("slow consumer {}: dropped subscription to {}", info_.client_id, channel);
    std::string ch(channel);  // `channel` may point into the subscription being removed
    node_.hub().shard_at(shard_).unsubscribe(*this, ch);
    forget(ch);
    reply([&](std::string& out) {
      encode_unsubscribe_push(out, ch, unsubscribe_code::insufficient_state);
    });
    return;
  }
  home().stats.slow_disconnects.add();
  spdlog::info("slow consumer {}: disconnected ({} bytes unsent)", info_.client_id,
               transport_.buffered());
  disconnect(disconnects::slow);
}

// ---- timers ----------------------------------------------------------------------------------

void session::arm_ping() {
  const auto& opt = node_.options();
  if (opt.ping_interval.count() <= 0) return;
  ping_timer_ = exec().run_after(opt.ping_interval, [this] {
    ping_timer_ = 0;
    on_ping_timer();
  });
}

void session::on_ping_timer() {
  if (state_ != state::connected) return;
  const auto& opt = node_.options();
  if (awaiting_pong_) return disconnect(disconnects::no_pong);
  reply([&](std::string& out) { encode_server_ping(out); });
  if (!pongs_expected_) return arm_ping();  // unidirectional: nobody can answer
  awaiting_pong_ = true;
  // Check for the pong after pong_timeout, then ping again at the next interval.
  ping_timer_ = exec().run_after(opt.pong_timeout, [this] {
    ping_timer_ = 0;
    if (state_ != state::connected) return;
    if (awaiting_pong_) return disconnect(disconnects::no_pong);
    const auto& o = node_.options();
    const auto rest = o.ping_interval > o.pong_timeout ? o.ping_interval - o.pong_timeout
                                                       : std::chrono::milliseconds(1);
    ping_timer_ = exec().run_after(rest, [this] {
      ping_timer_ = 0;
      on_ping_timer();
    });
  });
}

void session::arm_expiry(std::int64_t expire_at) {
  if (expiry_timer_ != 0) exec().cancel(expiry_timer_);
  expire_at_ = expire_at;
  const std::int64_t now = node_.auth() ? node_.auth()->now_unix() : 0;
  const auto after = std::chrono::seconds(std::max<std::int64_t>(expire_at - now, 0));
  expiry_timer_ = exec().run_after(after, [this] {
    expiry_timer_ = 0;
    if (state_ == state::connected || state_ == state::connecting) disconnect(disconnects::expired);
  });
}

void session::cancel_timers() {
  for (timer_id* t : {&ping_timer_, &expiry_timer_, &stale_timer_}) {
    if (*t != 0) exec().cancel(*t);
    *t = 0;
  }
}

// ---- replies and closing ---------------------------------------------------------------------

std::string& session::reply_buffer() {
  if (in_frame_) return home().out;
  std::string& out = home().out;
  out.clear();
  return out;
}

void session::flush_reply(std::string& out) {
  if (in_frame_ || out.empty()) return;
  if (state_ == state::connected || state_ == state::connecting || state_ == state::initial) {
    transport_.write_message(out);
    home().stats.messages_out.add();
    home().stats.bytes_out.add(out.size());
  }
  out.clear();
}

void session::error_reply(std::uint32_t id, error_code c) {
  home().stats.errors.add();
  reply([&](std::string& out) { encode_error_reply(out, id, c); });
}

void session::bad_request(std::string_view why) {
  home().stats.bad_requests.add();
  spdlog::info("centrifuge client {}: bad request ({}), disconnecting",
               info_.client_id.empty() ? std::string_view("(not connected)") : info_.client_id, why);
  disconnect(disconnects::bad_request);
}

void session::disconnect(const centrifuge::disconnect& d) { disconnect(d.code, d.reason); }

void session::disconnect(std::uint32_t code, std::string_view reason) {
  if (state_ == state::closing || state_ == state::closed) return;
  // Replies batched so far in this frame go out before the close.
  if (in_frame_) {
    in_frame_ = false;
    flush_reply(home().out);
    in_frame_ = true;
  }
  state_ = state::closing;
  home().stats.disconnects.add();
  cancel_timers();
  transport_.close(code, reason);
}

void session::on_closed() {
  if (state_ == state::closed) return;
  state_ = state::closed;
  direct_ws_ = nullptr;
  cancel_timers();
  auto& hs = node_.hub().shard_at(shard_);
  // Copy: unsubscribe publishes leave events that may run code touching subs_.
  std::vector<subscription> subs = std::move(subs_);
  subs_.clear();
  for (const auto& s : subs) hs.unsubscribe(*this, s.channel);
  if (registered_) {
    shard_state& h = home();
    h.by_client.erase(info_.client_id);
    if (!info_.user_id.empty()) {
      auto [b, e] = h.by_user.equal_range(info_.user_id);
      for (auto it = b; it != e; ++it) {
        if (it->second == this) {
          h.by_user.erase(it);
          break;
        }
      }
    }
    registered_ = false;
  }
}

session::subscription* session::find(std::string_view channel) noexcept {
  for (auto& s : subs_) {
    if (s.channel == channel) return &s;
  }
  return nullptr;
}

void session::forget(std::string_view channel) noexcept {
  auto it = std::find_if(subs_.begin(), subs_.end(),
                         [&](const subscription& s) { return s.channel == channel; });
  if (it != subs_.end()) subs_.erase(it);
}

}  // namespace duplex::centrifuge
