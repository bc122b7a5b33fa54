#include "server/events_endpoint.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <nlohmann/json.hpp>
#include <random>
#include <unordered_set>
#include <utility>

#include "base/assert.h"
#include "http/message.h"
#include "http/query.h"
#include "http/cors.h"
#include "http/response.h"
#include "http/server_connection.h"
#include "hub/namespace_options.h"
#include "server/event_id.h"
#include "sse/event_stream.h"

namespace duplex::service {

// ---- request checks ---------------------------------------------------------------------------

namespace {

// A channel name as it may appear in a one-line reason: printable ASCII, else '?'.
std::string printable(std::string_view s) {
  std::string out;
  const std::size_t n = std::min<std::size_t>(s.size(), 300);
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?');
  if (s.size() > n) out += "...";
  return out;
}

}  // namespace

bool parse_channel_query(std::string_view query, channel_query& out, std::string& why) {
  out = {};
  std::string value;
  std::size_t pos = 0;
  while (pos < query.size()) {
    std::size_t amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    const std::string_view pair = query.substr(pos, amp - pos);
    pos = amp + 1;
    const std::size_t eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    if (key != "channel" && key != "token") continue;
    const std::string_view raw =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (!http::form_decode(raw, value)) {
      why = fmt::format("malformed percent-encoding in the {} parameter", key);
      return false;
    }
    if (key == "channel")
      out.channels.push_back(std::move(value));
    else
      out.token = std::move(value);
    value = {};
  }
  return true;
}

channel_admission admit_channels(const channel_query& q, const hub::namespace_table& namespaces,
                                 const centrifuge::authenticator* auth, bool anonymous_allowed,
                                 std::size_t max_channels) {
  channel_admission a;
  auto refuse = [&a](int status, std::string why) {
    a.status = status;
    a.reason = std::move(why);
    return a;
  };
  if (q.channels.empty()) return refuse(400, "no channel: add ?channel=<name> to the URL");
  if (q.channels.size() > max_channels) {
    return refuse(
        400, fmt::format("too many channels ({}, at most {})", q.channels.size(), max_channels));
  }
  // The credential first: the subscribe rules below are judged against it.
  if (!q.token.empty()) {
    centrifuge::connect_identity id;
    const auto st =
        auth != nullptr ? auth->verify_connect(q.token, id) : centrifuge::auth_status::invalid;
    if (st == centrifuge::auth_status::expired) return refuse(401, "token expired");
    if (st != centrifuge::auth_status::ok) return refuse(401, "invalid token");
    if (id.expire_at && auth != nullptr && *id.expire_at <= auth->now_unix()) {
      return refuse(401, "token expired");
    }
    a.user = std::move(id.user);
    a.info_json = std::move(id.info_json);
    a.expire_at = id.expire_at;
    a.cred = a.user.empty() ? hub::credential::anonymous : hub::credential::authenticated;
  } else if (!anonymous_allowed) {
    return refuse(401, "token required (anonymous connections are off)");
  }
  for (std::size_t i = 0; i < q.channels.size(); ++i) {
    const std::string& c = q.channels[i];
    if (std::find(q.channels.begin(), q.channels.begin() + static_cast<std::ptrdiff_t>(i), c) !=
        q.channels.begin() + static_cast<std::ptrdiff_t>(i)) {
      return refuse(400, fmt::format("duplicate channel \"{}\"", printable(c)));
    }
    const hub::namespace_options* opts = nullptr;
    hub::channel_error why = hub::channel_error::ok;
    switch (hub::resolve_channel(namespaces, c, &opts, &why)) {
      case hub::error::ok:
        break;
      case hub::error::unknown_namespace:
        return refuse(404, fmt::format("unknown namespace in channel \"{}\"", printable(c)));
      default:
        return refuse(
            400, fmt::format("bad channel name \"{}\": {}", printable(c), hub::to_string(why)));
    }
    if (!hub::allows(opts->subscribe, a.cred)) {
      return refuse(403,
                    fmt::format("permission denied: may not subscribe to \"{}\"", printable(c)));
    }
  }
  return a;
}

std::string new_connection_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uint64_t hi = rng(), lo = rng();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi >> 32, (hi >> 16) & 0xffff,
                     hi & 0xffff, lo >> 48, lo & 0xffffffffffffULL);
}

// ---- /events ----------------------------------------------------------------------------------

