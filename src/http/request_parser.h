// request_parser: incremental, strict HTTP/1.1 request parser with hard limits (RFC 9112).
//
// Buffer contract (sans-I/O; STYLE.md rules 14 and 17):
//   - Call feed() with every byte received that is not yet consumed, in order and contiguous:
//     after a call that consumed n bytes, drop those n bytes from the front, append what
//     arrives next, and feed the whole unconsumed tail again. The buffer may move between calls
//     (the caller may copy the tail into a spill buffer); the parser keeps offsets, not pointers.
//   - The parser remembers how far it has scanned and validated, so re-feeding a growing head
//     never rescans it: total work is linear in the bytes received, even byte by byte.
//   - While the head is incomplete nothing is consumed (need_more, consumed 0). head_done
//     consumes the whole head at once; head()'s views point into those consumed bytes and stay
//     valid while the caller leaves them in place and does not feed again or reset().
//   - Then the body streams: `body` results hand out views into the input (consumed includes
//     them and any chunked framing); need_more may consume framing bytes. message_done ends the
//     message (even one without a body: feed once more after head_done, with whatever bytes
//     remain, possibly none) and the parser is ready for the next pipelined request.
//   - After an upgrade (101) or CONNECT the remaining bytes are not HTTP: stop feeding.
//   - error is sticky until reset(); answer with error_response(err) and close.
//
// Choices where RFC 9112 lets a recipient choose:
//   - Bare LF (and bare CR) as a line terminator is rejected (§2.2), everywhere in the head.
//   - Up to 4 empty lines before the request line are skipped (§2.2: SHOULD ignore one).
//   - Exactly one SP between the request-line parts.
//   - HTTP/1.x with x > 1 is processed as HTTP/1.1 (RFC 9110 §2.5); HTTP/0.9 (no version),
//     HTTP/2, HTTP/3 and any other major version are refused with 505.
//   - Content-Length must be plain digits; repeated fields must agree; no comma lists.
//   - Transfer-Encoding: only "chunked" (501 for other codings); with Content-Length, missing
//     final chunked, or in HTTP/1.0 -> 400 (§6.1, §6.3). Trailer fields are validated and
//     dropped; they count against max_header_bytes.
//   - An HTTP/1.1 request needs exactly one Host (§3.2), unless limits::require_host is false.
//   - A Content-Length above limits::max_body fails with body_too_large before any body byte.
//
// Not thread-safe; one parser per connection. Idle cost: the parser object and two vectors
// whose capacity (bounded by max_headers) is kept for reuse.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "http/body_decoder.h"
#include "http/fields_parser.h"
#include "http/message.h"
#include "http/parse_result.h"

namespace duplex::http {

class request_parser {
 public:
  struct limits {
    std::size_t max_request_line = 8192;   // with its CRLF -> uri_too_long (414)
    std::size_t max_header_bytes = 16384;  // field lines and final CRLF -> headers_too_large (431)
    std::size_t max_headers = 64;          // -> too_many_headers (431)
    std::uint64_t max_body = 1024 * 1024;  // Content-Length or sum of chunks -> body_too_large (413)
    bool require_host = true;
  };

  request_parser() noexcept = default;
  explicit request_parser(const limits& l) noexcept : limits_(l) {}

  // See the contract above. `in` starts at the first unconsumed byte.
  parse_result feed(std::string_view in) noexcept;
  parse_result feed(std::span<const std::byte> in) noexcept {
    return feed(std::string_view(reinterpret_cast<const char*>(in.data()), in.size()));
  }

  // The head of the current message: valid from head_done until the next feed() that returns
  // head_done, or reset(); its views point into the caller's bytes (see above).
  const request_head& head() const noexcept { return head_; }

  // Forgets all state (after an error, or to reuse the parser for a new connection).
  void reset() noexcept;

  // True between messages with no byte of the next one seen yet (for idle vs request timeouts
  // and for telling a clean close from a truncated request).
  bool idle() const noexcept { return state_ == state::line && !seen_bytes_; }

  const limits& get_limits() const noexcept { return limits_; }

 private:
  enum class state : unsigned char { line, fields, body, failed };
  parse_result fail(error e) noexcept;
  parse_result parse_line(std::string_view in) noexcept;
  error request_line(std::string_view line, std::size_t method_len) noexcept;
  parse_result finish_head(std::string_view in) noexcept;
  void next_message() noexcept;

  limits limits_;
  state state_ = state::line;
  error error_ = no_error;
  bool seen_bytes_ = false;
  bool method_started_ = false;
  bool method_done_ = false;
  std::uint8_t empty_lines_ = 0;
  std::size_t line_ = 0;         // start of the request line
  std::size_t method_scan_ = 0;  // method validated up to here
  std::size_t scan_ = 0;         // LF search resumes here
  // Request-line parts as offsets (the buffer may move until the head is done).
  std::uint32_t method_len_ = 0;
  std::uint32_t target_off_ = 0, target_len_ = 0;
  int version_minor_ = 1;
  detail::fields_parser fields_;
  detail::body_decoder body_;
  request_head head_;
};

}  // namespace duplex::http
