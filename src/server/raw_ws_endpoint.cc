#include "server/raw_ws_endpoint.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <unordered_set>
#include <utility>
#include <vector>

#include "base/assert.h"
#include "server/events_endpoint.h"
#include "ws/connection.h"
#include "ws/frame.h"
#include "ws/protocol.h"

namespace duplex::service {

namespace {

// Pure (wire_format.h): the data as one text frame, the same bytes for every receiver.
shared_payload encode_text_frame(hub::push_kind kind, const hub::publication& p) {
  if (kind != hub::push_kind::publication) return shared_payload::allocate(0);  // not sent
  return ws::protocol::make_frame(ws::opcode::text, p.data.bytes());
}

// Close codes of refusals: 4000 + the HTTP status /events gives for the same request.
std::uint16_t refusal_code(int http_status) {
  return static_cast<std::uint16_t>(4000 + std::clamp(http_status, 400, 499));
}

class raw_session;

}  // namespace

// The open connections of one loop thread, for announce_possible_gap (loop thread only).
struct raw_ws_endpoint::loop_state {
  std::unordered_set<raw_session*> live;
};

namespace {

struct endpoint_ref {
  hub::channel_hub* hub;
  hub::wire_format format;
  const centrifuge::authenticator* auth;
  const raw_ws_options* options;
  const std::vector<std::unique_ptr<raw_ws_endpoint::loop_state>>* loops;
};

// One /ws connection: a hub subscriber on its loop thread. Owned by the connection's user_data
// from on_open to on_close; listed in its loop's live set for that time.
class raw_session final : public hub::subscriber {
 public:
  raw_session(const endpoint_ref& ep, std::size_t shard, duplex::websocket& ws)
      : ep_(ep), shard_(ep.hub->shard_at(shard)), ws_(ws), home_(*(*ep.loops)[shard]) {
    home_.live.insert(this);
  }

  void open() {
    std::string_view target = ws_.path();
    const std::size_t q = target.find('?');
    const std::string_view query =
        q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
    channel_query cq;
    std::string why;
    if (!parse_channel_query(query, cq, why)) return close(refusal_code(400), why);
    channel_admission a = admit_channels(cq, ep_.hub->namespaces(), ep_.auth,
                                         ep_.options->anonymous, ep_.options->max_channels);
    if (a.status != 200) return close(refusal_code(a.status), a.reason);
    cred_ = a.cred;
    info_.client_id = new_connection_id();
    info_.user_id = std::move(a.user);
    if (!a.info_json.empty()) info_.conn_info = shared_payload::copy_of(a.info_json);
    channels_ = std::move(cq.channels);
    subscribed_.assign(channels_.size(), false);
    std::weak_ptr<int> alive = alive_;
    for (std::size_t i = 0; i < channels_.size(); ++i) {
      hub::subscribe_request req;
      req.channel = channels_[i];
      req.cred = cred_;
      subscribed_[i] = true;  // held (pending) from here on: on_closed unsubscribes it
      shard_.subscribe(*this, req, [this, alive, i](hub::subscribe_result r) {
        if (alive.expired() || closing_) return;
        if (r.err != hub::error::ok) {
          subscribed_[i] = false;
          close(4500,
                fmt::format("subscription to {} failed: {}", channels_[i], hub::to_string(r.err)));
        }
      });
    }
  }

