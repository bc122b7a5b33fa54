// Centrifugo client protocol codes: the error codes of command replies, the unsubscribe codes
// of unsubscribe pushes and the disconnect codes of disconnect pushes and WebSocket close
// frames. One table for the whole protocol (STYLE.md rule 11).
//
// Source: centrifugal.dev docs/server/codes.md ("Client error codes", "Unsubscribe codes",
// "Client disconnect codes"). The numbers are wire values that SDKs act on; never renumber.
#pragma once

#include <cstdint>
#include <string_view>

namespace duplex::centrifuge {

// Error object of a reply: {"id":N,"error":{"code":C,"message":"...","temporary":true}}.
enum class error_code : std::uint32_t {
  internal = 100,                // temporary
  unauthorized = 101,
  unknown_channel = 102,
  permission_denied = 103,
  method_not_found = 104,
  already_subscribed = 105,
  limit_exceeded = 106,
  bad_request = 107,
  not_available = 108,
  token_expired = 109,           // SDKs refresh the token and retry
  expired = 110,
  too_many_requests = 111,       // temporary
  unrecoverable_position = 112,
};

// The message the docs give for each code ("internal server error", "bad request", ...).
std::string_view error_message(error_code c) noexcept;
// True for the codes the docs mark `Temporary: true` (100, 111): SDKs retry those.
bool error_temporary(error_code c) noexcept;

// Unsubscribe push codes. Codes >= 2500 make SDKs resubscribe; below, they stay unsubscribed.
enum class unsubscribe_code : std::uint32_t {
  server = 2000,              // "server unsubscribe"
  insufficient_state = 2500,  // "insufficient state"
  expired = 2501,             // "subscription expired"
};
std::string_view unsubscribe_reason(unsubscribe_code c) noexcept;

// A disconnect advice: sent as a disconnect push and/or as the WebSocket close code and
// reason. `reconnect` is informational (protocol v2 SDKs derive it from the code, see
// is_terminal_disconnect); it is not written on the wire.
struct disconnect {
  std::uint32_t code = 0;
  std::string_view reason;
  bool reconnect = true;
};

// Terminal codes: 3500..3999 and 4500..4999 (the SDK reconnects after any other code).
constexpr bool is_terminal_disconnect(std::uint32_t code) noexcept {
  return (code >= 3500 && code < 4000) || (code >= 4500 && code < 5000);
}

namespace disconnects {
// Non-terminal: the client reconnects.
inline constexpr disconnect connection_closed{3000, "connection closed", true};
inline constexpr disconnect shutdown{3001, "shutdown", true};
inline constexpr disconnect server_error{3004, "internal server error", true};
inline constexpr disconnect expired{3005, "connection expired", true};
inline constexpr disconnect sub_expired{3006, "subscription expired", true};
inline constexpr disconnect slow{3008, "slow", true};
inline constexpr disconnect write_error{3009, "write error", true};
inline constexpr disconnect insufficient_state{3010, "insufficient state", true};
inline constexpr disconnect force_reconnect{3011, "force reconnect", true};
inline constexpr disconnect no_pong{3012, "no pong", true};
inline constexpr disconnect too_many_requests{3013, "too many requests", true};
// Terminal: the client stays disconnected.
inline constexpr disconnect invalid_token{3500, "invalid token", false};
inline constexpr disconnect bad_request{3501, "bad request", false};
inline constexpr disconnect stale{3502, "stale", false};
inline constexpr disconnect force_no_reconnect{3503, "force disconnect", false};
inline constexpr disconnect connection_limit{3504, "connection limit", false};
inline constexpr disconnect channel_limit{3505, "channel limit", false};
inline constexpr disconnect inappropriate_protocol{3506, "inappropriate protocol", false};
inline constexpr disconnect permission_denied{3507, "permission denied", false};
inline constexpr disconnect not_available{3508, "not available", false};
inline constexpr disconnect too_many_errors{3509, "too many errors", false};
}  // namespace disconnects

}  // namespace duplex::centrifuge
