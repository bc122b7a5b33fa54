#include "server/sio_bridge.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/assert.h"
#include "sio/socket_access.h"

namespace duplex::service {

namespace {

using io::json;

// Pure (wire_format.h): 2["publication",{"channel":C,"data":D,"offset":N}] — a Socket.IO
// EVENT on namespace "/" without an ack id, the same bytes for every receiver.
shared_payload encode_publication_event(hub::push_kind kind, const hub::publication& p) {
  if (kind != hub::push_kind::publication) return shared_payload::allocate(0);  // not sent
  std::string out = "2[\"publication\",{\"channel\":";
  out += json(p.channel).dump();
  out += ",\"data\":";
  out.append(p.data.view());
  out += ",\"offset\":";
  out += std::to_string(p.offset);
  out += "}]";
  return shared_payload::copy_of(out);
}

json error_reply(std::string_view why) { return json{{"error", why}}; }

// The decoder bounds nesting (sio_limits::max_depth), so recursion is bounded too.
bool contains_binary(const json& v) {
  if (v.is_binary()) return true;
  if (!v.is_structured()) return false;
  return std::any_of(v.begin(), v.end(), [](const json& e) { return contains_binary(e); });
}

class sio_subscriber;

}  // namespace

// The subscribers (sockets) of one loop thread, for announce_possible_gap (loop thread only).
struct sio_bridge::loop_state {
  std::unordered_set<sio_subscriber*> live;
};

namespace {

struct bridge_ref {
  hub::channel_hub* hub;
  hub::wire_format format;
  const centrifuge::authenticator* auth;
  const sio_bridge_options* options;
  const std::vector<std::unique_ptr<sio_bridge::loop_state>>* loops;
};

// A re-subscribe after a broker gap that Redis refuses (its command link may come back a
// moment after the subscriber link) is retried this many times, 50 ms, 100 ms, ... apart
// (about 3 s in all); then the connection is closed so that the client reconnects and
// resubscribes from its positions.
constexpr unsigned max_restart_retries = 6;
constexpr std::chrono::milliseconds restart_backoff{50};

// One socket's subscriptions: a hub subscriber on the socket's thread, owned by the socket's
// handlers (made on connection, freed after its disconnect); listed in its loop's live set
// from construction to close().
class sio_subscriber final : public hub::subscriber {
 public:
  sio_subscriber(const bridge_ref& b, io::socket& s, hub::credential cred, std::string user)
      : b_(b), shard_(b.hub->shard_at(duplex::server::current_thread_index())), socket_(s),
        cred_(cred), home_(*(*b.loops)[shard_.index()]) {
    info_.client_id = s.id();
    info_.user_id = std::move(user);
    home_.live.insert(this);
  }

  void subscribe(const json& args, const io::ack_fn& ack) {
    std::string channel;
    std::optional<hub::stream_position> since;
    const json& a0 = args.empty() ? json() : args[0];
    if (a0.is_string()) {
      channel = a0.get<std::string>();
    } else if (a0.is_object() && a0.contains("channel") && a0["channel"].is_string()) {
      channel = a0["channel"].get<std::string>();
      auto off = a0.find("offset");
      auto ep = a0.find("epoch");
      if (off != a0.end() && off->is_number_unsigned() && ep != a0.end() && ep->is_string()) {
        since = hub::stream_position{off->get<std::uint64_t>(), ep->get<std::string>()};
      }
    } else {
      return reply(ack, error_reply("bad_request"));
    }
    if (find(channel) != nullptr) return reply(ack, error_reply("already_subscribed"));
    if (b_.options->max_channels != 0 && chans_.size() >= b_.options->max_channels) {
      return reply(ack, error_reply("too_many_channels"));
    }
    // Held (pending) from here on: close() unsubscribes it.
    chan& c = chans_.emplace_back();
    c.name = std::move(channel);
    c.pos = std::move(since);
    c.recovering = c.pos.has_value();
    c.ack = ack;
    subscribe_chan(c);
  }