  void on_message(std::string_view data, message_type type) {
    if (closing_ || channels_.empty()) return;
    if (type != message_type::text) return close(1003, "binary frames are not supported");
    hub::publish_request req;
    req.channel = channels_.front();
    if (nlohmann::json::accept(data)) {
      req.data = shared_payload::copy_of(data);
    } else {
      // Text frames are valid UTF-8 (RFC 6455 §8.1, checked by the ws layer), so this is a
      // faithful JSON string of the text.
      req.data = shared_payload::copy_of(
          nlohmann::json(std::string(data))
              .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    req.info = info_;
    req.cred = cred_;
    std::weak_ptr<int> alive = alive_;
    ep_.hub->publish(std::move(req), &shard_.exec(), [this, alive](hub::publish_result r) {
      if (alive.expired() || closing_ || r.err == hub::error::ok) return;
      if (r.err == hub::error::permission_denied) return close(1008, "publish not allowed");
      spdlog::info("ws client {}: publish failed: {}", info_.client_id, hub::to_string(r.err));
    });
  }

  // The broker may have lost publications for this connection (raw_ws_endpoint.h, "Broker
  // gap"); it cannot resume, so it is told to reconnect.
  void on_possible_gap() {
    if (closing_) return;
    spdlog::debug("ws client {}: closed with 1012 after the broker link was restored",
                  info_.client_id);
    close(1012, "publications may have been missed: reconnect");
  }

  // The connection is gone: leave every channel. The caller deletes the session after this.
  void on_closed() {
    home_.live.erase(this);
    closing_ = true;
    for (std::size_t i = 0; i < channels_.size(); ++i) {
      if (subscribed_[i]) shard_.unsubscribe(*this, channels_[i]);
    }
    alive_.reset();
  }

  // hub::subscriber
  hub::wire_format format() const noexcept override { return ep_.format; }
  const hub::client_info& client() const noexcept override { return info_; }

  void deliver(const hub::delivery& d) override {
    if (closing_ || d.kind() != hub::push_kind::publication) return;
    if (ws_.buffered_amount() > ep_.options->max_output_bytes) {
      shard_.report_slow(*this, d.pub().channel);  // drop: skipped; disconnect: on_slow closes
      return;
    }
    ws::connection::of(ws_).send_frame(d.frame(ep_.format));
  }

  void on_slow(std::string_view, hub::slow_consumer_policy applied) override {
    if (applied == hub::slow_consumer_policy::disconnect && !closing_) {
      spdlog::info("ws client {}: slow consumer, disconnected ({} bytes unsent)", info_.client_id,
                   ws_.buffered_amount());
      close(1013, "slow consumer");
    }
  }

 private:
  void close(std::uint16_t code, std::string_view reason) {
    if (closing_) return;
    closing_ = true;
    ws_.close(code, reason);
  }

  endpoint_ref ep_;
  hub::shard& shard_;
  duplex::websocket& ws_;
  raw_ws_endpoint::loop_state& home_;
  hub::client_info info_;
  hub::credential cred_ = hub::credential::anonymous;
  std::vector<std::string> channels_;
  std::vector<bool> subscribed_;  // held in the hub (subscribed or pending)
  bool closing_ = false;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // guards posted hub callbacks
};

}  // namespace

hub::wire_format raw_ws_endpoint::register_format(hub::format_registry& registry) {
  return registry.add("raw-ws/text", encode_text_frame);
}

raw_ws_endpoint::raw_ws_endpoint(hub::channel_hub& hub, hub::wire_format format,
                                 const centrifuge::authenticator* auth, raw_ws_options options)
    : hub_(hub), format_(format), auth_(auth), options_(std::move(options)) {
  loops_.reserve(hub_.shard_count());
  for (std::size_t i = 0; i < hub_.shard_count(); ++i) {
    loops_.push_back(std::make_unique<loop_state>());
  }
}

raw_ws_endpoint::~raw_ws_endpoint() = default;

void raw_ws_endpoint::announce_possible_gap() {
  for (std::size_t i = 0; i < loops_.size(); ++i) {
    loop_state* st = loops_[i].get();
    hub_.shard_at(i).exec().post([st] {
      // Copied first, and each checked again: a close may end other sessions' lifetimes.
      const std::vector<raw_session*> all(st->live.begin(), st->live.end());
      for (raw_session* s : all) {
        if (st->live.contains(s)) s->on_possible_gap();
      }
    });
  }
}

void raw_ws_endpoint::add_to(duplex::server& srv, std::string path, websocket_options ws) {
  ws.max_backpressure = std::max(ws.max_backpressure, 2 * options_.max_output_bytes);
  const endpoint_ref ep{&hub_, format_, auth_, &options_, &loops_};
  websocket_handlers h;
  h.on_open = [ep](duplex::websocket& ws) {
    const std::size_t shard = duplex::server::current_thread_index();
    DUPLEX_ASSERT(shard < ep.hub->shard_count());
    auto* s = new raw_session(ep, shard, ws);
    ws.user_data = s;
    s->open();
  };
  h.on_message = [](duplex::websocket& ws, std::string_view data, message_type type) {
    if (auto* s = static_cast<raw_session*>(ws.user_data)) s->on_message(data, type);
  };
  h.on_close = [](duplex::websocket& ws, std::uint16_t, std::string_view) {
    auto* s = static_cast<raw_session*>(ws.user_data);
    if (s == nullptr) return;
    ws.user_data = nullptr;
    s->on_closed();
    delete s;
  };
  srv.websocket(std::move(path), std::move(ws), std::move(h));
}

}  // namespace duplex::service
