#include "server/sio_bridge.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <string>
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

struct bridge_ref {
  hub::channel_hub* hub;
  hub::wire_format format;
  const centrifuge::authenticator* auth;
  const sio_bridge_options* options;
};

// One socket's subscriptions: a hub subscriber on the socket's thread, owned by the socket's
// handlers (made on connection, freed after its disconnect).
class sio_subscriber final : public hub::subscriber {
 public:
  sio_subscriber(const bridge_ref& b, io::socket& s, hub::credential cred, std::string user)
      : b_(b), shard_(b.hub->shard_at(duplex::server::current_thread_index())), socket_(s),
        cred_(cred) {
    info_.client_id = s.id();
    info_.user_id = std::move(user);
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
    if (holds(channel)) return reply(ack, error_reply("already_subscribed"));
    if (b_.options->max_channels != 0 && channels_.size() >= b_.options->max_channels) {
      return reply(ack, error_reply("too_many_channels"));
    }
    channels_.push_back(channel);  // held (pending) from here on: close() unsubscribes it
    hub::subscribe_request req;
    req.channel = channel;
    req.cred = cred_;
    req.recover_since = since;
    std::weak_ptr<int> alive = alive_;
    shard_.subscribe(*this, req, [this, alive, channel, ack, recovering = since.has_value()](
                                     hub::subscribe_result r) {
      if (alive.expired()) return;
      if (r.err != hub::error::ok) {
        std::erase(channels_, channel);
        return reply(ack, error_reply(hub::to_string(r.err)));
      }
      json ok{{"channel", channel}};
      if (!r.position.epoch.empty()) {
        ok["offset"] = r.position.offset;
        ok["epoch"] = r.position.epoch;
      }
      if (recovering) ok["recovered"] = r.recovered;
      reply(ack, std::move(ok));
      // Recovered publications, oldest first, before any live one (the shard holds those
      // until this callback returns).
      for (const hub::publication& p : r.publications) {
        shared_payload e = encode_publication_event(hub::push_kind::publication, p);
        io::send_encoded(socket_, e.view());
      }
    });
  }

  void unsubscribe(const json& args, const io::ack_fn& ack) {
    if (args.empty() || !args[0].is_string()) return reply(ack, error_reply("bad_request"));
    const std::string channel = args[0].get<std::string>();
    if (!holds(channel)) return reply(ack, error_reply("not_subscribed"));
    std::erase(channels_, channel);
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

  // The socket disconnected: leave every channel.
  void close() {
    for (const std::string& c : channels_) shard_.unsubscribe(*this, c);
    channels_.clear();
    alive_.reset();
  }

  // hub::subscriber
  hub::wire_format format() const noexcept override { return b_.format; }
  const hub::client_info& client() const noexcept override { return info_; }
  void deliver(const hub::delivery& d) override {
    if (d.kind() != hub::push_kind::publication) return;
    if (io::buffered(socket_) > b_.options->max_output_bytes) {
      shard_.report_slow(*this, d.pub().channel);  // drop: skipped; disconnect: on_slow
      return;
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
  static void reply(const io::ack_fn& ack, json v) {
    if (ack) ack({std::move(v)});
  }
  bool holds(const std::string& c) const {
    return std::find(channels_.begin(), channels_.end(), c) != channels_.end();
  }

  bridge_ref b_;
  hub::shard& shard_;
  io::socket& socket_;
  hub::credential cred_;
  hub::client_info info_;
  std::vector<std::string> channels_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace

hub::wire_format sio_bridge::register_format(hub::format_registry& registry) {
  return registry.add("socketio/publication", encode_publication_event);
}

sio_bridge::sio_bridge(hub::channel_hub& hub, hub::wire_format format,
                       const centrifuge::authenticator* auth, sio_bridge_options options)
    : hub_(hub), format_(format), auth_(auth), options_(std::move(options)) {}

void sio_bridge::attach(io::server& io) {
  const bridge_ref b{&hub_, format_, auth_, &options_};
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
