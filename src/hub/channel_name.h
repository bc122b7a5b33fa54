// Channel names: `namespace:rest`, or just `rest` for the default namespace.
//
// The namespace is everything before the FIRST ':'; the rest may contain more ':' (Centrifugo
// does the same, so "chat:room:42" is namespace "chat", rest "room:42"). Validation is a pure
// function over the bytes, so the protocol layers can reject a bad name before touching the
// hub. Allowed bytes are a conservative ASCII set: names travel in JSON, URLs (SSE
// `?channel=`), Redis keys and metrics labels, and a small alphabet keeps every one of those
// free of escaping surprises.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace duplex::hub {

enum class channel_error : std::uint8_t {
  ok = 0,
  empty,              // ""
  too_long,           // longer than the limit
  bad_char,           // a byte outside [A-Za-z0-9] and _ - . : @ / = , # $ ! ~ + ;
  bad_namespace,      // namespace part empty (":x") or not [A-Za-z0-9_.-]
  empty_rest,         // "ns:" (namespace given, nothing after it)
};

std::string_view to_string(channel_error e) noexcept;

inline constexpr std::size_t default_max_channel_length = 255;

struct channel_name {
  std::string_view full;
  std::string_view ns;    // empty for the default namespace
  std::string_view rest;  // the part after "ns:", or the whole name
};

struct channel_parse_result {
  channel_error err = channel_error::ok;
  channel_name name;  // views into the parsed text; meaningful only when err == ok
};

// Validates and splits `text`. O(length), no allocation. The views borrow `text`.
channel_parse_result parse_channel(std::string_view text,
                                   std::size_t max_length = default_max_channel_length) noexcept;

}  // namespace duplex::hub
