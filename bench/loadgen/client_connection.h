// client_connection: one client connection of the load generator. Usually a WebSocket client
// (RFC 6455 client role): non-blocking connect, the opening handshake (§4.1, validated with
// ws/handshake.h), masked data frames out (§5.3), unmasked frames in. Two receive modes:
//   - echo: every data message must equal the next message sent (payload_pattern), checked as
//     it streams in, without a copy;
//   - messages: every text message is handed to the handler whole (on_message), for the
//     scenarios that speak a protocol over the connection (fanout, subscribed connections).
// Or, started with start_http(), an HTTP streaming client: it sends one request and reads the
// streaming response with a stream_reader (SSE or newline-delimited JSON), handing each event
// to on_stream_event; it never sends anything else. The WebSocket read path pays one pointer
// test per read for this.
//
// Threading: single-threaded; owned by client_pool, driven from its epoll loop.
// The connection never destroys itself: failures set state::failed and notify the handler;
// the pool closes the socket after the event is handled.
#pragma once

#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "byte_buffer.h"
#include "http/response_parser.h"
#include "mask_source.h"
#include "payload_pattern.h"
#include "stream_reader.h"
#include "ws/frame.h"
#include "ws/handshake.h"

namespace duplex::bench {

class client_connection;

// Events of a connection. Called from client_pool::poll() only.
class connection_handler {
 public:
  virtual ~connection_handler() = default;
  // The 101 was received and validated; data frames may be sent.
  virtual void on_open(client_connection& c) = 0;
  // A complete data message came back and its bytes equal the next message sent.
  virtual void on_echo(client_connection& c, std::uint64_t now) = 0;
  // The connection failed (`why` is static text); it is closed after this returns.
  virtual void on_failed(client_connection& c, const char* why) = 0;
  // receive_mode::messages only: a complete text message. `text` is valid during the call
  // only. The handler may queue_text() and flush() on `c` from here.
  virtual void on_message(client_connection& c, std::string_view text, std::uint64_t now) {}
  // HTTP streaming connections only: one event of the response (stream_sink::on_stream_event
  // says what `name` and `data` hold). Valid during the call only.
  virtual void on_stream_event(client_connection& c, std::string_view name, std::string_view data,
                               std::uint64_t now) {}
};

enum class receive_mode : std::uint8_t { echo, messages };

class client_connection {
 public:
  enum class state : std::uint8_t { connecting, handshaking, open, failed, closed };

  // Largest message accepted in receive_mode::messages (several pushes may share a frame).
  static constexpr std::uint64_t max_message_bytes = 16u << 20;

  // `pattern` and `masks` are shared by all connections and outlive them.
  client_connection(std::uint32_t index, const payload_pattern& pattern, bool binary,
                    mask_source& masks, receive_mode mode = receive_mode::echo)
      : index_(index), pattern_(&pattern), masks_(&masks), binary_(binary), mode_(mode) {}
  ~client_connection();
  client_connection(const client_connection&) = delete;
  client_connection& operator=(const client_connection&) = delete;

  // Starts a non-blocking connect from `source` (its port chosen by connect(), so each source
  // address gives ~28k ports per destination) to `target` and registers with `epfd`
  // (edge-triggered, data.u32 = index). false with errno-based text in `err` on failure.
  bool start(int epfd, const sockaddr_in& source, const sockaddr_in& target,
             const ws::client_options& options, std::string& err);
  // The same connect, for an HTTP streaming client: sends `request` (a whole HTTP/1.1 request),
  // then reads the response as `format`. on_open fires when the 200 head is in.
  bool start_http(int epfd, const sockaddr_in& source, const sockaddr_in& target,
                  std::string request, stream_format format, std::string& err);

  // Handles epoll `events`; `rx` is the loop-wide receive buffer (borrowed for this call).
  void on_events(std::uint32_t events, std::span<std::byte> rx, connection_handler& h,
                 std::uint64_t now);

  // Appends the next data message, masked with a fresh key (RFC 6455 §5.3). Sent by flush().
  void queue_message();
  // Appends one text frame carrying `text` (valid UTF-8), masked likewise. Sent by flush().
  // Not counted in sent()/in_flight(), which are about echo messages.
  void queue_text(std::string_view text);
  // Sends what is queued; on EAGAIN the rest goes when the socket is writable again.
  void flush(connection_handler& h);
  bool has_output() const noexcept { return !out_.empty(); }

  void close() noexcept;
  // Fails the connection from outside: a scenario found the server's message wrong (`why` is
  // static text). `h` is told (on_failed) as for any failure; the pool closes it afterwards.
  void abort(connection_handler& h, const char* why) { fail(h, why); }
  state current() const noexcept { return state_; }
  // True once the handshake succeeded (stays true after a later failure).
  bool was_opened() const noexcept { return opened_; }
  std::uint32_t index() const noexcept { return index_; }
  std::uint64_t sent() const noexcept { return tx_seq_; }
  std::uint64_t echoed() const noexcept { return rx_seq_; }
  // Data messages received (echoes, messages in receive_mode::messages, or stream events).
  std::uint64_t received() const noexcept { return rx_seq_; }
  // HTTP streaming connections: the reader (heartbeats, ignored fields); null for WebSocket.
  const stream_reader* stream() const noexcept { return stream_.get(); }

  // Messages sent whose echo has not come back yet.
  std::uint32_t in_flight() const noexcept { return static_cast<std::uint32_t>(tx_seq_ - rx_seq_); }

 private:
  void fail(connection_handler& h, const char* why);
  bool open_socket(int epfd, const sockaddr_in& source, const sockaddr_in& target,
                   std::string& err);
  void on_connected(connection_handler& h);
  void read_stream(std::span<const std::byte> in, connection_handler& h, std::uint64_t now);
  void read_handshake(std::span<std::byte> rx, connection_handler& h, std::uint64_t now);
  void read_frames(std::span<const std::byte> in, connection_handler& h, std::uint64_t now);
  bool take_payload(std::span<const std::byte> chunk, connection_handler& h);
  void finish_frame(connection_handler& h, std::uint64_t now);
  void queue_frame(ws::opcode op, std::span<const std::byte> payload);

  std::uint32_t index_;
  int fd_ = -1;
  state state_ = state::connecting;
  const payload_pattern* pattern_;
  mask_source* masks_;
  bool binary_;
  receive_mode mode_;
  bool want_write_ = false;
  bool opened_ = false;

  // Handshake only; released once open.
  struct handshake_state {
    std::string request;
    std::size_t request_sent = 0;
    std::string key;
    std::string received;
    http::response_parser parser;
    ws::client_options options;
  };
  std::unique_ptr<handshake_state> hs_;

  // Frame reader: a header split across reads is kept in hdr_ (at most 13 bytes).
  std::array<std::byte, ws::max_frame_header_size> hdr_{};
  std::uint8_t hdr_len_ = 0;
  bool in_payload_ = false;
  bool in_message_ = false;      // a fragmented data message is open
  ws::frame_header frame_{};
  std::uint64_t frame_left_ = 0;
  std::uint64_t message_off_ = 0;  // bytes of the current data message received so far
  std::array<std::byte, ws::max_control_payload> control_{};
  std::uint8_t control_len_ = 0;

  std::uint64_t tx_seq_ = 0, rx_seq_ = 0;
  byte_buffer out_;
  // receive_mode::messages: a message split across reads or frames, until its last byte.
  std::string partial_;
  // HTTP streaming connections only (start_http); kept after a failure for its counters.
  std::unique_ptr<stream_reader> stream_;
};

}  // namespace duplex::bench
