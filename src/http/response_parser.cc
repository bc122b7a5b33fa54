#include "http/response_parser.h"

#include <cstring>

#include "base/assert.h"
#include "http/chars.h"

namespace duplex::http {
namespace {
bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
}  // namespace

void response_parser::reset() noexcept {
  state_ = state::line;
  error_ = no_error;
  seen_bytes_ = false;
  scan_ = 0;
}

parse_result response_parser::fail(error e) noexcept {
  state_ = state::failed;
  error_ = e;
  return parse_result::fail(e);
}

parse_result response_parser::finish() noexcept {
  switch (state_) {
    case state::line:
      if (!seen_bytes_) return parse_result::more(0);
      return fail(error::incomplete_message);
    case state::fields:
      return fail(error::incomplete_message);
    case state::body: {
      parse_result r = body_.finish();
      if (r.status == parse_status::error) return fail(r.err);
      reset();
      return r;
    }
    case state::failed:
      break;
  }
  return parse_result::fail(error_);
}

parse_result response_parser::feed(std::string_view in) noexcept {
  switch (state_) {
    case state::line: {
      if (!in.empty()) seen_bytes_ = true;
      parse_result r = parse_line(in);
      if (r.status != parse_status::head_done) return r;
      [[fallthrough]];
    }
    case state::fields: {
      error e = no_error;
      switch (fields_.feed(in, &e)) {
        case detail::fields_parser::step::need_more: return parse_result::more(0);
        case detail::fields_parser::step::error: return fail(e);
        case detail::fields_parser::step::done: return finish_head(in);
      }
      return fail(error::internal_error);
    }
    case state::body: {
      parse_result r = body_.feed(in);
      if (r.status == parse_status::message_done) reset();
      if (r.status == parse_status::error) return fail(r.err);
      return r;
    }
    case state::failed:
      return parse_result::fail(error_);
  }
  return fail(error::internal_error);
}

// status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4).
parse_result response_parser::parse_line(std::string_view in) noexcept {
  DUPLEX_ASSERT(in.size() >= scan_);
  const std::size_t max = limits_.max_status_line;
  const void* p = std::memchr(in.data() + scan_, '\n', in.size() - scan_);
  if (p == nullptr) {
    scan_ = in.size();
    if (in.size() >= max) return fail(error::bad_status);
    return parse_result::more(0);
  }
  const auto lf = static_cast<std::size_t>(static_cast<const char*>(p) - in.data());
  if (lf + 1 > max) return fail(error::bad_status);
  if (lf == 0 || in[lf - 1] != '\r') return fail(error::bad_line_ending);
  const std::string_view line = in.substr(0, lf - 1);
  if (line.size() < 12 || line.substr(0, 5) != "HTTP/" || !is_digit(line[5]) || line[6] != '.' ||
      !is_digit(line[7]) || line[8] != ' ') {
    return fail(error::bad_status);
  }
  if (line[5] != '1') return fail(error::bad_version);
  if (!is_digit(line[9]) || !is_digit(line[10]) || !is_digit(line[11]) || line[9] == '0') {
    return fail(error::bad_status);
  }
  std::string_view reason;
  if (line.size() > 12) {
    if (line[12] != ' ') return fail(error::bad_status);
    reason = line.substr(13);
    for (char c : reason) {
      if (!chars::is_field_vchar(c)) return fail(error::bad_status);
    }
  }
  // A missing SP after the code is tolerated: some servers omit it with an empty reason.
  version_minor_ = line[7] == '0' ? 0 : 1;  // RFC 9110 §2.5, as for requests
  status_ = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  reason_off_ = 13;
  reason_len_ = static_cast<std::uint32_t>(reason.size());
  state_ = state::fields;
  fields_.reset(lf + 1, limits_.max_header_bytes, limits_.max_headers);
  return {parse_status::head_done, 0, {}, no_error};
}

parse_result response_parser::finish_head(std::string_view in) noexcept {
  const detail::framing& f = fields_.frame();
  const bool http11 = version_minor_ == 1;
  head_.status = status_;
  head_.reason = reason_len_ ? in.substr(reason_off_, reason_len_) : std::string_view{};
  head_.version_minor = version_minor_;
  head_.content_length = 0;
  head_.has_content_length = false;
  head_.chunked = false;
  head_.keep_alive = !f.conn_close && (http11 || f.conn_keep_alive);

  const bool no_body = head_request_ || status_ < 200 || status_ == 204 || status_ == 304;
  head_request_ = false;
  if (no_body) {
    body_.start_length(0);
  } else if (f.has_transfer_encoding) {
    // RFC 9112 §6.3: Transfer-Encoding overrides Content-Length, but their presence together
    // "ought to be handled as an error"; we do.
    if (f.has_content_length) return fail(error::conflicting_framing);
    if (f.chunked_twice) return fail(error::bad_transfer_encoding);
    if (f.chunked_final) {
      head_.chunked = true;
      body_.start_chunked(limits_.max_body, limits_.max_header_bytes);
    } else {
      head_.keep_alive = false;
      body_.start_until_close(limits_.max_body);
    }
  } else if (f.has_content_length) {
    if (f.content_length > limits_.max_body) return fail(error::body_too_large);
    head_.has_content_length = true;
    head_.content_length = f.content_length;
    body_.start_length(f.content_length);
  } else {
    head_.keep_alive = false;
    body_.start_until_close(limits_.max_body);
  }
  fields_.materialize(in, head_.fields);
  state_ = state::body;
  return {parse_status::head_done, fields_.end(), {}, no_error};
}

}  // namespace duplex::http
