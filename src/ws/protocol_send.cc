// ws::protocol, send side: framing, masking for the client role, compression, and the
// prebuilt broadcast frames.
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "base/assert.h"
#include "ws/deflater.h"
#include "ws/protocol.h"

namespace duplex::ws {
namespace {

// RFC 6455 §5.3: mask keys must come from a strong source of entropy and be unpredictable.
// RAND_bytes per frame would cost a call into OpenSSL each time; fetch 256 keys at once per
// thread instead.
std::uint32_t next_mask_key() {
  thread_local std::array<std::uint32_t, 256> keys;
  thread_local std::size_t next = keys.size();
  if (next == keys.size()) {
    DUPLEX_ASSERT(RAND_bytes(reinterpret_cast<unsigned char*>(keys.data()),
                             static_cast<int>(sizeof keys)) == 1);
    next = 0;
  }
  return keys[next++];
}

// Below this, header and payload go to the sink in one write through a stack buffer.
constexpr std::size_t coalesce_limit = 512;
// Client payloads are masked through a stack buffer of this size (no allocation).
constexpr std::size_t mask_chunk = 4096;
// The compression scratch buffer is kept between messages only up to this capacity.
constexpr std::size_t scratch_keep = 16 * 1024;

shared_payload build_frame(opcode op, bool rsv1, std::span<const std::byte> payload) {
  frame_header h;
  h.op = op;
  h.rsv1 = rsv1;
  h.payload_length = payload.size();
  std::array<std::byte, max_frame_header_size> hb;
  const std::size_t hn = encode_frame_header(h, hb);
  shared_payload p = shared_payload::allocate(hn + payload.size());
  std::byte* out = p.mutable_bytes().data();
  std::memcpy(out, hb.data(), hn);
  if (!payload.empty()) std::memcpy(out + hn, payload.data(), payload.size());
  return p;
}

}  // namespace

deflater& protocol::get_deflater() {
  if (!dfl_->def) {
    const deflate_params& p = dfl_->params;
    const bool server = role_ == role::server;
    dfl_->def = std::make_unique<deflater>(
        server ? p.server_max_window_bits : p.client_max_window_bits,
        server ? p.server_no_context_takeover : p.client_no_context_takeover, dfl_->level,
        dfl_->mem_level);
  }
  return *dfl_->def;
}

void protocol::write_frame(opcode op, bool fin, bool rsv1, std::span<const std::byte> payload) {
  frame_header h;
  h.fin = fin;
  h.rsv1 = rsv1;
  if (rsv1 && dfl_->stats) ++dfl_->stats->compressed_frames_out;
  h.op = op;
  h.payload_length = payload.size();
  h.masked = role_ == role::client;
  if (h.masked) h.mask_key = next_mask_key();

  std::array<std::byte, max_frame_header_size + coalesce_limit> small;
  const std::size_t hn =
      encode_frame_header(h, std::span<std::byte, max_frame_header_size>(small.data(), max_frame_header_size));
  if (payload.size() <= coalesce_limit) {
    if (!payload.empty()) std::memcpy(small.data() + hn, payload.data(), payload.size());
    if (h.masked) apply_mask(std::span<std::byte>(small.data() + hn, payload.size()), h.mask_key, 0);
    handler_.write(std::span<const std::byte>(small.data(), hn + payload.size()));
    return;
  }
  handler_.write(std::span<const std::byte>(small.data(), hn));
  if (!h.masked) {
    handler_.write(payload);
    return;
  }
  std::array<std::byte, mask_chunk> buf;
  for (std::size_t off = 0; off < payload.size(); off += mask_chunk) {
    const std::size_t len = std::min(mask_chunk, payload.size() - off);
    std::memcpy(buf.data(), payload.data() + off, len);
    apply_mask(std::span<std::byte>(buf.data(), len), h.mask_key, off);
    handler_.write(std::span<const std::byte>(buf.data(), len));
  }
}

void protocol::write_close(std::uint16_t code, std::string_view reason) {
  std::array<std::byte, max_control_payload> body;
  std::size_t n = 0;
  // §5.5.1: no body for "no status"; a code may not be one that is forbidden on the wire.
  if (code != close_code::no_status && is_valid_close_code(code)) {
    body[0] = std::byte(static_cast<std::uint8_t>(code >> 8));
    body[1] = std::byte(static_cast<std::uint8_t>(code));
    reason = reason.substr(0, max_control_payload - 2);
    if (!reason.empty()) std::memcpy(body.data() + 2, reason.data(), reason.size());
    n = 2 + reason.size();
  }
  write_frame(opcode::close, true, false, std::span<const std::byte>(body.data(), n));
}

bool protocol::send(opcode op, std::span<const std::byte> payload, bool compress) {
  if (state_ != protocol_state::open || is_control(op) || op == opcode::continuation ||
      send_fragmented_) {
    return false;
  }
  if (!compress || !dfl_) {
    write_frame(op, true, false, payload);
    return true;
  }
  std::vector<std::byte>& scratch = dfl_->scratch;
  scratch.clear();
  if (!get_deflater().compress(payload, scratch)) {
    // Out of memory in zlib: send uncompressed rather than lose the message.
    write_frame(op, true, false, payload);
  } else {
    write_frame(op, true, true, scratch);  // RFC 7692 §6: RSV1 on the first frame
  }
  scratch.clear();
  if (scratch.capacity() > scratch_keep) std::vector<std::byte>().swap(scratch);
  return true;
}

bool protocol::send_fragment(opcode op, std::span<const std::byte> payload, bool fin) {
  if (state_ != protocol_state::open || (op != opcode::text && op != opcode::binary)) {
    return false;
  }
  write_frame(send_fragmented_ ? opcode::continuation : op, fin, false, payload);
  send_fragmented_ = !fin;
  return true;
}

bool protocol::send_frame(const shared_payload& frame) {
  if (!can_send_frame()) return false;
  handler_.write(frame);
  return true;
}

bool protocol::ping(std::span<const std::byte> payload) {
  if (state_ != protocol_state::open) return false;
  write_frame(opcode::ping, true, false, payload.first(std::min(payload.size(), max_control_payload)));
  return true;
}

bool protocol::pong(std::span<const std::byte> payload) {
  if (state_ != protocol_state::open) return false;
  write_frame(opcode::pong, true, false, payload.first(std::min(payload.size(), max_control_payload)));
  return true;
}

bool protocol::close(std::uint16_t code, std::string_view reason) {
  if (state_ != protocol_state::open) return false;
  write_close(code, reason);
  state_ = protocol_state::closing;  // §7.1.2: wait for the peer's close
  return true;
}

shared_payload protocol::make_frame(opcode op, std::span<const std::byte> payload) {
  return build_frame(op, false, payload);
}

shared_payload protocol::make_compressed_frame(opcode op, std::span<const std::byte> payload,
                                               deflater& d) {
  std::vector<std::byte> compressed;
  if (!d.compress(payload, compressed)) return {};
  return build_frame(op, true, compressed);
}

}  // namespace duplex::ws
