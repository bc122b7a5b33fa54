// sio_decoder: text and binary Engine.IO messages in, complete Socket.IO packets out.
#include "sio/codec/sio_decoder.h"

#include <cstdint>
#include <utility>

namespace duplex::sio::codec {

void sio_decoder::reset() noexcept {
  pending_.attachments = 0;
  pending_.data = nullptr;
  buffers_.clear();
}

sio_decoder::result sio_decoder::fail(sio_error e) noexcept {
  reset();
  return {e, false};
}

sio_decoder::result sio_decoder::feed_text(std::string_view text, sio_packet& out) {
  if (awaiting_binary()) return fail(sio_error::unexpected_text);
  sio_packet p;
  if (const sio_error e = decode_sio_packet(text, p, limits_); e != sio_error::none) {
    return fail(e);
  }
  if (p.attachments == 0) {
    out = std::move(p);
    return {sio_error::none, true};
  }
  pending_ = std::move(p);
  buffers_.reserve(pending_.attachments);
  return {sio_error::none, false};
}

sio_decoder::result sio_decoder::feed_binary(binary_buffer buffer, sio_packet& out) {
  if (!awaiting_binary()) return fail(sio_error::unexpected_binary);
  buffers_.push_back(std::move(buffer));
  if (buffers_.size() < pending_.attachments) return {sio_error::none, false};
  if (const sio_error e = reconstruct_sio_packet(pending_, buffers_); e != sio_error::none) {
    return fail(e);
  }
  out = std::move(pending_);
  reset();
  return {sio_error::none, true};
}

sio_decoder::result sio_decoder::feed_binary(std::span<const std::byte> bytes, sio_packet& out) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(bytes.data());
  return feed_binary(binary_buffer(binary_buffer::container_type(p, p + bytes.size())), out);
}

}  // namespace duplex::sio::codec