  void unsubscribe(const json& args, const io::ack_fn& ack) {
    if (args.empty() || !args[0].is_string()) return reply(ack, error_reply("bad_request"));
    const std::string channel = args[0].get<std::string>();
    if (find(channel) == nullptr) return reply(ack, error_reply("not_subscribed"));
    std::erase_if(chans_, [&](const chan& c) { return c.name == channel; });
    shard_.unsubscribe(*this, channel);
    reply(ack, json{{"channel", channel}});
  }

  void publish(const json& args, const io::ack_fn& ack) {
    if (args.size() < 2 || !args[0].is_string()) return reply(ack, error_reply("bad_request"));
    hub::publish_request req;
    const std::string channel = args[0].get<std::string>();
    req.channel = channel;
    // Binary values have no JSON form for the other protocols: refused.
    if (contains_binary(args[1])) return reply(ack, error_reply("bad_request"));
    req.data = shared_payload::copy_of(args[1].dump(-1, ' ', false, json::error_handler_t::replace));
    req.info = info_;
    req.cred = cred_;
    std::weak_ptr<int> alive = alive_;
    b_.hub->publish(std::move(req), &shard_.exec(), [alive, ack, channel](hub::publish_result r) {
      if (alive.expired() || !ack) return;
      if (r.err != hub::error::ok) return ack({error_reply(hub::to_string(r.err))});
      ack({json{{"channel", channel}, {"offset", r.position.offset}}});
    });
  }

  // The broker may have lost publications (sio_bridge::announce_possible_gap). Each channel
  // with history is subscribed again from the last position this socket was given, so the
  // client gets what it missed as ordinary publication events, or a gap event first when
  // history cannot tell (new epoch); a channel without history gets gap "broker_reconnected"
  // at once. A subscribe in flight is redone too (it may have read history before the link
  // came back); its ack answers the redone one. The hub delivers nothing to a subscription
  // being re-made and everything after its position once it is done: no duplicate, in order.
  void on_possible_gap() {
    if (alive_ == nullptr) return;
    for (chan& c : chans_) {
      if (c.pending || c.pos) {
        shard_.unsubscribe(*this, c.name);  // not_subscribed when a refusal is on its way
        c.restarted = true;
        subscribe_chan(c);  // its callback is posted, never inline: chans_ stays as it is
      } else {
        emit_gap(c.name, "broker_reconnected", std::nullopt);
      }
    }
  }

  // The socket disconnected: leave every channel.
  void close() {
    home_.live.erase(this);
    for (const chan& c : chans_) shard_.unsubscribe(*this, c.name);
    chans_.clear();
    alive_.reset();
  }

  // hub::subscriber
  hub::wire_format format() const noexcept override { return b_.format; }
  const hub::client_info& client() const noexcept override { return info_; }
  void deliver(const hub::delivery& d) override {
    if (d.kind() != hub::push_kind::publication) return;
    const hub::publication& p = d.pub();
    if (io::buffered(socket_) > b_.options->max_output_bytes) {
      shard_.report_slow(*this, p.channel);  // drop: skipped; disconnect: on_slow
      return;
    }
    if (!p.epoch.empty()) {
      if (chan* c = find(p.channel)) c->pos = hub::stream_position{p.offset, p.epoch};
    }
    io::send_encoded(socket_, d.frame(b_.format).view());
  }
  void on_slow(std::string_view, hub::slow_consumer_policy applied) override {
    if (applied == hub::slow_consumer_policy::disconnect) {
      spdlog::info("socket.io client {}: slow consumer, disconnected", info_.client_id);
      socket_.close_transport();
    }
  }

 private:
  struct chan {
    std::string name;
    // With history: the last position given to the client (while pending: the one it asked
    // to recover from, if any). Without history: none.
    std::optional<hub::stream_position> pos;
    bool pending = true;
    bool recovering = false;    // the client's subscribe gave a position
    bool restarted = false;     // re-subscribed after a broker gap, not answered yet
    unsigned retries = 0;       // of that re-subscribe, refused with broker_unavailable
    std::uint64_t attempt = 0;  // the latest subscribe; older callbacks are ignored
    io::ack_fn ack;             // the client's subscribe, until answered
  };

