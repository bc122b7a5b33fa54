// ws::protocol: one WebSocket connection's frame-level state machine (RFC 6455 §5-§7, RFC 7692
// §6-§7), sans-I/O and usable by both ends. Bytes received go in through feed(); events come
// out through protocol_handler, and so do the bytes to send (its output_sink part). The
// session that owns the socket (ws/connection) plugs that interface into net::stream.
//
// Memory: a complete, uncompressed, single-frame message found entirely inside the buffer
// given to feed() is unmasked in place and delivered as a view into that buffer, with no
// copy. Only partial frames, fragmented messages and compressed messages are accumulated in
// a per-connection buffer, which is released when the message is delivered: an idle
// connection holds no receive buffer. zlib streams exist only when permessage-deflate was
// negotiated and are allocated on first use (ws/deflater.h, ws/inflater.h).
//
// Thread safety: none; a protocol belongs to its connection's loop thread.
// Re-entrancy: handler callbacks may call the send functions (send, ping, close, ...) but must
// not call feed() and must not destroy the protocol; mark the connection and reap it after
// feed() returns (STYLE.md rule 15).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "base/shared_payload.h"
#include "base/utf8.h"
#include "duplex/websocket.h"
#include "ws/close_code.h"
#include "ws/error.h"
#include "ws/frame.h"
#include "ws/permessage_deflate.h"

namespace duplex::ws {

class deflater;
class inflater;

enum class role : std::uint8_t {
  server,  // requires masked frames, sends unmasked (RFC 6455 §5.1)
  client,  // requires unmasked frames, masks each frame with a fresh random key
};

struct protocol_options {
  ws::role role = role::server;
  // Largest message delivered, after decompression. The frame's declared length is checked
  // against it before anything is buffered. 1 MiB is safe for a server facing the internet;
  // the echo server for Autobahn raises it to 16 MiB.
  std::size_t max_message_size = std::size_t{1} << 20;
  // Most frames one message may span (fragmentation flood protection): 1008 past it.
  std::size_t max_fragments = 1024;
  // The agreed permessage-deflate parameters, when negotiated in the handshake.
  std::optional<deflate_params> deflate;
  int compression_level = 1;
  int compression_mem_level = 8;
  // Reject text messages and close reasons that are not UTF-8 (RFC 6455 §8.1). Turn off only
  // when the application validates itself.
  bool validate_utf8 = true;
  // When set, compressed (RSV1) frames received and sent are counted here (not owned; the
  // connection's or the loop's counters).
  websocket_stats* stats = nullptr;
};

// Where the bytes to send go.
class output_sink {
 public:
  virtual ~output_sink() = default;
  // `bytes` is valid only during the call: copy what is kept.
  virtual void write(std::span<const std::byte> bytes) = 0;
  // A shared, immutable frame (broadcast): keep a reference instead of copying.
  virtual void write(const shared_payload& frame) = 0;
};

// Receives the events, and takes the bytes to send (one interface: one vtable pointer and one
// reference less per connection). Every span is valid only during the call (STYLE.md rule 16).
class protocol_handler : public output_sink {
 public:
  virtual ~protocol_handler() = default;
  // A complete text or binary message (op is opcode::text or opcode::binary). Text is valid
  // UTF-8 when validate_utf8 is set.
  virtual void on_message(opcode op, std::span<const std::byte> payload) = 0;
  // A ping; the protocol has already queued the pong with the same payload (§5.5.2).
  virtual void on_ping(std::span<const std::byte> /*payload*/) {}
  virtual void on_pong(std::span<const std::byte> /*payload*/) {}
  // The peer's close (code 1005 when its frame had no code). If we had not sent a close yet,
  // the protocol has echoed the code (§5.5.1). The state is now closed: flush, then close the
  // TCP connection (a server closes first, §7.1.1).
  virtual void on_close(std::uint16_t /*code*/, std::string_view /*reason*/) {}
  // The peer violated the protocol (_Fail the WebSocket Connection_, §7.1.7). A close frame
  // with `close_code` has been queued (unless we had already sent one); flush and close the
  // TCP connection. Nothing more is delivered after this.
  virtual void on_fail(error /*e*/, std::uint16_t /*close_code*/) {}
};

// Takes the bytes to send, in order.

enum class protocol_state : std::uint8_t {
  open,
  closing,  // we sent a close and wait for the peer's
  closed,   // closes exchanged (or the peer's received and echoed): close TCP after flushing
  failed,   // protocol violation: close TCP after flushing
};

class protocol {
 public:
  protocol(const protocol_options& options, protocol_handler& handler);
  ~protocol();
  protocol(const protocol&) = delete;
  protocol& operator=(const protocol&) = delete;

  // Processes received bytes. `data` is mutable: payloads are unmasked in place (it is
  // normally the loop's receive buffer). Returns the bytes consumed: all of them, except when
  // the connection failed or the peer's close arrived, after which the rest is ignored.
  // Bytes of an unfinished frame are copied as needed; `data` need not outlive the call.
  std::size_t feed(std::span<std::byte> data);

