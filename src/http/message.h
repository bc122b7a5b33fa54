// Parsed HTTP/1.1 message heads, shared by the parser (http/request_parser.h,
// http/response_parser.h), the router and the WebSocket handshake (ws/handshake.h).
//
// Lifetime: every string_view points into the bytes handed to the parser (normally the loop's
// receive buffer or a connection's spill buffer). They are valid only until the parser is fed
// again or reset; copy what you keep (STYLE.md rule 16).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace duplex::http {

struct header {
  std::string_view name;
  std::string_view value;  // without leading/trailing optional whitespace
};

// Case-insensitive ASCII comparison, as header names and tokens require (RFC 9110 §5.1).
bool iequals(std::string_view a, std::string_view b) noexcept;

// True when the comma-separated list `value` holds `token` (case-insensitive), e.g.
// has_token("keep-alive, Upgrade", "upgrade").
bool has_token(std::string_view value, std::string_view token) noexcept;

struct headers {
  std::vector<header> list;

  // First header with this name (case-insensitive), or nullopt.
  std::optional<std::string_view> find(std::string_view name) const noexcept;
  // Number of headers with this name.
  std::size_t count(std::string_view name) const noexcept;
  // True when any header with this name holds the token (comma lists are split).
  bool has_token(std::string_view name, std::string_view token) const noexcept;
};

enum class method : std::uint8_t { get, head, post, put, del, options, patch, connect, trace, other };

struct request_head {
  method verb = method::other;
  std::string_view method_text;  // as sent, e.g. "GET"
  std::string_view target;       // request-target, e.g. "/ws?channel=a"
  int version_minor = 1;         // HTTP/1.<minor>
  http::headers fields;
  // Body framing, derived by the parser: Content-Length value, or chunked.
  std::uint64_t content_length = 0;
  bool chunked = false;
  bool keep_alive = true;  // from version and Connection

  std::string_view path() const noexcept;   // target up to '?'
  std::string_view query() const noexcept;  // after '?', empty if none
};

struct response_head {
  int status = 0;
  std::string_view reason;
  int version_minor = 1;
  http::headers fields;
  std::uint64_t content_length = 0;
  bool has_content_length = false;
  bool chunked = false;
  bool keep_alive = true;
};

}  // namespace duplex::http
