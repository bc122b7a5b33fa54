#include "http/fields_parser.h"

#include <cstring>
#include <limits>

#include "base/assert.h"
#include "http/chars.h"

namespace duplex::http::detail {
namespace {

std::string_view trim_ows(std::string_view v) noexcept {
  while (!v.empty() && chars::is_ows(v.front())) v.remove_prefix(1);
  while (!v.empty() && chars::is_ows(v.back())) v.remove_suffix(1);
  return v;
}

// Compares a field name with a lower-case literal; the length check rejects most names first.
bool name_is(std::string_view name, std::string_view lower_literal) noexcept {
  return name.size() == lower_literal.size() && iequals(name, lower_literal);
}

}  // namespace

bool parse_content_length(std::string_view v, std::uint64_t& out) noexcept {
  if (v.empty()) return false;
  std::uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (n > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return false;
    n = n * 10 + d;
  }
  out = n;
  return true;
}

error split_field_line(std::string_view line, std::string_view& name,
                       std::string_view& value) noexcept {
  std::size_t i = 0;
  while (i < line.size() && chars::is_tchar(line[i])) ++i;
  // RFC 9112 §5.1: no whitespace is allowed between the field name and the colon; a server
  // MUST reject such a message with 400. An empty name is not a token.
  if (i == 0 || i == line.size() || line[i] != ':') return error::bad_header;
  name = line.substr(0, i);
  value = trim_ows(line.substr(i + 1));
  for (char c : value) {
    // RFC 9110 §5.5: CR, LF and NUL (and other CTLs) are invalid in field values.
    if (!chars::is_field_vchar(c)) return error::bad_header;
  }
  return no_error;
}

void fields_parser::reset(std::size_t start, std::size_t max_bytes, std::size_t max_count) noexcept {
  DUPLEX_ASSERT(max_bytes < std::numeric_limits<std::uint32_t>::max() / 2);
  start_ = line_ = scan_ = start;
  max_bytes_ = max_bytes;
  max_count_ = max_count;
  frame_ = framing{};
  spans_.clear();
}

fields_parser::step fields_parser::feed(std::string_view in, error* err) noexcept {
  DUPLEX_ASSERT(in.size() >= scan_);
  const char* base = in.data();
  for (;;) {
    const void* p = std::memchr(base + scan_, '\n', in.size() - scan_);
    if (p == nullptr) {
      scan_ = in.size();
      // Even an LF as the next byte would make the section longer than allowed.
      if (in.size() - start_ >= max_bytes_) {
        *err = error::headers_too_large;
        return step::error;
      }
      return step::need_more;
    }
    const auto lf = static_cast<std::size_t>(static_cast<const char*>(p) - base);
    if (lf + 1 - start_ > max_bytes_) {
      *err = error::headers_too_large;
      return step::error;
    }
    // RFC 9112 §2.2: we do not accept a bare LF as a line terminator. Accepting it would make
    // us parse differently from a strict peer on the same path (request smuggling).
    if (lf == line_ || base[lf - 1] != '\r') {
      *err = error::bad_line_ending;
      return step::error;
    }
    const std::string_view line(base + line_, lf - 1 - line_);
    const std::size_t line_off = line_;
    line_ = scan_ = lf + 1;
    if (line.empty()) return step::done;
    // RFC 9112 §5.2: a server MUST reject obs-fold in a request with 400 (we do the same for
    // responses); whitespace before the first field line is rejected too (RFC 9112 §2.2).
    if (chars::is_ows(line.front())) {
      *err = error::obs_fold;
      return step::error;
    }
    if (spans_.size() >= max_count_) {
      *err = error::too_many_headers;
      return step::error;
    }
    std::string_view name, value;
    if (const error e = split_field_line(line, name, value); e != no_error) {
      *err = e;
      return step::error;
    }
    if (const error e = add(name, value); e != no_error) {
      *err = e;
      return step::error;
    }
    spans_.push_back(span{static_cast<std::uint32_t>(line_off),
                          static_cast<std::uint32_t>(name.size()),
                          static_cast<std::uint32_t>(value.data() - base),
                          static_cast<std::uint32_t>(value.size())});
  }
}

error fields_parser::add(std::string_view name, std::string_view value) noexcept {
  switch (name.size()) {
    case 4:
      if (name_is(name, "host")) ++frame_.host_count;
      break;
    case 10:
      if (name_is(name, "connection")) {
        if (http::has_token(value, "close")) frame_.conn_close = true;
        if (http::has_token(value, "keep-alive")) frame_.conn_keep_alive = true;
      }
      break;
    case 14:
      if (name_is(name, "content-length")) {
        // RFC 9110 §8.6: a list or differing duplicates make the framing unknowable; identical
        // duplicates are accepted. We take no comma lists at all.
        std::uint64_t n = 0;
        if (!parse_content_length(value, n)) return error::bad_content_length;
        if (frame_.has_content_length && frame_.content_length != n) {
          return error::bad_content_length;
        }
        frame_.has_content_length = true;
        frame_.content_length = n;
      }
      break;
    case 17:
      if (name_is(name, "transfer-encoding")) {
        // RFC 9112 §6.1: several Transfer-Encoding fields form one list, in order.
        frame_.has_transfer_encoding = true;
        bool any = false;
        std::string_view rest = value;
        while (!rest.empty()) {
          const std::size_t comma = rest.find(',');
          std::string_view item = rest.substr(0, comma);
          rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
          const std::size_t semi = item.find(';');
          std::string_view coding = trim_ows(item.substr(0, semi));
          if (coding.empty()) {
            if (semi != std::string_view::npos) return error::bad_transfer_encoding;
            continue;  // empty list elements are allowed (RFC 9110 §5.6.1)
          }
          for (char c : coding) {
            if (!chars::is_tchar(c)) return error::bad_transfer_encoding;
          }
          any = true;
          if (name_is(coding, "chunked")) {
            if (frame_.chunked_seen) frame_.chunked_twice = true;
            frame_.chunked_seen = true;
            frame_.chunked_final = true;
          } else {
            frame_.other_coding = true;
            frame_.chunked_final = false;
          }
        }
        if (!any) return error::bad_transfer_encoding;
      }
      break;
    default:
      break;
  }
  return no_error;
}

void fields_parser::materialize(std::string_view in, headers& out) const {
  out.list.clear();
  out.list.reserve(spans_.size());
  for (const span& s : spans_) {
    out.list.push_back(header{in.substr(s.name_off, s.name_len), in.substr(s.value_off, s.value_len)});
  }
}

}  // namespace duplex::http::detail
