// parse_result: what one call to an incremental HTTP parser produced (STYLE.md rule 14).
#pragma once

#include <cstddef>
#include <string_view>

#include "http/error.h"

namespace duplex::http {

enum class parse_status : unsigned char {
  need_more,     // feed again with the unconsumed bytes plus more input
  head_done,     // the head is parsed; head() is valid; `consumed` covers the whole head
  body,          // `body` holds the next body bytes (never empty); it points into the input
  message_done,  // the message is complete; the parser is ready for the next one
  error,         // `err` says why; the parser stays failed until reset()
};

struct parse_result {
  parse_status status = parse_status::need_more;
  // Bytes at the front of the input that the caller may now drop (for head_done: once it has
  // finished with head(), whose views point into them). Never more than the input size. May be
  // non-zero with need_more (framing bytes such as a chunk-size line were used up).
  std::size_t consumed = 0;
  std::string_view body;  // status == body: the bytes, inside the consumed range
  error err = no_error;   // status == error

  static parse_result more(std::size_t n) noexcept { return {parse_status::need_more, n, {}, no_error}; }
  static parse_result fail(error e) noexcept { return {parse_status::error, 0, {}, e}; }
};

}  // namespace duplex::http
