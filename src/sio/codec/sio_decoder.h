// sio_decoder: the per-connection Socket.IO v5 receiver. Feeds it every Engine.IO message
// packet in order: text messages go through decode_sio_packet(); a BINARY_EVENT / BINARY_ACK
// makes it wait for that many binary messages, then it puts them in place
// (reconstruct_sio_packet()) and hands out the complete packet. Sans-I/O.
//
// Memory: while waiting it keeps the attachments received so far, at most
// limits.max_attachments messages, each bounded by the transport's message size limit.
//
// Errors (see sio_packet.h): a text message while attachments are awaited, a binary message
// when none is, and every decoding or placeholder error. After an error the decoder is reset;
// the session closes the connection anyway.
//
// Thread safety: one decoder per connection, used by the connection's thread.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>
#include <vector>

#include "sio/codec/sio_packet.h"

namespace duplex::sio::codec {

class sio_decoder {
 public:
  struct result {
    sio_error error = sio_error::none;
    bool complete = false;  // `out` holds a whole packet (with its attachments in place)

    bool ok() const noexcept { return error == sio_error::none; }
  };

  explicit sio_decoder(sio_limits limits = {}) noexcept : limits_(limits) {}

  // The text of one Engine.IO message. Complete at once unless it is a BINARY_* header; then
  // {none, false} and the packet completes with its last attachment. `out` is written only
  // when the result is complete.
  result feed_text(std::string_view text, sio_packet& out);

  // One Engine.IO binary message. The rvalue overload takes the buffer without a copy.
  result feed_binary(binary_buffer buffer, sio_packet& out);
  result feed_binary(std::span<const std::byte> bytes, sio_packet& out);
  result feed_binary(std::string_view bytes, sio_packet& out) {
    return feed_binary(std::as_bytes(std::span<const char>(bytes.data(), bytes.size())), out);
  }

  // True between a BINARY_* header and its last attachment.
  bool awaiting_binary() const noexcept { return pending_.attachments != 0; }
  // Attachments still expected; 0 when not awaiting.
  std::size_t attachments_missing() const noexcept {
    return awaiting_binary() ? pending_.attachments - buffers_.size() : 0;
  }

  // Drops a partly received binary packet.
  void reset() noexcept;

  const sio_limits& limits() const noexcept { return limits_; }

 private:
  result fail(sio_error e) noexcept;

  sio_limits limits_;
  sio_packet pending_;  // the BINARY_* header being completed (attachments != 0 while waiting)
  std::vector<binary_buffer> buffers_;
};

}  // namespace duplex::sio::codec
