#include "ws/frame.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "ws/close_code.h"

namespace duplex::ws {
namespace {

std::vector<std::byte> raw(std::initializer_list<unsigned> b) {
  std::vector<std::byte> v;
  for (unsigned c : b) v.push_back(std::byte(static_cast<std::uint8_t>(c)));
  return v;
}

TEST(frame, encode_parse_round_trip_all_length_forms) {
  for (std::uint64_t len : {0ull, 1ull, 125ull, 126ull, 127ull, 65535ull, 65536ull,
                            (1ull << 32) + 5, (1ull << 63) - 1}) {
    for (bool masked : {false, true}) {
      frame_header h;
      h.fin = len % 2 == 0;
      h.rsv1 = true;
      h.op = opcode::binary;
      h.masked = masked;
      h.mask_key = 0xA1B2C3D4;
      h.payload_length = len;
      std::array<std::byte, max_frame_header_size> buf;
      const std::size_t n = encode_frame_header(h, buf);
      EXPECT_EQ(n, frame_header_size(len, masked));
      for (std::size_t cut = 0; cut < n; ++cut) {
        frame_header p;
        EXPECT_EQ(parse_frame_header(std::span(buf.data(), cut), p).status,
                  parse_status::need_more);
      }
      frame_header p;
      auto r = parse_frame_header(std::span(buf.data(), n), p);
      ASSERT_EQ(r.status, parse_status::done) << len;
      EXPECT_EQ(r.consumed, n);
      EXPECT_EQ(p.payload_length, len);
      EXPECT_EQ(p.fin, h.fin);
      EXPECT_TRUE(p.rsv1);
      EXPECT_FALSE(p.rsv2);
      EXPECT_EQ(p.op, opcode::binary);
      EXPECT_EQ(p.masked, masked);
      if (masked) {
        EXPECT_EQ(p.mask_key, h.mask_key);
      }
    }
  }
}

TEST(frame, rejects_reserved_opcodes) {
  for (unsigned op : {3u, 4u, 5u, 6u, 7u, 0xBu, 0xCu, 0xDu, 0xEu, 0xFu}) {
    frame_header p;
    auto b = raw({0x80 | op, 0x80});
    auto r = parse_frame_header(b, p);
    EXPECT_EQ(r.status, parse_status::failed);
    EXPECT_EQ(r.err, error::reserved_opcode);
  }
}

TEST(frame, rejects_top_bit_of_64bit_length) {
  frame_header p;
  auto b = raw({0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(parse_frame_header(b, p).err, error::bad_length);
}

TEST(frame, rejects_non_minimal_lengths) {
  frame_header p;
  auto b16 = raw({0x82, 0x7E, 0x00, 0x7D});  // 125 in the 16-bit form
  EXPECT_EQ(parse_frame_header(b16, p).err, error::bad_length);
  auto b64 = raw({0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF});  // 65535 in the 64-bit form
  EXPECT_EQ(parse_frame_header(b64, p).err, error::bad_length);
}

TEST(frame, control_frame_rules_fail_on_first_two_bytes) {
  frame_header p;
  auto frag = raw({0x09, 0x00});  // ping with FIN=0
  EXPECT_EQ(parse_frame_header(frag, p).err, error::control_fragmented);
  auto big = raw({0x89, 0x7E});  // ping with 16-bit length: > 125
  EXPECT_EQ(parse_frame_header(big, p).err, error::control_too_long);
  auto ok = raw({0x89, 0x7D});
  EXPECT_EQ(parse_frame_header(ok, p).status, parse_status::done);
  EXPECT_EQ(p.payload_length, 125u);
}

TEST(frame, apply_mask_matches_bytewise_for_all_offsets_and_sizes) {
  std::vector<std::byte> src(300);
  for (std::size_t i = 0; i < src.size(); ++i) src[i] = std::byte(static_cast<std::uint8_t>(i * 7 + 3));
  for (std::size_t off = 0; off < 8; ++off) {
    for (std::size_t len : {0u, 1u, 3u, 7u, 8u, 9u, 31u, 32u, 33u, 64u, 255u, 300u}) {
      auto a = src;
      auto b = src;
      apply_mask(std::span(a.data(), len), 0x12345678, off);
      apply_mask_bytewise(std::span(b.data(), len), 0x12345678, off);
      EXPECT_EQ(a, b) << off << " " << len;
    }
  }
}

TEST(frame, piecewise_unmask_equals_whole) {
  std::vector<std::byte> whole(1000, std::byte{0x5A});
  auto parts = whole;
  apply_mask(whole, 0xDEADBEEF, 0);
  std::size_t off = 0;
  for (std::size_t step : {1u, 2u, 3u, 5u, 8u, 13u, 100u, 868u}) {
    apply_mask(std::span(parts.data() + off, step), 0xDEADBEEF, off);
    off += step;
  }
  ASSERT_EQ(off, 1000u);
  EXPECT_EQ(whole, parts);
}

TEST(close_code, validity_table) {
  for (std::uint16_t c : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013,
                          1014, 3000, 3999, 4000, 4999}) {
    EXPECT_TRUE(is_valid_close_code(c)) << c;
  }
  for (std::uint16_t c : {0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000,
                          65535}) {
    EXPECT_FALSE(is_valid_close_code(c)) << c;
  }
}

TEST(error, table_maps_codes_and_statuses) {
  EXPECT_EQ(close_code_of(error::reserved_bits), 1002);
  EXPECT_EQ(close_code_of(error::invalid_utf8), 1007);
  EXPECT_EQ(close_code_of(error::invalid_close_reason), 1007);
  EXPECT_EQ(close_code_of(error::too_many_fragments), 1008);
  EXPECT_EQ(close_code_of(error::message_too_big), 1009);
  EXPECT_EQ(close_code_of(error::extension_missing), 1010);
  EXPECT_EQ(close_code_of(error::internal), 1011);
  EXPECT_EQ(http_status_of(error::handshake_bad_version), 426);
  EXPECT_EQ(http_status_of(error::handshake_origin_forbidden), 403);
  EXPECT_EQ(http_status_of(error::handshake_bad_key), 400);
  EXPECT_EQ(http_status_of(error::message_too_big), 0);
  EXPECT_EQ(name_of(error::bad_close_code), "bad_close_code");
}

}  // namespace
}  // namespace duplex::ws