namespace {

// The shared event of one publication: "[id: <offset>:<epoch>\n]event: <channel>\ndata: ...\n\n".
// Pure (wire_format.h): the same bytes for every receiver.
shared_payload encode_event(hub::push_kind kind, const hub::publication& p, bool with_id) {
  if (kind != hub::push_kind::publication) return shared_payload::allocate(0);  // not sent
  std::string id;
  if (with_id && !p.epoch.empty()) {
    append_event_id_entry(id, hub::stream_position{p.offset, p.epoch});
  }
  std::string out;
  out.reserve(sse::event_size(p.data.view(), id, p.channel));
  sse::append_event(out, p.data.view(), id, p.channel);
  return shared_payload::copy_of(out);
}

class events_session;

}  // namespace

struct events_endpoint::loop_state {
  hub::channel_hub& hub;
  hub::shard& shard;
  const events_formats& formats;
  const centrifuge::authenticator* auth;
  const events_options& options;
  std::unordered_set<events_session*> live;  // loop thread only
  http::date_cache dates;                    // loop thread only
  std::atomic<std::size_t> count{0};         // written by the loop thread, read anywhere
};

namespace {

// One /events stream: a hub subscriber on its connection's loop thread. Owns itself; deleted
// when its stream closes (on_response_closed).
class events_session final : public hub::subscriber, public sse::response_owner {
 public:
  events_session(events_endpoint::loop_state& home, channel_admission&& a,
                 std::vector<std::string> channels)
      : home_(home), cred_(a.cred), multi_(channels.size() > 1) {
    format_ = multi_ ? home.formats.without_id : home.formats.with_id;
    info_.client_id = new_connection_id();
    info_.user_id = std::move(a.user);
    if (!a.info_json.empty()) info_.conn_info = shared_payload::copy_of(a.info_json);
    chans_.reserve(channels.size());
    for (auto& c : channels) chans_.push_back(chan{std::move(c)});
    home_.live.insert(this);
    home_.count.fetch_add(1, std::memory_order_relaxed);
    expire_at_ = a.expire_at;
  }

  // `since`: the decoded Last-Event-ID (nullopt: none); `lost`: one was sent but is unusable.
  void start(sse::stream_response* r, const std::optional<std::vector<event_position>>& since,
             bool lost) {
    resp_ = r;
    if (expire_at_ && home_.auth != nullptr) {
      // The connection token's expiry ends the stream; the EventSource's reconnect with the
      // same (expired) token is then refused with 401, which stops it.
      const std::int64_t left = std::max<std::int64_t>(*expire_at_ - home_.auth->now_unix(), 0);
      expiry_timer_ = home_.shard.exec().run_after(std::chrono::seconds(left), [this] {
        expiry_timer_ = 0;
        end();
      });
    }
    for (std::size_t i = 0; i < chans_.size(); ++i) {
      chan& c = chans_[i];
      if (since) c.pos = (*since)[i];
      c.lost = lost;
      subscribe_chan(i);
    }
  }

  // The broker may have lost publications (events_endpoint::announce_possible_gap). Each
  // channel with history is subscribed again from the last position the client was given, so
  // it gets what it missed, or a :gap when history cannot tell (new epoch); a channel without
  // history has nothing to recover from and gets a :gap "broker_reconnected" at once. The
  // hub delivers nothing to a subscription being re-made, and everything after its position
  // once it is done, so the stream stays in order and without duplicates.
  void on_possible_gap() {
    if (closing_ || resp_ == nullptr) return;
    for (std::size_t i = 0; i < chans_.size(); ++i) {
      chan& c = chans_[i];
      if (c.pending || (c.subscribed && c.pos)) {
        // A subscribe in flight may have read history before the link came back: redone too.
        // unsubscribe may answer not_subscribed (a refusal on its way, or a retry pending).
        home_.shard.unsubscribe(*this, c.name);
        c.subscribed = false;
        c.lagging = false;  // the recovery covers what the drop policy skipped
        c.restarted = true;
        subscribe_chan(i);
      } else if (c.subscribed) {
        write_gap(c, "broker_reconnected");
      }
    }
  }

  // Server stop (or token expiry): end the body; the EventSource reconnects elsewhere/later.
  void end() {
    if (closing_ || resp_ == nullptr) return;
    closing_ = true;
    resp_->close();
  }

  // hub::subscriber
  hub::wire_format format() const noexcept override { return format_; }
  const hub::client_info& client() const noexcept override { return info_; }

