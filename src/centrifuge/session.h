// centrifuge::session: one client connection speaking the Centrifugo client protocol v2 (JSON)
// over some transport, and its subscriptions in the hub.
//
// The session is transport-agnostic: a WebSocket link (websocket_endpoint.h) or, later, an
// SSE/HTTP-streaming/emulation link implements `transport`. It parses each inbound frame with
// its shard's command_parser, answers commands (replies of one frame are batched into one
// outgoing message, '\n'-separated, as the protocol allows), and receives the hub's pushes
// as frames already encoded for its wire format (shared with every other subscriber).
//
// Protocol decisions (centrifugal.dev docs/transports/client_protocol.md, client_api.md,
// docs/server/codes.md):
// - The first command must be connect; anything else first, a second connect, malformed JSON
//   or an unknown command -> disconnect 3501 "bad request".
// - connect: a valid token gives the user, info, server-side subscriptions (`channels`) and
//   expiry; an expired token -> error 109 (the SDK refreshes it); an invalid one -> disconnect
//   3500. No token: anonymous when node_options::anonymous_connect, else 3501.
// - Pings: the server sends `{}` every ping_interval, the client answers `{}` (connect result
//   ping/pong); no answer within pong_timeout -> 3012 "no pong".
// - Subscriptions on namespaces with history are always positioned and recoverable: replies
//   carry offset and epoch; subscribe with `recover` replays from the hub's history and says
//   whether recovery was complete (`recovered`).
// - Slow consumer (output over node_options::max_output_bytes): the namespace's policy —
//   `drop`: unsubscribe push 2500 "insufficient state" (the SDK resubscribes and recovers);
//   `disconnect`: 3008 "slow".
// - rpc has no handler here: error 104 "method not found". send is accepted and ignored.
//
// Lifetime: owned by the transport's link through a shared_ptr; callbacks of asynchronous hub
// calls hold a weak_ptr, so a reply that arrives after the connection is gone is dropped.
// Thread safety: the loop thread of its shard only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/executor.h"
#include "base/shared_payload.h"
#include "centrifuge/codec/codes.h"
#include "centrifuge/codec/command.h"
#include "centrifuge/codec/reply_encoder.h"
#include "centrifuge/transport_kind.h"
#include "hub/shard.h"
#include "hub/subscriber.h"

namespace duplex::ws {
class connection;
}

namespace duplex::centrifuge {

class node;
struct shard_state;

// What a session writes to and closes.
class transport {
 public:
  // A push already encoded and framed for the session's wire format (shared bytes).
  virtual void write_framed(const shared_payload& frame) = 0;
  // One message of protocol JSON (replies, pushes made for this session only); the transport
  // frames it.
  virtual void write_message(std::string_view json) = 0;
  // Bytes written and not yet taken by the kernel.
  virtual std::size_t buffered() const = 0;
  // Ends the connection with a disconnect advice (WebSocket: close frame with code and
  // reason). The transport later calls session::on_closed().
  virtual void close(std::uint32_t code, std::string_view reason) = 0;

  // The WebSocket connection behind a plain WebSocket transport, else null: the fan-out path
  // (session::deliver) writes frames to it directly, without the virtual hop through this
  // object (one dependent cache miss per delivery fewer).
  ws::connection* direct_websocket() const noexcept { return direct_ws_; }

 protected:
  ~transport() = default;
  ws::connection* direct_ws_ = nullptr;
};

class session final : public hub::subscriber, public std::enable_shared_from_this<session> {
 public:
  // `shard` is the index of the loop thread the connection lives on; `kind` is counted in the
  // shard's stats (by_transport) for the session's lifetime.
  session(node& n, std::size_t shard, transport& t, hub::wire_format format,
          transport_kind kind = transport_kind::websocket);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  // Arms the stale timer (connect must arrive in time). Call once, after construction.
  void start();
  // Before the connect: the emulation session id, sent as the connect result's `session`
  // (with node_options::node_name as `node`); clients name it in their /emulation requests.
  void set_session_id(std::string id) { session_id_ = std::move(id); }
  // Before the connect: false for unidirectional transports, whose clients cannot answer
  // pings: pings are still sent (as liveness for the client), no pong is awaited, and the
  // connect result says `pong: false`. Default true.
  void set_pongs_expected(bool on) noexcept { pongs_expected_ = on; }
  // One inbound frame (a WebSocket text message, an emulation POST body).
  void on_frame(std::string_view frame);
  // The transport is gone: leaves every channel and the registry, cancels timers. No
  // transport call is made after this. Idempotent.
  void on_closed();
  // Sends the disconnect advice and closes the transport (once).
  void disconnect(const centrifuge::disconnect& d);
  void disconnect(std::uint32_t code, std::string_view reason);

