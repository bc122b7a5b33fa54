// ws::connection: one WebSocket connection on a net::stream, server or client side. It joins
// the sans-I/O ws::protocol to the socket: bytes from the stream go to protocol::feed, frames
// from the protocol go to the stream's output queue, and the protocol's events go to the
// application's duplex::websocket_handlers.
//
// It also owns what the protocol does not: backpressure (websocket_options::max_backpressure
// and its policy), heartbeats (ping_interval, idle_timeout), the close timeout, counters, and
// for clients the opening handshake (request, response parsing and validation).
//
// Lifetime: created by the server's upgrade route (ws/server.cc) or by duplex::client
// (ws/client.cc); deletes itself after its stream's on_close (STYLE.md rule 15): the
// application's on_close runs first, and the `websocket&` is gone once it returns.
// Thread safety: the loop thread that owns the stream, only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "duplex/websocket.h"
#include "http/response_parser.h"
#include "net/stream.h"
#include "ws/handshake.h"
#include "ws/protocol.h"

namespace duplex::ws {

class connection;

// Counters summed per loop (server) or per client; plain integers, loop thread only.
struct connection_counters {
  websocket_stats ws;
  std::uint64_t opened = 0;
  std::uint64_t closed = 0;
  std::uint64_t failed = 0;  // protocol violations by the peer (close 1002/1007/1009...)
  std::uint64_t timeouts = 0;  // idle and close timeouts
};

// The live connections of one loop, for graceful shutdown. Intrusive: 16 bytes per connection.
class connection_list {
 public:
  void add(connection* c) noexcept;
  void remove(connection* c) noexcept;
  template <class Fn>
  void for_each(Fn&& fn);
  std::size_t size() const noexcept { return size_; }

 private:
  connection* head_ = nullptr;
  std::size_t size_ = 0;
};

// Settings shared by the connections of one endpoint (server) or one connect() (client).
struct endpoint_config {
  websocket_options options;
  websocket_handlers handlers;
  handshake_options handshake;       // server side
  ws::client_options client;         // client side: the request to send
  std::function<void(std::error_code, std::string_view)> on_error;  // client: failed to open
};

class connection final : public duplex::websocket,
                         public net::stream_handler,
                         private protocol_handler,
                         private output_sink {
 public:
  // Server side: the 101 was written to `s`; the connection is open.
  connection(net::stream& s, const endpoint_config& cfg, connection_counters& counters,
             connection_list* list, const accept_result& accepted, std::string_view path);
  // Client side: `s` is connecting; the handshake starts at on_connect. `cfg` must outlive the
  // connection (duplex::client keeps it).
  connection(net::stream& s, const endpoint_config& cfg, connection_counters& counters,
             connection_list* list);
  ~connection() override;

  // Server side: calls on_open and arms the heartbeat. Client side: arms the connect timeout.
  void start(std::chrono::milliseconds connect_timeout = {});

  // duplex::websocket
  send_status send(std::string_view data, message_type type) override;
  void ping(std::string_view payload) override;
  void close(std::uint16_t code, std::string_view reason) override;
  void terminate() override;
  std::size_t buffered_amount() const override { return stream_->buffered_amount(); }
  std::string_view subprotocol() const override { return subprotocol_; }
  std::string_view extensions() const override { return extensions_; }
  std::string remote_address() const override { return stream_->remote_address(); }
  std::string_view path() const override { return path_; }
  void post(std::function<void()> fn) override { stream_->owner().post(std::move(fn)); }

  // net::stream_handler
  void on_data(net::stream& s, std::span<std::byte> data) override;
  void on_drain(net::stream& s) override;
  void on_close(net::stream& s, std::error_code ec) override;
  void on_connect(net::stream& s) override;

  // Sends a close with `code` and drops the link if the peer does not answer within the
  // close timeout (server shutdown: 1001).
  void go_away(std::uint16_t code, std::string_view reason);

 private:
  friend class connection_list;
  enum class phase : std::uint8_t { handshake, open, done };

  // protocol_handler
  void on_message(opcode op, std::span<const std::byte> payload) override;
  void on_ping(std::span<const std::byte> payload) override;
  void on_pong(std::span<const std::byte> payload) override;
  void on_close(std::uint16_t code, std::string_view reason) override;
  void on_fail(error e, std::uint16_t close_code) override;
  // output_sink
  void write(std::span<const std::byte> bytes) override { stream_->write(bytes); }
  void write(shared_payload frame) override { stream_->write(std::move(frame)); }

  void open_protocol(const std::optional<deflate_params>& deflate);
  void feed(std::span<std::byte> data);
  void handshake_data(std::span<std::byte> data);
  void fail_handshake(std::error_code ec, std::string_view detail);
  void arm_heartbeat();
  void heartbeat();
  void arm_close_timer();
  void set_timer(std::chrono::milliseconds after, void (connection::*fn)());

  net::stream* stream_;
  const endpoint_config& cfg_;
  connection_counters& counters_;
  connection_list* list_;
  connection* prev_ = nullptr;  // connection_list links
  connection* next_ = nullptr;
  std::optional<protocol> protocol_;
  std::unique_ptr<http::response_parser> response_;  // client, during the handshake
  std::string handshake_key_;                       // client, during the handshake
  std::string spill_;                               // client, handshake bytes so far
  std::string subprotocol_;
  std::string extensions_;
  std::string path_;
  timer_id timer_ = 0;
  std::uint64_t last_rx_ms_ = 0;
  std::uint16_t close_code_ = 1006;  // reported to on_close: the peer's code, or ours on failure
  std::string close_reason_;
  phase phase_ = phase::open;
  bool closing_tcp_ = false;
  bool compress_ = false;
};

template <class Fn>
void connection_list::for_each(Fn&& fn) {
  for (connection* c = head_; c != nullptr;) {
    connection* next = c->next_;
    fn(*c);
    c = next;
  }
}

// The std::error_code category of ws::error ("duplex.ws"), for client on_error callbacks.
const std::error_category& ws_category() noexcept;
inline std::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), ws_category()};
}

}  // namespace duplex::ws
