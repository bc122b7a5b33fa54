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

#include "base/prefetch.h"
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


// What the connections of one loop and endpoint (server) or one duplex::client share: the
// counters. (A server finds its live connections through the loop's streams: graceful stop.)
struct connection_home {
  connection_counters counters;
};

// Settings shared by the connections of one endpoint (server) or one connect() (client).
struct endpoint_config {
  // The endpoint's path (server): a connection whose request target equals it stores no
  // copy of its own; websocket::path() returns this one.
  std::string path;
  websocket_options options;
  websocket_handlers handlers;
  handshake_options handshake;       // server side
  ws::client_options client;         // client side: the request to send
  std::function<void(std::error_code, std::string_view)> on_error;  // client: failed to open
};

class connection final : public duplex::websocket,
                         public net::stream_handler,
                         private protocol_handler {
 public:
  // Server side: the 101 was written to `s`; the connection is open. Allocated here (it owns
  // itself): a path other than cfg.path is stored right after the object, in the same block.
  static connection* accept(net::stream& s, const endpoint_config& cfg, connection_home& home,
                            const accept_result& accepted, std::string_view path);
  // Client side: `s` is connecting; the handshake starts at on_connect. `cfg` must outlive the
  // connection (duplex::client keeps it).
  connection(net::stream& s, const endpoint_config& cfg, connection_home& home);
  ~connection() override;

  // Server side: calls on_open and arms the heartbeat. Client side: arms the connect timeout.
  void start(std::chrono::milliseconds connect_timeout = {});

  // duplex::websocket
  send_status send(std::string_view data, message_type type) override;
  void ping(std::string_view payload) override;
  void close(std::uint16_t code, std::string_view reason) override;
  void terminate() override;
  std::size_t buffered_amount() const override { return stream_->buffered_amount(); }
  std::string_view subprotocol() const override;
  std::string_view extensions() const override;
  std::string remote_address() const override { return stream_->remote_address(); }
  std::string_view path() const override;
  void post(std::function<void()> fn) override { stream_->owner().post(std::move(fn)); }

  // net::stream_handler
  void on_data(net::stream& s, std::span<std::byte> data) override;
  void on_drain(net::stream& s) override;
  void on_close(net::stream& s, std::error_code ec) override;
  void on_connect(net::stream& s) override;

  // Sends a close with `code` and drops the link if the peer does not answer within the
  // close timeout (server shutdown: 1001).
  void go_away(std::uint16_t code, std::string_view reason);
  connection_home& home() const noexcept { return home_; }

  // Queues a frame built once for many connections (protocol::make_frame, server side only),
  // sharing its bytes: the fan-out path. Unlike send(), it does not apply the backpressure
  // policy: the caller (a hub session) checks buffered_amount() against its own limit and
  // applies the namespace's slow-consumer policy. Counted as one message out.
  send_status send_frame(const shared_payload& frame);
  // Cache prefetch for a coming send_frame, one pointer hop per stage (hub::subscriber::
  // prefetch): 0 this object, then the stream's stages.
  void prefetch_output(unsigned stage) const noexcept {
    if (stage == 0) {
      prefetch_object(this);
    } else {
      stream_->prefetch_output(stage - 1);
    }
  }

  // The server-side connection behind a `websocket&` handed to a duplex::server handler.
  static connection& of(duplex::websocket& ws) noexcept { return static_cast<connection&>(ws); }

 private:
  struct trailing_bytes {
    std::size_t n;
  };
  connection(net::stream& s, const endpoint_config& cfg, connection_home& home,
             const accept_result& accepted, std::string_view path);

 public:
  // One block for the object and its stored path (see accept()); `delete this` frees both.
  static void* operator new(std::size_t size) { return ::operator new(size); }
  static void* operator new(std::size_t size, trailing_bytes extra) {
    return ::operator new(size + extra.n);
  }
  static void operator delete(void* p) noexcept { ::operator delete(p); }
  static void operator delete(void* p, trailing_bytes) noexcept { ::operator delete(p); }

 private:
  enum class phase : std::uint8_t { handshake, open, done };
  enum class timer_fn : std::uint8_t { heartbeat, terminate };
  struct client_handshake;
  struct extras;

  // protocol_handler
  void on_message(opcode op, std::span<const std::byte> payload) override;
  void on_ping(std::span<const std::byte> payload) override;
  void on_pong(std::span<const std::byte> payload) override;
  void on_close(std::uint16_t code, std::string_view reason) override;
  void on_fail(error e, std::uint16_t close_code) override;
  // output_sink
  void write(std::span<const std::byte> bytes) override { stream_->write(bytes); }
  void write(const shared_payload& frame) override { stream_->write(frame); }

  void open_protocol(const std::optional<deflate_params>& deflate);
  void feed(std::span<std::byte> data);
  void handshake_data(std::span<std::byte> data);
  void fail_handshake(std::error_code ec, std::string_view detail);
  void arm_heartbeat();
  void heartbeat();
  void arm_close_timer();
  void set_timer(std::chrono::milliseconds after, timer_fn fn);
  extras& get_extras();
  void drop_extras_if_empty() noexcept;
  void set_close(std::uint16_t code, std::string_view reason);

  // Memory: this object is most of an idle connection's cost (with net::stream and malloc's
  // overhead), so it holds only what every open connection needs; the rest is in `extras_`,
  // allocated only when there is something to keep (a path other than the endpoint's, a
  // subprotocol, extensions, a close reason, a client's handshake in progress), and a path
  // other than the endpoint's is stored after the object in the same block (accept()).
  // connection_test.cc pins the size.
  net::stream* stream_;
  const endpoint_config& cfg_;
  connection_home& home_;
  timer_id timer_ = 0;
  protocol protocol_;
  std::unique_ptr<extras> extras_;
  std::uint32_t last_rx_ms_ = 0;  // loop ms modulo 2^32: only differences are used
  std::uint16_t path_len_ = 0;    // bytes of the path stored after the object
  phase phase_ = phase::open;
  bool closing_tcp_ = false;
  timer_fn timer_fn_ = timer_fn::heartbeat;
};


// The std::error_code category of ws::error ("duplex.ws"), for client on_error callbacks.
const std::error_category& ws_category() noexcept;
inline std::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), ws_category()};
}

}  // namespace duplex::ws
