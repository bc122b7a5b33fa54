// body_decoder: the message body after the head, for both parsers (RFC 9112 §6, §7.1).
// Internal to http/.
//
// Streaming: each feed() hands out the body bytes that are available, as a view into the input,
// and consumes framing (chunk-size lines, CRLFs, trailers) as it goes, so that the caller never
// keeps body bytes: it keeps only an incomplete chunk-size or trailer line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/parse_result.h"

namespace duplex::http::detail {

class body_decoder {
 public:
  // Chunk-size lines (with extensions) longer than this are refused.
  static constexpr std::size_t max_chunk_line = 1024;

  void start_length(std::uint64_t n) noexcept;
  // `max_body` bounds the sum of chunk sizes, `max_trailer` the trailer section's bytes.
  void start_chunked(std::uint64_t max_body, std::size_t max_trailer) noexcept;
  // Everything until the peer closes, at most `max_body` bytes.
  void start_until_close(std::uint64_t max_body) noexcept;

  // Returns body, need_more (possibly with consumed framing), message_done or error.
  parse_result feed(std::string_view in) noexcept;
  // The peer closed: message_done for an until-close body, else incomplete_message.
  parse_result finish() noexcept;

 private:
  enum class state : unsigned char { length, size_line, data, data_crlf, trailer, until_close, done };
  parse_result size_line(std::string_view in, std::size_t& used) noexcept;

  state state_ = state::done;
  std::uint64_t remaining_ = 0;   // bytes left in the body (length) or the current chunk
  std::uint64_t total_ = 0;       // chunked: sum of sizes so far
  std::uint64_t max_body_ = 0;
  std::size_t max_trailer_ = 0;
  std::size_t trailer_bytes_ = 0;
  std::size_t scan_ = 0;          // LF search resumes here (lines start at offset 0)
};

}  // namespace duplex::http::detail
