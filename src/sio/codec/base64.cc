// Standard base64, table driven: 3 bytes <-> 4 characters per step, output sized once.
#include "sio/codec/base64.h"

#include <array>
#include <cstdint>

namespace duplex::sio::codec {
namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Character -> 6-bit value; 0xFF for every byte outside the alphabet ('=' included).
constexpr auto decode_table = [] {
  std::array<std::uint8_t, 256> t{};
  t.fill(0xFF);
  for (std::uint8_t i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = i;
  return t;
}();

inline std::uint32_t value(char c) noexcept { return decode_table[static_cast<unsigned char>(c)]; }

}  // namespace

void base64_append(std::string& out, std::string_view bytes) {
  const std::size_t at = out.size();
  out.resize(at + base64_encoded_size(bytes.size()));
  char* o = out.data() + at;
  const auto* in = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t n = bytes.size();
  for (; n >= 3; n -= 3, in += 3) {
    const std::uint32_t v = (std::uint32_t{in[0]} << 16) | (std::uint32_t{in[1]} << 8) | in[2];
    *o++ = alphabet[v >> 18];
    *o++ = alphabet[(v >> 12) & 63];
    *o++ = alphabet[(v >> 6) & 63];
    *o++ = alphabet[v & 63];
  }
  if (n == 1) {
    const std::uint32_t v = std::uint32_t{in[0]} << 16;
    *o++ = alphabet[v >> 18];
    *o++ = alphabet[(v >> 12) & 63];
    *o++ = '=';
    *o++ = '=';
  } else if (n == 2) {
    const std::uint32_t v = (std::uint32_t{in[0]} << 16) | (std::uint32_t{in[1]} << 8);
    *o++ = alphabet[v >> 18];
    *o++ = alphabet[(v >> 12) & 63];
    *o++ = alphabet[(v >> 6) & 63];
    *o++ = '=';
  }
}

bool base64_decode_append(std::string_view text, std::string& out) {
  if (text.size() % 4 != 0) return false;
  if (text.empty()) return true;
  // The last group may hold one or two '='; every other group is four alphabet characters.
  std::size_t pad = 0;
  if (text.back() == '=') pad = text[text.size() - 2] == '=' ? 2 : 1;
  const std::size_t at = out.size();
  out.resize(at + text.size() / 4 * 3 - pad);
  char* o = out.data() + at;
  const char* in = text.data();
  const std::size_t full_groups = text.size() / 4 - (pad ? 1 : 0);
  for (std::size_t g = 0; g < full_groups; ++g, in += 4) {
    const std::uint32_t a = value(in[0]), b = value(in[1]), c = value(in[2]), d = value(in[3]);
    if ((a | b | c | d) > 63) {
      out.resize(at);
      return false;
    }
    const std::uint32_t v = (a << 18) | (b << 12) | (c << 6) | d;
    *o++ = static_cast<char>(v >> 16);
    *o++ = static_cast<char>((v >> 8) & 0xFF);
    *o++ = static_cast<char>(v & 0xFF);
  }
  if (pad) {
    const std::uint32_t a = value(in[0]), b = value(in[1]);
    const std::uint32_t c = pad == 1 ? value(in[2]) : 0;
    // Non-zero pad bits (RFC 4648 §3.5) would decode to the same bytes as another text.
    const bool bad = (a | b | c) > 63 || (pad == 2 ? (b & 0x0F) != 0 : (c & 0x03) != 0);
    if (bad) {
      out.resize(at);
      return false;
    }
    const std::uint32_t v = (a << 18) | (b << 12) | (c << 6);
    *o++ = static_cast<char>(v >> 16);
    if (pad == 1) *o++ = static_cast<char>((v >> 8) & 0xFF);
  }
  return true;
}

}  // namespace duplex::sio::codec
