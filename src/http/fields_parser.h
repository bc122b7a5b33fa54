// fields_parser: the field section shared by the request and response parsers (RFC 9112 §5).
// Internal to http/.
//
// It scans CRLF-terminated field lines incrementally from a scan offset, validates each line
// once, records names and values as offsets (the caller's buffer may move between feeds, so
// views are only built by materialize(), when the head is complete) and gathers the fields that
// decide message framing and persistence as it goes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "http/error.h"
#include "http/message.h"

namespace duplex::http::detail {

// What Content-Length, Transfer-Encoding, Connection and Host said.
struct framing {
  bool has_content_length = false;
  std::uint64_t content_length = 0;
  bool has_transfer_encoding = false;
  bool chunked_seen = false;
  bool chunked_final = false;   // the last transfer coding is "chunked"
  bool chunked_twice = false;   // "chunked" applied more than once (RFC 9112 §7)
  bool other_coding = false;    // a coding other than chunked appears
  bool conn_close = false;
  bool conn_keep_alive = false;
  std::uint32_t host_count = 0;
};

// Validates one field line without its CRLF (RFC 9110 §5.1, §5.5; RFC 9112 §5.1). On success
// sets name/value (value without surrounding whitespace) and returns no_error.
error split_field_line(std::string_view line, std::string_view& name,
                       std::string_view& value) noexcept;

class fields_parser {
 public:
  enum class step : unsigned char { need_more, done, error };

  // Starts a field section at offset `start` of the input, accepting at most `max_bytes` bytes
  // (every field line with its CRLF plus the final CRLF) and `max_count` fields.
  void reset(std::size_t start, std::size_t max_bytes, std::size_t max_count) noexcept;

  // Continues from where the last call stopped; `in` must start where it started last time and
  // be at least as long. On error, *err says why.
  step feed(std::string_view in, error* err) noexcept;

  // Offset just after the final CRLF (valid after done).
  std::size_t end() const noexcept { return scan_; }
  const framing& frame() const noexcept { return frame_; }
  // Builds the header views into `in` (the same bytes that were fed).
  void materialize(std::string_view in, headers& out) const;

 private:
  struct span {
    std::uint32_t name_off, name_len, value_off, value_len;
  };
  error add(std::string_view name, std::string_view value) noexcept;

  std::size_t start_ = 0;
  std::size_t line_ = 0;  // start of the current (incomplete) line
  std::size_t scan_ = 0;  // where the search for LF resumes
  std::size_t max_bytes_ = 0;
  std::size_t max_count_ = 0;
  framing frame_;
  std::vector<span> spans_;  // capacity is kept across messages: no allocation once warm
};

// Parses a Content-Length value: 1*DIGIT, no sign, no list, no overflow (RFC 9110 §8.6).
bool parse_content_length(std::string_view v, std::uint64_t& out) noexcept;

}  // namespace duplex::http::detail