  // Server-side subscribe/unsubscribe (server API). Return true when something changed.
  bool server_subscribe(const std::string& channel);
  bool server_unsubscribe(std::string_view channel);

  const std::string& client_id() const noexcept { return info_.client_id; }
  const std::string& user() const noexcept { return info_.user_id; }
  bool connected() const noexcept { return state_ == state::connected; }

  // hub::subscriber
  hub::wire_format format() const noexcept override { return format_; }
  const hub::client_info& client() const noexcept override { return info_; }
  void deliver(const hub::delivery& d) override;
  void on_slow(std::string_view channel, hub::slow_consumer_policy applied) override;
  void prefetch(unsigned stage) const noexcept override;

 private:
  enum class state : std::uint8_t { initial, connecting, connected, closing, closed };
  struct subscription {
    std::string channel;
    bool pending = true;       // subscribe in flight in the hub
    bool server_side = false;  // from the token's channels or the server API
  };
  struct connect_wait;  // a connect reply waiting for its server-side subscriptions

  void run(const command& c);
  void on_connect(std::uint32_t id, const connect_request& r);
  void on_subscribe(std::uint32_t id, const subscribe_request& r);
  void on_unsubscribe(std::uint32_t id, const unsubscribe_request& r);
  void on_publish(std::uint32_t id, const publish_request& r);
  void on_presence(std::uint32_t id, const presence_request& r);
  void on_presence_stats(std::uint32_t id, const presence_stats_request& r);
  void on_history(std::uint32_t id, const history_request& r);
  void on_refresh(std::uint32_t id, const refresh_request& r);
  void on_sub_refresh(std::uint32_t id, const sub_refresh_request& r);

  // Subscribes through the hub; done(result) runs on this thread unless the subscription was
  // removed first.
  void hub_subscribe(std::string channel, hub::credential cred, shared_payload chan_info,
                     std::optional<hub::stream_position> since, bool server_side,
                     std::function<void(hub::subscribe_result)> done);
  subscription* find(std::string_view channel) noexcept;
  void forget(std::string_view channel) noexcept;

  void finish_connect(const std::shared_ptr<connect_wait>& w);
  void arm_ping();
  void on_ping_timer();
  void arm_expiry(std::int64_t expire_at);
  void cancel_timers();

  // Replies: into the frame's batch while a frame is being processed, else sent at once.
  std::string& reply_buffer();
  void flush_reply(std::string& out);
  // One reply or push: encode(out) appends it to the frame's batch (or sends it at once).
  template <class Encode>
  void reply(Encode&& encode) {
    std::string& out = reply_buffer();
    append_separator(out);
    encode(out);
    flush_reply(out);
  }
  void error_reply(std::uint32_t id, error_code c);
  void bad_request(std::string_view why);

  executor& exec() const;
  shard_state& home() const;

  // What deliver() reads is kept at the front (one cache line with the vtable).
  node& node_;
  std::size_t shard_;
  transport& transport_;
  ws::connection* direct_ws_;  // transport_.direct_websocket(); null once closed
  hub::wire_format format_;
  state state_ = state::initial;
  transport_kind kind_;
  bool pongs_expected_ = true;
  std::string session_id_;
  hub::client_info info_;
  hub::credential cred_ = hub::credential::anonymous;
  bool in_frame_ = false;      // on_frame is running: replies go to the shard's batch
  bool awaiting_pong_ = false;
  bool registered_ = false;    // in the shard's by_client/by_user maps
  timer_id ping_timer_ = 0;
  timer_id expiry_timer_ = 0;
  timer_id stale_timer_ = 0;
  std::int64_t expire_at_ = 0;  // connection expiry (UNIX s), 0 = none
  std::vector<subscription> subs_;
};

// hub::error -> the client protocol's error code (one table: STYLE.md rule 11).
error_code to_error_code(hub::error e) noexcept;

}  // namespace duplex::centrifuge
