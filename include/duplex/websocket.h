// duplex public API: WebSocket connections, handlers and options shared by server and client.
//
// Threading: every callback for a connection runs on the loop thread that owns it, and a
// `websocket&` may be used only on that thread, from on_open until on_close returns (after
// that the object is gone). To reach a connection from another thread, post to its loop
// (`websocket::post`) — never keep the reference across threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace duplex {

enum class message_type : std::uint8_t { text, binary };

// What happened to a send. Only `queued` means the bytes will be written.
enum class send_status : std::uint8_t {
  queued,   // in the output queue (buffered_amount() grew)
  dropped,  // over max_backpressure with policy drop: not queued, counted
  closed,   // the connection is closing or closed; nothing queued
};

// What to do when a connection's unsent output passes max_backpressure.
enum class backpressure_policy : std::uint8_t {
  close,  // close with 1008 (policy violation) and count it
  drop,   // refuse further sends (send_status::dropped) until the output drains
};

struct websocket_options {
  // Largest message accepted, after reassembly and inflation; larger -> close 1009.
  std::size_t max_message_size = 1u << 20;
  // Most frames in one fragmented message; more -> close 1009.
  std::size_t max_fragments = 4096;
  // Negotiate RFC 7692 permessage-deflate when the peer offers (server) / offer it (client).
  bool permessage_deflate = false;
  // Send a ping after this long without traffic; 0 disables.
  std::chrono::milliseconds ping_interval{25000};
  // Close (1001 going away on the server, 1006 locally) when nothing at all arrives for this
  // long; 0 disables. Should exceed ping_interval.
  std::chrono::milliseconds idle_timeout{60000};
  // After sending a close frame, wait this long for the peer's close, then drop the TCP link.
  std::chrono::milliseconds close_timeout{5000};
  // Unsent output allowed per connection before `on_backpressure` applies.
  std::size_t max_backpressure = 4u << 20;
  backpressure_policy on_backpressure = backpressure_policy::close;
  // Subprotocols this side supports, in preference order (server picks the first the client
  // offers; the client offers them all).
  std::vector<std::string> subprotocols;
  // Server only: if not empty, a handshake whose Origin is not listed is refused with 403.
  std::vector<std::string> allowed_origins;
  // Server only: the close frame sent to this endpoint's connections on server::stop().
  // A code that may not be sent (see websocket::close) is replaced by 1000.
  std::uint16_t shutdown_close_code = 1001;
  std::string shutdown_close_reason = "server shutting down";
};

// One WebSocket connection (server- or client-side). Created by the library; the reference
// passed to handlers is valid until on_close returns.
class websocket {
 public:
  virtual ~websocket() = default;

  // Queue one message. Text must be valid UTF-8 (not checked on send: the caller owns it).
  virtual send_status send(std::string_view data, message_type type = message_type::text) = 0;
  send_status send_binary(std::span<const std::byte> data) {
    return send(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()),
                message_type::binary);
  }
  // Ping with up to 125 bytes of payload (longer payloads are truncated to 125).
  virtual void ping(std::string_view payload = {}) = 0;
  // Start the closing handshake (RFC 6455 §7.1.2). Codes must be valid to send (1000, 1001,
  // 1003, 1007-1014, 3000-4999); an invalid one is replaced by 1000. The reason is cut to
  // 123 bytes. on_close fires when the handshake ends or close_timeout passes.
  virtual void close(std::uint16_t code = 1000, std::string_view reason = {}) = 0;
  // Drop the TCP connection now, without a closing handshake (on_close gets 1006).
  virtual void terminate() = 0;

  // Bytes queued and not yet taken by the kernel.
  virtual std::size_t buffered_amount() const = 0;
  // Negotiated subprotocol ("" if none) and extensions header value ("" if none).
  virtual std::string_view subprotocol() const = 0;
  virtual std::string_view extensions() const = 0;
  // Peer address as text, e.g. "127.0.0.1:53122".
  virtual std::string remote_address() const = 0;
  // Request path and query of the upgrade request (server side) or the URL's (client side).
  virtual std::string_view path() const = 0;

  // Runs fn later on this connection's loop thread; safe from any thread. fn does not receive
  // the connection: look it up again by your own id (it may have closed meanwhile).
  virtual void post(std::function<void()> fn) = 0;

  // Per-connection user data, owned by the caller.
  void* user_data = nullptr;
};

// Per-connection counters, also summed into the server/client totals.
struct websocket_stats {
  std::uint64_t messages_in = 0;
  std::uint64_t messages_out = 0;
  std::uint64_t compressed_frames_in = 0;
  std::uint64_t compressed_frames_out = 0;
  std::uint64_t backpressure_drops = 0;
  std::uint64_t backpressure_closes = 0;
};

// Handlers for one endpoint (server) or one connection (client). Unset ones are skipped.
struct websocket_handlers {
  std::function<void(websocket&)> on_open;
  // data is borrowed: valid only during the call (it may point into the receive buffer).
  std::function<void(websocket&, std::string_view data, message_type type)> on_message;
  // code: the peer's close code, 1005 if it sent none, 1006 if the link dropped without one.
  std::function<void(websocket&, std::uint16_t code, std::string_view reason)> on_close;
  // The output queue emptied after having been non-empty.
  std::function<void(websocket&)> on_drain;
  std::function<void(websocket&, std::string_view payload)> on_ping;
  std::function<void(websocket&, std::string_view payload)> on_pong;
};

}  // namespace duplex
