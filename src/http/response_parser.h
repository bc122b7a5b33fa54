// response_parser: incremental HTTP/1.1 response parser (RFC 9112 §4, §6.3), used by our
// WebSocket client to read the 101 and by tests. Same buffer contract, strictness and limits
// style as request_parser (see http/request_parser.h): the caller re-feeds the unconsumed tail,
// head_done consumes the whole head, body bytes stream out as views, need_more may consume
// framing, message_done ends each message, error is sticky until reset().
//
// Body framing (RFC 9112 §6.3), decided at head_done:
//   - 1xx, 204, 304, or any reply to HEAD (call expect_head_response(true) before feeding its
//     reply): no body, message_done follows at once. After a 101 the bytes are the new protocol.
//   - Transfer-Encoding with chunked last: chunked; other codings: read until close.
//   - Content-Length (digits only, duplicates agreeing); with Transfer-Encoding too: error.
//   - neither: the body runs until the server closes; call finish() on EOF to get message_done.
//     Such a response is never keep_alive.
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

class response_parser {
 public:
  struct limits {
    std::size_t max_status_line = 4096;    // with its CRLF -> bad_status
    std::size_t max_header_bytes = 65536;  // -> headers_too_large
    std::size_t max_headers = 128;         // -> too_many_headers
    std::uint64_t max_body = 64ull * 1024 * 1024;  // -> body_too_large
  };

  response_parser() noexcept = default;
  explicit response_parser(const limits& l) noexcept : limits_(l) {}

  parse_result feed(std::string_view in) noexcept;
  parse_result feed(std::span<const std::byte> in) noexcept {
    return feed(std::string_view(reinterpret_cast<const char*>(in.data()), in.size()));
  }
  // The peer closed the connection: message_done when the body was delimited by the close,
  // need_more (consumed 0) between messages, error incomplete_message otherwise.
  parse_result finish() noexcept;

  // The next response answers a HEAD request: it has no body whatever its fields say.
  void expect_head_response(bool yes) noexcept { head_request_ = yes; }

  const response_head& head() const noexcept { return head_; }
  void reset() noexcept;

 private:
  enum class state : unsigned char { line, fields, body, failed };
  parse_result fail(error e) noexcept;
  parse_result parse_line(std::string_view in) noexcept;
  parse_result finish_head(std::string_view in) noexcept;

  limits limits_;
  state state_ = state::line;
  error error_ = no_error;
  bool head_request_ = false;
  bool seen_bytes_ = false;
  std::size_t scan_ = 0;
  int status_ = 0;
  int version_minor_ = 1;
  std::uint32_t reason_off_ = 0, reason_len_ = 0;
  detail::fields_parser fields_;
  detail::body_decoder body_;
  response_head head_;
};

}  // namespace duplex::http