  // Sends one message in one frame (op is text or binary). compress applies when
  // permessage-deflate was negotiated. Returns false (nothing sent) unless the state is open.
  bool send(opcode op, std::span<const std::byte> payload, bool compress = false);
  bool send_text(std::string_view text, bool compress = false) {
    return send(opcode::text, std::as_bytes(std::span<const char>(text.data(), text.size())),
                compress);
  }
  // Sends one fragment of a message: `op` is the message's opcode (text or binary) on every
  // call; the protocol writes continuation frames after the first. Uncompressed.
  bool send_fragment(opcode op, std::span<const std::byte> payload, bool fin);
  // Queues a frame built by make_frame()/make_compressed_frame() (server role only: those are
  // unmasked). Returns false unless open.
  bool send_frame(const shared_payload& frame);
  // Whether send_frame() would queue now (open, no fragmented message being sent): for a
  // session that writes such frames to its socket itself (the fan-out path).
  bool can_send_frame() const noexcept {
    return state_ == protocol_state::open && !send_fragmented_;
  }
  // Payloads longer than 125 bytes are truncated (§5.5).
  bool ping(std::span<const std::byte> payload = {});
  bool pong(std::span<const std::byte> payload = {});
  // Starts the closing handshake (§7.1.2): sends a close with `code` (none if code is 1005)
  // and `reason` (truncated to 123 bytes). Afterwards no data frame is sent; received data is
  // still delivered until the peer's close arrives. Returns false unless open.
  bool close(std::uint16_t code = close_code::normal, std::string_view reason = {});

  // Turns permessage-deflate on after construction (a client learns the parameters from the
  // server's 101). Only before the first feed() or send.
  // `stats` as protocol_options::stats.
  void enable_deflate(const deflate_params& params, int level = 1, int mem_level = 8,
                      websocket_stats* stats = nullptr);

  protocol_state state() const noexcept { return state_; }
  ws::role role() const noexcept { return role_; }
  bool deflate_enabled() const noexcept { return dfl_ != nullptr; }
  // Bytes held for unfinished frames and messages (0 while idle).
  std::size_t buffered_bytes() const noexcept;

  // Builds a complete unmasked (server-role) frame once, to be queued on many connections
  // with send_frame().
  static shared_payload make_frame(opcode op, std::span<const std::byte> payload);
  // Same, compressed with `d`, which must reset per message (no_context_takeover) so that the
  // frame does not depend on any one connection's window; valid for connections that agreed
  // permessage-deflate with server_max_window_bits >= d's window. Empty on zlib failure.
  static shared_payload make_compressed_frame(opcode op, std::span<const std::byte> payload,
                                              deflater& d);

 private:
  // Receive state of an unfinished frame or message. It lives on feed()'s stack while bytes
  // are processed and moves to the heap only when a frame or message is left unfinished at
  // the end of a feed, so an idle connection holds none of it (see the memory note above).
  struct rx_state {
    std::array<std::byte, max_frame_header_size> header_buf{};
    std::uint8_t header_len = 0;  // bytes of a split header kept in header_buf
    bool in_frame = false;
    // The current message (data frames).
    bool msg_open = false;
    opcode msg_op = opcode::text;
    bool msg_compressed = false;
    utf8_validator utf8;
    frame_header frame{};
    std::uint64_t frame_offset = 0;  // payload bytes of the frame already seen
    std::size_t msg_fragments = 0;
    std::uint64_t msg_wire_size = 0;  // payload bytes received on the wire for this message
    std::vector<std::byte> message;   // spilled or inflated message
    std::vector<std::byte> control;   // a control frame split across feeds

    bool idle() const noexcept {
      return header_len == 0 && !in_frame && !msg_open && message.empty() && control.empty();
    }
  };
  // Exists only when permessage-deflate was negotiated.
  struct deflate_state {
    deflate_params params;
    int level = 1;
    int mem_level = 8;
    std::vector<std::byte> scratch;  // compression output; released when large
    std::unique_ptr<inflater> inf;   // allocated on first use
    std::unique_ptr<deflater> def;
    // Compressed frames are counted here (only they need it, so it is kept here).
    websocket_stats* stats = nullptr;
    deflate_state();
    ~deflate_state();
  };

  std::size_t feed_frames(rx_state& rx, std::span<std::byte> data);
  bool on_header(rx_state& rx);
  void on_payload(rx_state& rx, std::span<std::byte> chunk, bool frame_done);
  void on_data_chunk(rx_state& rx, std::span<std::byte> chunk, bool frame_done);
  void on_control(rx_state& rx, std::span<const std::byte> payload);
  void on_close_frame(rx_state& rx, std::span<const std::byte> payload);
  void deliver(rx_state& rx, std::span<const std::byte> payload);
  static void end_message(rx_state& rx) noexcept;
  void fail(rx_state& rx, error e);
  void write_frame(opcode op, bool fin, bool rsv1, std::span<const std::byte> payload);
  void write_close(std::uint16_t code, std::string_view reason);
  inflater& get_inflater();
  deflater& get_deflater();

  // Kept compact: this object is part of every connection's idle footprint (ws/connection.h
  // pins the budget). The options are stored field by field, not as a protocol_options.
  protocol_handler& handler_;  // also the output sink
  std::size_t max_message_size_;
  std::uint32_t max_fragments_;
  ws::role role_;
  bool validate_utf8_;
  protocol_state state_ = protocol_state::open;
  bool send_fragmented_ = false;  // a fragmented message is being sent
  std::unique_ptr<rx_state> rx_;       // null while no frame or message is unfinished
  std::unique_ptr<deflate_state> dfl_;  // null unless permessage-deflate was negotiated
};

}  // namespace duplex::ws
