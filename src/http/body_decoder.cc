#include "http/body_decoder.h"

#include <algorithm>
#include <cstring>

#include "base/assert.h"
#include "http/chars.h"
#include "http/fields_parser.h"

namespace duplex::http::detail {
namespace {

parse_result body_piece(std::string_view in, std::size_t used, std::uint64_t& remaining) noexcept {
  const std::size_t n =
      static_cast<std::size_t>(std::min<std::uint64_t>(remaining, in.size() - used));
  remaining -= n;
  return {parse_status::body, used + n, in.substr(used, n), no_error};
}

}  // namespace

void body_decoder::start_length(std::uint64_t n) noexcept {
  state_ = state::length;
  remaining_ = n;
  scan_ = 0;
}

void body_decoder::start_chunked(std::uint64_t max_body, std::size_t max_trailer) noexcept {
  state_ = state::size_line;
  remaining_ = 0;
  total_ = 0;
  max_body_ = max_body;
  max_trailer_ = max_trailer;
  trailer_bytes_ = 0;
  scan_ = 0;
}

void body_decoder::start_until_close(std::uint64_t max_body) noexcept {
  state_ = state::until_close;
  remaining_ = max_body;
  scan_ = 0;
}

parse_result body_decoder::finish() noexcept {
  if (state_ == state::until_close) {
    state_ = state::done;
    return {parse_status::message_done, 0, {}, no_error};
  }
  return parse_result::fail(error::incomplete_message);
}

// Parses `chunk-size [ chunk-ext ] CRLF` at the start of `in` (RFC 9112 §7.1). On success
// advances `used` past the line and returns need_more with consumed 0 as "go on".
parse_result body_decoder::size_line(std::string_view in, std::size_t& used) noexcept {
  const void* p = std::memchr(in.data() + scan_, '\n', in.size() - scan_);
  if (p == nullptr) {
    scan_ = in.size();
    if (in.size() >= max_chunk_line) return parse_result::fail(error::bad_chunk);
    return parse_result::more(0);
  }
  const auto lf = static_cast<std::size_t>(static_cast<const char*>(p) - in.data());
  if (lf + 1 > max_chunk_line) return parse_result::fail(error::bad_chunk);
  if (lf == 0 || in[lf - 1] != '\r') return parse_result::fail(error::bad_line_ending);
  const std::string_view line = in.substr(0, lf - 1);
  std::size_t i = 0;
  std::uint64_t size = 0;
  for (; i < line.size() && chars::is_hex(line[i]); ++i) {
    if (size >> 60 != 0) return parse_result::fail(error::bad_chunk);  // would overflow
    size = size * 16 + static_cast<std::uint64_t>(chars::hex_value(line[i]));
  }
  if (i == 0) return parse_result::fail(error::bad_chunk);
  // chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ): we skip extensions, but
  // refuse control characters in them (they have no meaning to us; RFC 9112 §7.1.1).
  while (i < line.size() && chars::is_ows(line[i])) ++i;
  if (i < line.size()) {
    if (line[i] != ';') return parse_result::fail(error::bad_chunk);
    for (; i < line.size(); ++i) {
      if (!chars::is_field_vchar(line[i])) return parse_result::fail(error::bad_chunk);
    }
  }
  used = lf + 1;
  scan_ = 0;
  if (size == 0) {
    state_ = state::trailer;
  } else {
    if (size > max_body_ - total_) return parse_result::fail(error::body_too_large);
    total_ += size;
    remaining_ = size;
    state_ = state::data;
  }
  return parse_result::more(0);
}

parse_result body_decoder::feed(std::string_view in) noexcept {
  std::size_t used = 0;  // framing bytes consumed in this call
  for (;;) {
    const std::string_view rest = in.substr(used);
    switch (state_) {
      case state::done:
        return {parse_status::message_done, used, {}, no_error};
      case state::length:
        if (remaining_ == 0) {
          state_ = state::done;
          return {parse_status::message_done, used, {}, no_error};
        }
        if (rest.empty()) return parse_result::more(used);
        return body_piece(in, used, remaining_);
      case state::until_close:
        // remaining_ is what the limit still allows: hand out bytes up to it, then fail, so
        // that the outcome does not depend on how the input was split.
        if (rest.empty()) return parse_result::more(used);
        if (remaining_ == 0) return parse_result::fail(error::body_too_large);
        return body_piece(in, used, remaining_);
      case state::size_line: {
        std::size_t line = 0;
        parse_result r = size_line(rest, line);
        if (r.status == parse_status::error) return r;
        if (line == 0) return parse_result::more(used);
        used += line;
        break;
      }
      case state::data:
        if (remaining_ == 0) {
          state_ = state::data_crlf;
          break;
        }
        if (rest.empty()) return parse_result::more(used);
        return body_piece(in, used, remaining_);
      case state::data_crlf:
        if (rest.empty()) return parse_result::more(used);
        if (rest[0] != '\r') return parse_result::fail(error::bad_chunk);
        if (rest.size() < 2) return parse_result::more(used);
        if (rest[1] != '\n') return parse_result::fail(error::bad_chunk);
        used += 2;
        state_ = state::size_line;
        break;
      case state::trailer: {
        // Trailer fields are validated and dropped: we give no meaning to any of them.
        const void* p = std::memchr(rest.data() + scan_, '\n', rest.size() - scan_);
        if (p == nullptr) {
          scan_ = rest.size();
          if (trailer_bytes_ + rest.size() >= max_trailer_) {
            return parse_result::fail(error::headers_too_large);
          }
          return parse_result::more(used);
        }
        const auto lf = static_cast<std::size_t>(static_cast<const char*>(p) - rest.data());
        if (trailer_bytes_ + lf + 1 > max_trailer_) {
          return parse_result::fail(error::headers_too_large);
        }
        if (lf == 0 || rest[lf - 1] != '\r') return parse_result::fail(error::bad_line_ending);
        const std::string_view line = rest.substr(0, lf - 1);
        scan_ = 0;
        used += lf + 1;
        trailer_bytes_ += lf + 1;
        if (line.empty()) {
          state_ = state::done;
          return {parse_status::message_done, used, {}, no_error};
        }
        if (chars::is_ows(line.front())) return parse_result::fail(error::obs_fold);
        std::string_view name, value;
        if (const error e = split_field_line(line, name, value); e != no_error) {
          return parse_result::fail(e);
        }
        break;
      }
    }
  }
}

}  // namespace duplex::http::detail