  static void reply(const io::ack_fn& ack, json v) {
    if (ack) ack({std::move(v)});
  }
  chan* find(std::string_view name) noexcept {
    for (chan& c : chans_) {
      if (c.name == name) return &c;
    }
    return nullptr;
  }

  // Subscribes c from c.pos (recovering when it is set). A refusal is posted even when the
  // channel was unsubscribed meanwhile, so each callback checks that it is the latest.
  void subscribe_chan(chan& c) {
    c.pending = true;
    c.attempt = ++attempts_;
    hub::subscribe_request req;
    req.channel = c.name;
    req.cred = cred_;
    req.recover_since = c.pos;
    std::weak_ptr<int> alive = alive_;
    shard_.subscribe(*this, req, [this, alive, name = c.name, attempt = c.attempt](
                                     hub::subscribe_result r) {
      if (alive.expired()) return;
      chan* c = find(name);
      if (c != nullptr && c->attempt == attempt) on_subscribed(*c, std::move(r));
    });
  }

  void on_subscribed(chan& c, hub::subscribe_result r) {
    c.pending = false;
    if (r.err != hub::error::ok) {
      if (c.restarted) return on_restart_refused(c, r.err);
      const io::ack_fn ack = std::move(c.ack);
      const std::string name = c.name;
      std::erase_if(chans_, [&](const chan& x) { return x.name == name; });
      return reply(ack, error_reply(hub::to_string(r.err)));
    }
    const bool history = !r.position.epoch.empty();
    if (c.ack) {  // the client's subscribe (perhaps redone after a gap)
      json ok{{"channel", c.name}};
      if (history) {
        ok["offset"] = r.position.offset;
        ok["epoch"] = r.position.epoch;
      }
      if (c.recovering) ok["recovered"] = r.recovered;
      reply(std::exchange(c.ack, nullptr), std::move(ok));
    } else if (c.restarted && history && !r.recovered) {
      // The publications that follow continue from just before the tail history still holds
      // (the top when it holds none), in the epoch they carry.
      const hub::stream_position from =
          r.publications.empty() ? r.position
                                 : hub::stream_position{r.publications.front().offset - 1,
                                                        r.publications.front().epoch};
      const bool new_epoch = c.pos && c.pos->epoch != r.position.epoch;
      emit_gap(c.name, new_epoch ? "epoch_changed" : "history_exhausted", from);
    }
    c.restarted = false;
    c.retries = 0;
    c.pos = history ? std::optional<hub::stream_position>(r.position) : std::nullopt;
    // Recovered publications, oldest first, before any live one (the shard holds those until
    // this callback returns).
    for (const hub::publication& p : r.publications) {
      shared_payload e = encode_publication_event(hub::push_kind::publication, p);
      io::send_encoded(socket_, e.view());
    }
  }

  // A re-subscribe after a broker gap was refused: retried while Redis is coming back, else the
  // connection closes (the client reconnects and resubscribes from its positions). The channel
  // stays pending meanwhile, so a later gap or close() treats it as held.
  void on_restart_refused(chan& c, hub::error err) {
    c.pending = true;
    if (err == hub::error::broker_unavailable && c.retries < max_restart_retries) {
      std::weak_ptr<int> alive = alive_;
      const std::chrono::milliseconds delay = restart_backoff * (1u << c.retries++);
      spdlog::debug("socket.io client {}: re-subscribe of {} refused ({}), retrying in {} ms",
                    info_.client_id, c.name, hub::to_string(err), delay.count());
      shard_.exec().run_after(delay, [this, alive, name = c.name, attempt = c.attempt] {
        if (alive.expired()) return;
        chan* x = find(name);
        if (x != nullptr && x->attempt == attempt) subscribe_chan(*x);
      });
      return;
    }
    spdlog::info("socket.io client {}: cannot subscribe {} again after a broker gap ({}); "
                 "disconnected so that it resubscribes from its positions",
                 info_.client_id, c.name, hub::to_string(err));
    socket_.close_transport();
  }

