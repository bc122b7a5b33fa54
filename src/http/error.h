// http::error: every reason an HTTP exchange is refused, and the one wire reaction for each.
//
// The table in error.cc is the single place that maps an error to its status code, reason
// phrase and short human text (STYLE.md rule 11); error_response() in http/response.h turns
// it into the bytes sent before closing. Errors from the response parser (our client reading
// a server's reply) use the same enum; their status codes are what a gateway would answer.
//
// error{} (value 0) means "no error", so that http::error converts to a std::error_code whose
// value 0 is success, as the standard library expects.
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace duplex::http {

enum class error : std::uint8_t {
  // Request syntax (400).
  bad_request = 1,          // malformed request line or message, no finer code applies
  bad_method,               // method is not a token
  bad_target,               // request-target has forbidden characters or form
  bad_line_ending,          // bare CR or bare LF (RFC 9112 §2.2)
  bad_header,               // field line is not `token ":" OWS value OWS`
  obs_fold,                 // obsolete line folding (RFC 9112 §5.2)
  bad_content_length,       // not digits, overflow, or duplicates that disagree (RFC 9110 §8.6)
  bad_transfer_encoding,    // chunked missing, repeated or not final (RFC 9112 §6.3)
  conflicting_framing,      // both Content-Length and Transfer-Encoding (RFC 9112 §6.1)
  bad_chunk,                // malformed chunked framing (RFC 9112 §7.1)
  bad_host,                 // HTTP/1.1 request without exactly one Host (RFC 9112 §3.2)
  incomplete_message,       // the peer closed in the middle of a message
  // Limits.
  uri_too_long,             // request line longer than limits::max_request_line (414)
  headers_too_large,        // field section larger than limits::max_header_bytes (431)
  too_many_headers,         // more than limits::max_headers fields (431)
  body_too_large,           // body longer than limits::max_body (413)
  // Versions and features.
  bad_version,              // HTTP major version other than 1, or HTTP/0.9 style (505)
  unsupported_transfer_coding,  // a transfer coding other than chunked (501)
  // Routing and serving (produced by the router, static files and the server).
  forbidden,
  not_found,
  method_not_allowed,
  request_timeout,
  upgrade_required,
  not_implemented,
  internal_error,
  service_unavailable,
  // Response parser (client side).
  bad_status,               // malformed status line (answered as 502 by a gateway)
};

inline constexpr error no_error = error{};

struct error_info {
  int status;                 // status code sent for this error
  std::string_view phrase;    // reason phrase of that status, e.g. "Bad Request"
  std::string_view detail;    // one-line human explanation; also the error reply's body
};

// Table lookup; info(no_error) is {200, "OK", "ok"}. Out-of-range values map to internal_error.
const error_info& info(error e) noexcept;
inline int status_of(error e) noexcept { return info(e).status; }

// The std::error_code category "duplex.http"; message() is the detail text.
const std::error_category& http_category() noexcept;
inline std::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), http_category()};
}

}  // namespace duplex::http

template <>
struct std::is_error_code_enum<duplex::http::error> : std::true_type {};
