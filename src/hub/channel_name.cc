#include "hub/channel_name.h"

#include <array>

namespace duplex::hub {

namespace {

constexpr std::array<bool, 256> make_table(std::string_view extra) {
  std::array<bool, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (int c = '0'; c <= '9'; ++c) t[static_cast<std::size_t>(c)] = true;
  for (char c : extra) t[static_cast<unsigned char>(c)] = true;
  return t;
}

constexpr auto channel_chars = make_table("_-.:@/=,#$!~+;");
constexpr auto namespace_chars = make_table("_-.");

}  // namespace

std::string_view to_string(channel_error e) noexcept {
  switch (e) {
    case channel_error::ok: return "ok";
    case channel_error::empty: return "empty";
    case channel_error::too_long: return "too_long";
    case channel_error::bad_char: return "bad_char";
    case channel_error::bad_namespace: return "bad_namespace";
    case channel_error::empty_rest: return "empty_rest";
  }
  return "unknown";
}

channel_parse_result parse_channel(std::string_view text, std::size_t max_length) noexcept {
  channel_parse_result r;
  if (text.empty()) {
    r.err = channel_error::empty;
    return r;
  }
  if (text.size() > max_length) {
    r.err = channel_error::too_long;
    return r;
  }
  std::size_t colon = std::string_view::npos;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (!channel_chars[c]) {
      r.err = channel_error::bad_char;
      return r;
    }
    if (c == ':' && colon == std::string_view::npos) colon = i;
  }
  r.name.full = text;
  if (colon == std::string_view::npos) {
    r.name.rest = text;
    return r;
  }
  const std::string_view ns = text.substr(0, colon);
  if (ns.empty()) {
    r.err = channel_error::bad_namespace;
    return r;
  }
  for (char c : ns) {
    if (!namespace_chars[static_cast<unsigned char>(c)]) {
      r.err = channel_error::bad_namespace;
      return r;
    }
  }
  if (colon + 1 == text.size()) {
    r.err = channel_error::empty_rest;
    return r;
  }
  r.name.ns = ns;
  r.name.rest = text.substr(colon + 1);
  return r;
}

}  // namespace duplex::hub
