// Character classes of the HTTP grammar (RFC 9110 §5.6.2, RFC 9112 §3, RFC 3986 §2), as
// 256-entry tables so that a parser classifies a byte with one load. Internal to http/.
#pragma once

#include <array>
#include <cstdint>

namespace duplex::http::chars {

enum : std::uint8_t {
  tchar = 1,        // token character (RFC 9110 §5.6.2)
  field_vchar = 2,  // allowed inside a field value: VCHAR, obs-text, SP, HTAB (RFC 9110 §5.5)
  target = 4,       // allowed in a request-target: visible ASCII (RFC 3986 chars, '%' escapes)
  hex = 8,
};

inline constexpr std::array<std::uint8_t, 256> table = [] {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    std::uint8_t v = 0;
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    constexpr char extra[] = "!#$%&'*+-.^_`|~";
    bool is_extra = false;
    for (char e : extra) {
      if (e != 0 && c == static_cast<unsigned char>(e)) is_extra = true;
    }
    if (alnum || is_extra) v |= tchar;
    if ((c >= 0x21 && c <= 0x7e) || c >= 0x80 || c == ' ' || c == '\t') v |= field_vchar;
    if (c >= 0x21 && c <= 0x7e) v |= target;
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) v |= hex;
    t[static_cast<std::size_t>(c)] = v;
  }
  return t;
}();

constexpr bool is(char c, std::uint8_t cls) noexcept {
  return (table[static_cast<unsigned char>(c)] & cls) != 0;
}
constexpr bool is_tchar(char c) noexcept { return is(c, tchar); }
constexpr bool is_field_vchar(char c) noexcept { return is(c, field_vchar); }
constexpr bool is_target(char c) noexcept { return is(c, target); }
constexpr bool is_hex(char c) noexcept { return is(c, hex); }
constexpr bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}

}  // namespace duplex::http::chars