  void deliver(const hub::delivery& d) override {
    if (closing_ || d.kind() != hub::push_kind::publication) return;
    const hub::publication& p = d.pub();
    chan* c = find(p.channel);
    if (c == nullptr || !c->subscribed) return;
    const std::size_t limit = home_.options.max_output_bytes;
    if (c->lagging) {
      if (resp_->buffered() > limit / 2) return;  // still draining: this one is dropped too
      c->lagging = false;
      write_gap(*c, "slow_consumer");  // id = the last position written: a reconnect recovers
    }
    if (resp_->buffered() > limit) {
      home_.shard.report_slow(*this, c->name);  // on_slow: lagging, or the stream is aborted
      return;
    }
    if (!p.epoch.empty()) c->pos = hub::stream_position{p.offset, p.epoch};
    if (multi_ && !p.epoch.empty()) {
      std::string line = "id: ";
      line += current_id();
      line += '\n';
      resp_->write(std::string_view(line));
    }
    resp_->write(d.frame(format_));
  }

  void on_slow(std::string_view channel, hub::slow_consumer_policy applied) override {
    if (closing_) return;
    if (applied == hub::slow_consumer_policy::drop) {
      if (chan* c = find(channel)) c->lagging = true;
      spdlog::info("sse client {}: slow consumer, dropping publications of {}", info_.client_id,
                   channel);
      return;
    }
    spdlog::info("sse client {}: slow consumer, disconnected ({} bytes unsent)", info_.client_id,
                 resp_->buffered());
    closing_ = true;
    resp_->stream().abort();  // on_response_closed follows at the end of this loop turn
  }

  // sse::response_owner
  void on_response_closed() override {
    closing_ = true;
    if (expiry_timer_ != 0) home_.shard.exec().cancel(expiry_timer_);
    for (const chan& c : chans_) {
      if (c.pending || c.subscribed) home_.shard.unsubscribe(*this, c.name);
    }
    home_.live.erase(this);
    home_.count.fetch_sub(1, std::memory_order_relaxed);
    delete this;
  }

 private:
  struct chan {
    std::string name;
    event_position pos;  // last position the client was given (or its Last-Event-ID's)
    bool pending = false;
    bool subscribed = false;
    bool lagging = false;  // slow consumer (drop policy): publications skipped until drained
    bool lost = false;     // the client sent an unusable Last-Event-ID
    bool restarted = false;     // re-subscribed after a broker gap, not answered yet
    unsigned retries = 0;       // of that re-subscribe, refused with broker_unavailable
    std::uint64_t attempt = 0;  // the latest subscribe; older callbacks are ignored
  };

  // A re-subscribe after a broker gap that Redis refuses (its command link may come back a
  // moment after the subscriber link) is retried this many times, 50 ms, 100 ms, ... apart
  // (about 3 s in all); then the stream ends and the EventSource reconnects with its
  // Last-Event-ID, which still holds the position before the gap.
  static constexpr unsigned max_restart_retries = 6;
  static constexpr std::chrono::milliseconds restart_backoff{50};

  // Subscribes channel i from c.pos (recovering when it is set). A refusal is posted even when
  // the channel was unsubscribed meanwhile, so each callback checks that it is the latest.
  void subscribe_chan(std::size_t i) {
    chan& c = chans_[i];
    c.pending = true;
    const std::uint64_t attempt = ++c.attempt;
    hub::subscribe_request req;
    req.channel = c.name;
    req.cred = cred_;
    req.recover_since = c.pos;
    std::weak_ptr<int> alive = alive_;
    home_.shard.subscribe(*this, req, [this, alive, i, attempt](hub::subscribe_result res) {
      if (alive.expired() || chans_[i].attempt != attempt) return;
      on_subscribed(i, std::move(res));
    });
  }

  // A re-subscribe after a broker gap was refused. The channel stays pending meanwhile (so a
  // later gap or the stream's end treats it as held; unsubscribing it is harmless).
  void on_restart_refused(std::size_t i, hub::error err) {
    chan& c = chans_[i];
    if (err == hub::error::broker_unavailable && c.retries < max_restart_retries) {
      c.pending = true;
      const std::uint64_t attempt = c.attempt;
      std::weak_ptr<int> alive = alive_;
      const std::chrono::milliseconds delay = restart_backoff * (1u << c.retries++);
      spdlog::debug("sse client {}: re-subscribe of {} refused ({}), retrying in {} ms",
                    info_.client_id, c.name, hub::to_string(err), delay.count());
      home_.shard.exec().run_after(delay, [this, alive, i, attempt] {
        if (alive.expired() || closing_) return;
        if (chans_[i].attempt == attempt) subscribe_chan(i);
      });
      return;
    }
    spdlog::info("sse client {}: cannot subscribe {} again after a broker gap ({}); the stream "
                 "ends so that the client resumes from its Last-Event-ID",
                 info_.client_id, c.name, hub::to_string(err));
    end();
  }

