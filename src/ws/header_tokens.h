// Small helpers for the comma/semicolon lists of WebSocket handshake headers (RFC 6455 §4.3,
// §9.1; RFC 9110 §5.6). Kept in ws/ rather than calling http::has_token so that the codec's
// handshake stays testable without the HTTP parser's library.
#pragma once

#include <cstddef>
#include <string_view>

namespace duplex::ws::detail {

constexpr char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

constexpr std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits `s` at the next `sep` that is not inside a quoted-string. Returns the trimmed head;
// `s` becomes the rest (empty when no separator is left).
constexpr std::string_view next_item(std::string_view& s, char sep) noexcept {
  bool quoted = false;
  std::size_t i = 0;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (quoted && c == '\\' && i + 1 < s.size()) {
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == sep && !quoted) {
      break;
    }
  }
  std::string_view head = s.substr(0, i);
  s = i < s.size() ? s.substr(i + 1) : std::string_view();
  return trim(head);
}

// True when the comma-separated list `value` holds `token` (case-insensitive).
constexpr bool list_has_token(std::string_view value, std::string_view token) noexcept {
  while (!value.empty()) {
    if (iequals(next_item(value, ','), token)) return true;
  }
  return false;
}

}  // namespace duplex::ws::detail
