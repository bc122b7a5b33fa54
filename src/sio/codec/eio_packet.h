// Engine.IO v4 packets: one packet per WebSocket frame, or several joined in an HTTP
// long-polling payload. Sans-I/O (STYLE.md rule 2): text in, packets or an error out.
//
// Source: socketio/socket.io docs/engine.io-protocol/v4-current.md ("Protocol", "Packet
// encoding"); behaviour checked against the engine.io-parser npm package (5.x).
//
//  - WebSocket text frame: "<type digit><data>", e.g. "4hello", "2probe", "5".
//    WebSocket binary frame: one binary `message` packet, the raw bytes, no prefix.
//  - Polling payload: packets joined by the record separator '\x1e'; a binary packet is
//    'b' + base64(bytes), e.g. "4hello\x1ebAQIDBA==" (v4 always uses base64 for binary).
//  - A text frame that starts with 'b' is also a base64 binary message: engine.io-parser
//    decodes WebSocket frames with the same function, and engine.io-client sends that form
//    over WebSocket when its `forceBase64` option is on.
//
// Sizes are UTF-8 bytes, as the v4 protocol counts them (maxPayload, maxHttpBufferSize); a
// std::string's size() already is that count.
//
// Errors: any error is a peer speaking something other than Engine.IO v4. Its one wire
// reaction is to close the Engine.IO session (engine.io turns a parse error into an "error"
// packet and closes the socket with "parse error"); for a polling POST the server answers
// 400 first. to_string() gives the reason for logs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace duplex::sio::codec {

enum class eio_packet_type : std::uint8_t {
  open = 0,
  close = 1,
  ping = 2,
  pong = 3,
  message = 4,
  upgrade = 5,
  noop = 6,
};

// "open", "close", ... as engine.io-parser names them.
std::string_view to_string(eio_packet_type t) noexcept;

enum class eio_error : std::uint8_t {
  none,
  empty_packet,  // a frame, or a payload segment, with no type character
  unknown_type,  // the type character is not '0'..'6' nor 'b'
  bad_base64,    // a 'b' packet whose data is not canonical standard base64 (see base64.h)
  invalid_utf8,  // a polling payload that is not UTF-8 text
};

std::string_view to_string(eio_error e) noexcept;

// A decoded packet whose data is borrowed (STYLE.md rule 16): it points into the frame or
// payload given to the parser, or into the scratch buffer that decoded its base64. Valid
// until either changes. For a binary packet `type` is always message and `data` is the raw
// bytes.
struct eio_packet_view {
  eio_packet_type type = eio_packet_type::message;
  std::string_view data;
  bool binary = false;
};

// An owned packet, for code that keeps packets (a session's pending output, tests).
struct eio_packet {
  eio_packet_type type = eio_packet_type::message;
  std::string data;
  bool binary = false;

  eio_packet_view view() const noexcept { return {type, data, binary}; }
  friend bool operator==(const eio_packet&, const eio_packet&) = default;
};

// Parses one packet in text form, "<type digit><data>" or "b<base64>". A base64 packet is
// decoded into `scratch` (cleared first) and out.data points there; otherwise out.data points
// into `text`. Does not check UTF-8: a WebSocket text frame was checked by the ws layer, and
// eio_payload_reader checks a polling body once as a whole.
[[nodiscard]] eio_error parse_eio_packet(std::string_view text, eio_packet_view& out,
                                         std::string& scratch);

// A WebSocket binary frame is one binary message packet; nothing to parse.
inline eio_packet_view eio_binary_frame(std::string_view bytes) noexcept {
  return {eio_packet_type::message, bytes, true};
}

// Appends the text-frame form "<type digit><data>" of a text packet. A binary packet is sent
// in a binary frame as its raw bytes, not through this function.
void append_eio_text_frame(std::string& out, eio_packet_type type, std::string_view data);

// Iterates the packets of an HTTP long-polling payload (a POST body). Strict: an empty body,
// an empty segment (a leading, trailing or doubled separator), an unknown type character,
// bad base64 or a body that is not UTF-8 ends iteration with an error. Packets before the
// failing one have already been returned; the server may process them or drop them (engine.io
// processes them).
//
// Not thread-safe; borrows `body` for its whole life (the views it returns point into `body`
// or into the reader's own base64 buffer, valid until the next call to next()).
class eio_payload_reader {
 public:
  explicit eio_payload_reader(std::string_view body) noexcept : rest_(body), body_(body) {}

  // Returns true and fills `out` with the next packet; false at the end of the body or on
  // error (then error() says which, and error_offset() where the failing segment starts).
  bool next(eio_packet_view& out);

  eio_error error() const noexcept { return error_; }
  std::size_t error_offset() const noexcept { return error_offset_; }
  bool ok() const noexcept { return error_ == eio_error::none; }

 private:
  bool fail(eio_error e, std::size_t offset) noexcept;

  std::string_view rest_;
  std::string_view body_;
  std::string scratch_;
  eio_error error_ = eio_error::none;
  std::size_t error_offset_ = 0;
  bool started_ = false;
  bool done_ = false;
};

// The record separator between the packets of a polling payload.
inline constexpr char eio_record_separator = '\x1e';

// Bytes that `p` takes in a polling payload, separator not included: 1 + data for a text
// packet, 1 + base64 size for a binary one. A payload of n packets adds n - 1 separators of
// one byte each; see eio_payload_added_size().
std::size_t eio_payload_packet_size(const eio_packet_view& p) noexcept;

// Bytes that append_eio_payload_packet(payload, p) would add to `payload`.
inline std::size_t eio_payload_added_size(std::string_view payload,
                                          const eio_packet_view& p) noexcept {
  return (payload.empty() ? 0 : 1) + eio_payload_packet_size(p);
}

// Appends `p` to a polling payload, after a separator when `payload` is not empty. The caller
// keeps the payload under the peer's maxPayload with eio_payload_added_size().
void append_eio_payload_packet(std::string& payload, const eio_packet_view& p);

}  // namespace duplex::sio::codec
