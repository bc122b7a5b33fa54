// WebSocket frame headers (RFC 6455 §5.2) and masking (§5.3), independent of any connection.
//
// parse_frame_header() checks what a header alone can tell (opcode, length encoding, control
// frame limits); checks that need connection context (RSV bits vs negotiated extensions,
// masking vs role, fragmentation order) live in ws::protocol.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "ws/error.h"

namespace duplex::ws {

enum class opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

// RFC 6455 §5.5: opcodes with the high bit set are control frames.
constexpr bool is_control(opcode op) noexcept { return (static_cast<std::uint8_t>(op) & 0x8) != 0; }

// §5.5: control frame payloads are at most 125 bytes.
inline constexpr std::size_t max_control_payload = 125;
// 2 bytes + 8 bytes of extended length + 4 bytes of mask key.
inline constexpr std::size_t max_frame_header_size = 14;

struct frame_header {
  bool fin = true;
  bool rsv1 = false;  // "compressed" when permessage-deflate is negotiated (RFC 7692 §6)
  bool rsv2 = false;
  bool rsv3 = false;
  opcode op = opcode::text;
  bool masked = false;
  // The 4 mask bytes exactly as on the wire, loaded with memcpy (so in memory order).
  std::uint32_t mask_key = 0;
  std::uint64_t payload_length = 0;
};

enum class parse_status : std::uint8_t { done, need_more, failed };

struct header_parse_result {
  parse_status status;
  std::size_t consumed;  // header bytes when done; 0 otherwise (nothing is consumed partially)
  error err;             // when failed
};

// Parses one frame header from the start of `in`. need_more means `in` holds a prefix of a
// header (at most 13 bytes) that the caller must keep and present again with more bytes.
// Rejects (RFC 6455 §5.2, §5.5): reserved opcodes, a 64-bit length with its top bit set, a
// length not encoded in the minimal number of bytes (a sender MUST NOT do that, and accepting
// two encodings of one length only helps smuggling), control frames with FIN=0 or a payload
// longer than 125.
header_parse_result parse_frame_header(std::span<const std::byte> in, frame_header& out) noexcept;

// Size of the encoded header for these fields.
constexpr std::size_t frame_header_size(std::uint64_t payload_length, bool masked) noexcept {
  return (payload_length < 126 ? 2 : payload_length <= 0xFFFF ? 4 : 10) + (masked ? 4 : 0);
}

// Encodes `h` (length in minimal form) into `out`; returns the bytes written (2..14).
std::size_t encode_frame_header(const frame_header& h,
                                std::span<std::byte, max_frame_header_size> out) noexcept;

// XORs `data` with the mask (RFC 6455 §5.3) as if `data` started `offset` bytes into the
// payload, so a payload can be unmasked piece by piece as it arrives. Word-wise; see
// frame_bench.cc for the gain over the byte loop.
void apply_mask(std::span<std::byte> data, std::uint32_t mask_key, std::size_t offset) noexcept;

// Byte-at-a-time reference implementation (tests and benchmark only).
void apply_mask_bytewise(std::span<std::byte> data, std::uint32_t mask_key,
                         std::size_t offset) noexcept;

}  // namespace duplex::ws