  chan* find(std::string_view name) noexcept {
    for (chan& c : chans_) {
      if (c.name == name) return &c;
    }
    return nullptr;
  }

  std::string current_id() const {
    std::vector<event_position> p;
    p.reserve(chans_.size());
    for (const chan& c : chans_) p.push_back(c.pos);
    return encode_event_id(p);
  }

  void write_event(std::string_view event, std::string_view data) {
    std::string out;
    sse::append_event(out, data, current_id(), event);
    resp_->write(std::string_view(out));
  }

  void write_gap(const chan& c, std::string_view reason) {
    nlohmann::json j = {{"channel", c.name}, {"reason", reason}};
    if (c.pos) {
      j["offset"] = c.pos->offset;
      j["epoch"] = c.pos->epoch;
    }
    write_event(":gap", j.dump());
  }

  void on_subscribed(std::size_t i, hub::subscribe_result r) {
    if (closing_) return;
    chan& c = chans_[i];
    c.pending = false;
    if (r.err != hub::error::ok && c.restarted) return on_restart_refused(i, r.err);
    c.restarted = false;
    c.retries = 0;
    if (r.err != hub::error::ok) {
      write_event(":error",
                  nlohmann::json{{"channel", c.name}, {"error", hub::to_string(r.err)}}.dump());
      if (std::none_of(chans_.begin(), chans_.end(),
                       [](const chan& x) { return x.pending || x.subscribed; })) {
        end();
      }
      return;
    }
    c.subscribed = true;
    const bool history = !r.position.epoch.empty();
    const bool resuming = history && (c.pos.has_value() || c.lost);
    bool gap = false;
    if (resuming) {
      std::string_view reason;
      if (!c.pos)
        reason = "unknown_position";
      else if (!r.recovered)
        reason = r.position.epoch != c.pos->epoch ? "epoch_changed" : "history_exhausted";
      if (!reason.empty()) {
        gap = true;
        // Just before the tail that history still holds (so a reconnect right after this
        // event does not report the same gap again), or the top when nothing is left.
        c.pos = r.publications.empty() ? r.position
                                       : hub::stream_position{r.publications.front().offset - 1,
                                                              r.publications.front().epoch};
        write_gap(c, reason);
      }
    }
    for (const hub::publication& p : r.publications) {
      c.pos = hub::stream_position{p.offset, p.epoch};
      write_event(c.name, p.data.view());
    }
    if (history)
      c.pos = r.position;
    else
      c.pos.reset();
    nlohmann::json j = {{"channel", c.name}};
    if (history) {
      j["offset"] = r.position.offset;
      j["epoch"] = r.position.epoch;
    }
    if (resuming) j["recovered"] = !gap;
    write_event(":subscribed", j.dump());
    // The hub delivers what arrived during the subscribe right after this returns.
  }

  events_endpoint::loop_state& home_;
  sse::stream_response* resp_ = nullptr;
  hub::wire_format format_{};
  hub::client_info info_;
  hub::credential cred_;
  bool multi_;
  bool closing_ = false;
  std::optional<std::int64_t> expire_at_;
  timer_id expiry_timer_ = 0;
  std::vector<chan> chans_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // see start()
};

http::cors_policy cors_of(const events_options& o) {
  return http::cors_policy{.allowed_origins = o.allowed_origins, .methods = "GET, OPTIONS"};
}

std::string bearer_token(const http::request_head& req) {
  auto v = req.fields.find("Authorization");
  if (!v || v->size() < 7 || !http::iequals(v->substr(0, 7), "Bearer ")) return {};
  std::string_view t = v->substr(7);
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  return std::string(t);
}

// GET /events on one loop thread.
class events_target final : public http::route_target {
 public:
  explicit events_target(events_endpoint::loop_state& st) : st_(st) {}