  // gap({channel, reason[, offset, epoch]}): publications of the channel were (or may have
  // been) lost; offset/epoch: where the publications that follow continue from.
  void emit_gap(const std::string& channel, std::string_view reason,
                const std::optional<hub::stream_position>& from) {
    json g{{"channel", channel}, {"reason", reason}};
    if (from) {
      g["offset"] = from->offset;
      g["epoch"] = from->epoch;
    }
    socket_.emit("gap", json::array({std::move(g)}));
  }

  bridge_ref b_;
  hub::shard& shard_;
  io::socket& socket_;
  hub::credential cred_;
  sio_bridge::loop_state& home_;
  hub::client_info info_;
  std::vector<chan> chans_;
  std::uint64_t attempts_ = 0;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace

hub::wire_format sio_bridge::register_format(hub::format_registry& registry) {
  return registry.add("socketio/publication", encode_publication_event);
}

sio_bridge::sio_bridge(hub::channel_hub& hub, hub::wire_format format,
                       const centrifuge::authenticator* auth, sio_bridge_options options)
    : hub_(hub), format_(format), auth_(auth), options_(std::move(options)) {
  loops_.reserve(hub_.shard_count());
  for (std::size_t i = 0; i < hub_.shard_count(); ++i) {
    loops_.push_back(std::make_unique<loop_state>());
  }
}

sio_bridge::~sio_bridge() = default;

void sio_bridge::announce_possible_gap() {
  for (std::size_t i = 0; i < loops_.size(); ++i) {
    loop_state* st = loops_[i].get();
    hub_.shard_at(i).exec().post([st] {
      // Copied first, and each checked again: a socket may go away meanwhile.
      const std::vector<sio_subscriber*> all(st->live.begin(), st->live.end());
      for (sio_subscriber* s : all) {
        if (st->live.contains(s)) s->on_possible_gap();
      }
    });
  }
}

void sio_bridge::attach(io::server& io) {
  const bridge_ref b{&hub_, format_, auth_, &options_, &loops_};
  io::namespace_& ns = io.of("/");
  // Authentication: the token in the auth payload, checked like a Centrifugo connection token.
  ns.use([b](io::socket& s, io::next_fn next) {
    const json& auth = s.handshake().auth;
    auto token = auth.find("token");
    if (token == auth.end() || !token->is_string() || token->get_ref<const std::string&>().empty()) {
      if (!b.options->anonymous) return next(io::connect_error{"unauthorized", {}});
      s.data["__cred"] = static_cast<int>(hub::credential::anonymous);
      return next(std::nullopt);
    }
    if (b.auth == nullptr) return next(io::connect_error{"invalid token", {}});
    centrifuge::connect_identity id;
    switch (b.auth->verify_connect(token->get_ref<const std::string&>(), id)) {
      case centrifuge::auth_status::ok: break;
      case centrifuge::auth_status::expired: return next(io::connect_error{"token expired", {}});
      case centrifuge::auth_status::invalid: return next(io::connect_error{"invalid token", {}});
    }
    s.data["__cred"] = static_cast<int>(hub::credential::authenticated);
    s.data["__user"] = id.user;
    next(std::nullopt);
  });
  ns.on_connection([b](io::socket& s) {
    const auto cred = static_cast<hub::credential>(s.data.value("__cred", 0));
    std::string user = s.data.value("__user", std::string());
    s.data.erase("__cred");
    s.data.erase("__user");
    auto sub = std::make_shared<sio_subscriber>(b, s, cred, std::move(user));
    s.on("subscribe", [sub](io::socket&, const json& args, io::ack_fn ack) { sub->subscribe(args, ack); });
    s.on("unsubscribe", [sub](io::socket&, const json& args, io::ack_fn ack) { sub->unsubscribe(args, ack); });
    s.on("publish", [sub](io::socket&, const json& args, io::ack_fn ack) { sub->publish(args, ack); });
    s.on_disconnect([sub](io::socket&, std::string_view) { sub->close(); });
  });
}

}  // namespace duplex::service
