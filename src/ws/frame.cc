#include "ws/frame.h"

#include <bit>
#include <cstring>

namespace duplex::ws {
namespace {

constexpr bool is_known_opcode(std::uint8_t op) noexcept {
  // RFC 6455 §5.2: 0x3-0x7 and 0xB-0xF are reserved.
  return op <= 0x2 || (op >= 0x8 && op <= 0xA);
}

std::uint8_t at(std::span<const std::byte> in, std::size_t i) noexcept {
  return static_cast<std::uint8_t>(in[i]);
}

}  // namespace

header_parse_result parse_frame_header(std::span<const std::byte> in, frame_header& out) noexcept {
  if (in.size() < 2) return {parse_status::need_more, 0, error::none};
  const std::uint8_t b0 = at(in, 0);
  const std::uint8_t b1 = at(in, 1);
  const std::uint8_t op = b0 & 0x0F;
  if (!is_known_opcode(op)) return {parse_status::failed, 0, error::reserved_opcode};
  const bool masked = (b1 & 0x80) != 0;
  const std::uint8_t len7 = b1 & 0x7F;
  const std::size_t ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  const std::size_t size = 2 + ext + (masked ? 4 : 0);

  const bool fin = (b0 & 0x80) != 0;
  // RFC 6455 §5.5: control frames MUST NOT be fragmented and carry at most 125 bytes. Checked
  // before waiting for the rest of the header so that a bad frame fails on its first 2 bytes.
  if (op & 0x8) {
    if (!fin) return {parse_status::failed, 0, error::control_fragmented};
    if (len7 > max_control_payload) return {parse_status::failed, 0, error::control_too_long};
  }
  if (in.size() < size) return {parse_status::need_more, 0, error::none};

  std::uint64_t len = len7;
  if (ext == 2) {
    len = (std::uint64_t{at(in, 2)} << 8) | at(in, 3);
    if (len < 126) return {parse_status::failed, 0, error::bad_length};  // §5.2 minimal form
  } else if (ext == 8) {
    len = 0;
    for (std::size_t i = 0; i < 8; ++i) len = (len << 8) | at(in, 2 + i);
    // §5.2: "the most significant bit MUST be 0".
    if (len >> 63) return {parse_status::failed, 0, error::bad_length};
    if (len <= 0xFFFF) return {parse_status::failed, 0, error::bad_length};  // minimal form
  }

  out.fin = fin;
  out.rsv1 = (b0 & 0x40) != 0;
  out.rsv2 = (b0 & 0x20) != 0;
  out.rsv3 = (b0 & 0x10) != 0;
  out.op = static_cast<opcode>(op);
  out.masked = masked;
  out.payload_length = len;
  out.mask_key = 0;
  if (masked) std::memcpy(&out.mask_key, in.data() + 2 + ext, 4);
  return {parse_status::done, size, error::none};
}

std::size_t encode_frame_header(const frame_header& h,
                                std::span<std::byte, max_frame_header_size> out) noexcept {
  std::uint8_t b0 = static_cast<std::uint8_t>(h.op) & 0x0F;
  if (h.fin) b0 |= 0x80;
  if (h.rsv1) b0 |= 0x40;
  if (h.rsv2) b0 |= 0x20;
  if (h.rsv3) b0 |= 0x10;
  const std::uint8_t m = h.masked ? 0x80 : 0;
  out[0] = std::byte{b0};
  std::size_t n = 2;
  const std::uint64_t len = h.payload_length;
  if (len < 126) {
    out[1] = std::byte(static_cast<std::uint8_t>(m | len));
  } else if (len <= 0xFFFF) {
    out[1] = std::byte(static_cast<std::uint8_t>(m | 126));
    out[2] = std::byte(static_cast<std::uint8_t>(len >> 8));
    out[3] = std::byte(static_cast<std::uint8_t>(len));
    n = 4;
  } else {
    out[1] = std::byte(static_cast<std::uint8_t>(m | 127));
    for (std::size_t i = 0; i < 8; ++i) {
      out[2 + i] = std::byte(static_cast<std::uint8_t>(len >> (56 - 8 * i)));
    }
    n = 10;
  }
  if (h.masked) {
    std::memcpy(out.data() + n, &h.mask_key, 4);
    n += 4;
  }
  return n;
}

void apply_mask(std::span<std::byte> data, std::uint32_t mask_key, std::size_t offset) noexcept {
  // Rotate the key so that its first byte in memory is the one for data[0].
  const unsigned shift = 8u * static_cast<unsigned>(offset & 3);
  std::uint32_t k = mask_key;
  if (shift != 0) {
    if constexpr (std::endian::native == std::endian::little) {
      k = std::rotr(k, static_cast<int>(shift));
    } else {
      k = std::rotl(k, static_cast<int>(shift));
    }
  }
  const std::uint64_t k8 = (std::uint64_t{k} << 32) | k;
  std::byte* p = data.data();
  std::size_t n = data.size();
  // 32 bytes per step: lets the compiler keep four independent XORs in flight.
  while (n >= 32) {
    std::uint64_t w[4];
    std::memcpy(w, p, 32);
    w[0] ^= k8;
    w[1] ^= k8;
    w[2] ^= k8;
    w[3] ^= k8;
    std::memcpy(p, w, 32);
    p += 32;
    n -= 32;
  }
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    w ^= k8;
    std::memcpy(p, &w, 8);
    p += 8;
    n -= 8;
  }
  std::byte kb[4];
  std::memcpy(kb, &k, 4);
  for (std::size_t i = 0; i < n; ++i) p[i] ^= kb[i & 3];
}

void apply_mask_bytewise(std::span<std::byte> data, std::uint32_t mask_key,
                         std::size_t offset) noexcept {
  std::byte kb[4];
  std::memcpy(kb, &mask_key, 4);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] ^= kb[(offset + i) & 3];
}

}  // namespace duplex::ws