  result handle(const http::request_head& req, std::string_view, std::string_view, net::stream& s,
                std::string& out, http::server_connection&) override {
    DUPLEX_ASSERT(st_.shard.exec().in_thread());
    const std::string_view date = st_.dates.get(std::chrono::system_clock::now());
    const std::optional<std::string_view> origin = req.fields.find("Origin");
    const http::cors_policy policy = cors_of(st_.options);
    const bool cors = origin.has_value() && http::cors_origin_allowed(policy, *origin);
    auto refuse = [&](int status, std::string_view why) {
      http::response_writer w(out);
      w.status(status);
      w.header("Date", date);
      w.header("Content-Type", "text/plain; charset=utf-8");
      w.header("Cache-Control", "no-store");
      if (cors) {
        w.header("Access-Control-Allow-Origin", *origin);
        w.header("Vary", "Origin");
      }
      w.body(std::string(why) + "\n");
      return result{result::kind::reply};
    };
    if (origin && !cors) return refuse(403, "origin not allowed");

    channel_query q;
    std::string why;
    if (!parse_channel_query(req.query(), q, why)) return refuse(400, why);
    if (q.token.empty()) q.token = bearer_token(req);
    channel_admission a = admit_channels(q, st_.hub.namespaces(), st_.auth, st_.options.anonymous,
                                         st_.options.max_channels);
    if (a.status != 200) return refuse(a.status, a.reason);

    std::optional<std::vector<event_position>> since;
    bool lost = false;
    if (auto last = sse::last_event_id(req); last && !last->empty()) {
      since = decode_event_id(*last, q.channels.size());
      lost = !since.has_value();
    }

    sse::response_options ro;
    ro.heartbeat = st_.options.heartbeat;
    ro.retry = st_.options.retry;
    if (cors) http::append_cors_headers(policy, *origin, ro.headers);
    auto* session = new events_session(st_, std::move(a), std::move(q.channels));
    sse::stream_response* r = sse::stream_response::start(s, ro, date, session);
    session->start(r, since, lost);
    return {result::kind::upgraded, r};
  }

 private:
  events_endpoint::loop_state& st_;
};

}  // namespace

events_formats events_endpoint::register_formats(hub::format_registry& registry) {
  events_formats f;
  f.with_id = registry.add("sse-events/with-id", [](hub::push_kind k, const hub::publication& p) {
    return encode_event(k, p, true);
  });
  f.without_id = registry.add(
      "sse-events/without-id",
      [](hub::push_kind k, const hub::publication& p) { return encode_event(k, p, false); });
  return f;
}

events_endpoint::events_endpoint(hub::channel_hub& hub, const events_formats& formats,
                                 const centrifuge::authenticator* auth, events_options options)
    : hub_(hub), formats_(formats), auth_(auth), options_(std::move(options)) {
  loops_.reserve(hub_.shard_count());
  for (std::size_t i = 0; i < hub_.shard_count(); ++i) {
    loops_.push_back(std::unique_ptr<loop_state>(
        new loop_state{hub_, hub_.shard_at(i), formats_, auth_, options_, {}, {}, {}}));
  }
}

events_endpoint::~events_endpoint() = default;

void events_endpoint::add_to(duplex::server& srv, std::string path) {
  const std::string path_copy = path;
  srv.internal_route("GET", std::move(path),
                     [this](std::size_t i) -> std::unique_ptr<http::route_target> {
                       DUPLEX_ASSERT(i < loops_.size());
                       return std::make_unique<events_target>(*loops_[i]);
                     });
  // Preflight: an EventSource polyfill that sends Authorization or Last-Event-ID as headers
  // from another origin asks first.
  srv.preflight(path_copy, options_.allowed_origins, "GET, OPTIONS");
  srv.on_stop([this] {
    for (auto& l : loops_) {
      loop_state* st = l.get();
      st->shard.exec().post([st] {
        std::vector<events_session*> all(st->live.begin(), st->live.end());
        for (events_session* s : all) s->end();
      });
    }
  });
}

void events_endpoint::announce_possible_gap() {
  for (auto& l : loops_) {
    loop_state* st = l.get();
    st->shard.exec().post([st] {
      // Copied first, and each checked again: a session may end (and be deleted) meanwhile.
      const std::vector<events_session*> all(st->live.begin(), st->live.end());
      for (events_session* s : all) {
        if (st->live.contains(s)) s->on_possible_gap();
      }
    });
  }
}

std::size_t events_endpoint::streams() const noexcept {
  std::size_t n = 0;
  for (const auto& l : loops_) n += l->count.load(std::memory_order_relaxed);
  return n;
}

}  // namespace duplex::service
