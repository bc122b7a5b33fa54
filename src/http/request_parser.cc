#include "http/request_parser.h"

#include <algorithm>
#include <cstring>

#include "base/assert.h"
#include "http/chars.h"
#include "http/method.h"

namespace duplex::http {
namespace {

constexpr std::uint8_t max_empty_lines = 4;

bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// absolute-form starts with a URI scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"
// (RFC 3986 §3.1); RFC 9112 §3.2.2 obliges a server to accept it.
bool has_scheme(std::string_view t) noexcept {
  if (t.empty() || !is_alpha(t[0])) return false;
  for (std::size_t i = 1; i < t.size(); ++i) {
    const char c = t[i];
    if (c == ':') return true;
    if (!is_alpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.') return false;
  }
  return false;
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

}  // namespace

void request_parser::reset() noexcept {
  state_ = state::line;
  error_ = no_error;
  next_message();
}

void request_parser::next_message() noexcept {
  seen_bytes_ = false;
  method_started_ = false;
  method_done_ = false;
  empty_lines_ = 0;
  line_ = method_scan_ = scan_ = 0;
  state_ = state::line;
}

parse_result request_parser::fail(error e) noexcept {
  state_ = state::failed;
  error_ = e;
  return parse_result::fail(e);
}

parse_result request_parser::feed(std::string_view in) noexcept {
  switch (state_) {
    case state::line: {
      if (!in.empty()) seen_bytes_ = true;
      parse_result r = parse_line(in);
      if (r.status != parse_status::head_done || state_ != state::fields) return r;
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
      if (r.status == parse_status::message_done) next_message();
      if (r.status == parse_status::error) return fail(r.err);
      return r;
    }
    case state::failed:
      return parse_result::fail(error_);
  }
  return fail(error::internal_error);
}

// Request line (RFC 9112 §3). Returns head_done as "continue with the fields" once it is valid.
parse_result request_parser::parse_line(std::string_view in) noexcept {
  DUPLEX_ASSERT(in.size() >= scan_ && in.size() >= line_);
  // RFC 9112 §2.2: SHOULD ignore at least one empty line received before the request-line.
  while (!method_started_) {
    if (line_ >= in.size()) return parse_result::more(0);
    if (in[line_] != '\r') {
      method_started_ = true;
      method_scan_ = scan_ = line_;
      break;
    }
    if (line_ + 1 >= in.size()) return parse_result::more(0);
    if (in[line_ + 1] != '\n') return fail(error::bad_line_ending);
    if (++empty_lines_ > max_empty_lines) return fail(error::bad_request);
    line_ += 2;
  }
  const std::size_t max = limits_.max_request_line;
  // Check the method as soon as its bytes arrive, so that garbage (a TLS hello on the plain
  // port) fails at once rather than after max_request_line bytes. Only the first `max` bytes
  // count, so that the result never depends on how the input was split.
  if (!method_done_) {
    const std::size_t cap = std::min(in.size(), line_ + max);
    for (; method_scan_ < cap; ++method_scan_) {
      const char c = in[method_scan_];
      if (c == ' ') {
        if (method_scan_ == line_) return fail(error::bad_method);
        method_done_ = true;
        break;
      }
      if (!chars::is_tchar(c)) return fail(error::bad_method);
    }
  }
  const void* p = std::memchr(in.data() + scan_, '\n', in.size() - scan_);
  if (p == nullptr) {
    scan_ = in.size();
    if (in.size() - line_ >= max) return fail(error::uri_too_long);
    return parse_result::more(0);
  }
  const auto lf = static_cast<std::size_t>(static_cast<const char*>(p) - in.data());
  if (lf + 1 - line_ > max) return fail(error::uri_too_long);
  if (!method_done_) return fail(error::bad_method);  // unreachable: the LF is not a tchar
  if (in[lf - 1] != '\r') return fail(error::bad_line_ending);
  const std::string_view line = in.substr(line_, lf - 1 - line_);
  if (const error e = request_line(line, method_scan_ - line_); e != no_error) return fail(e);
  state_ = state::fields;
  fields_.reset(lf + 1, limits_.max_header_bytes, limits_.max_headers);
  return {parse_status::head_done, 0, {}, no_error};
}

error request_parser::request_line(std::string_view line, std::size_t method_len) noexcept {
  // request-line = method SP request-target SP HTTP-version
  const std::string_view method_text = line.substr(0, method_len);
  const std::string_view rest = line.substr(method_len + 1);
  const std::size_t sp = rest.find(' ');
  const std::string_view target = rest.substr(0, sp);
  if (target.empty()) return error::bad_target;
  for (char c : target) {
    // RFC 9112 §3.2: request-target has no whitespace or controls; a fragment is never sent.
    if (!chars::is_target(c) || c == '#') return error::bad_target;
  }
  if (sp == std::string_view::npos) return error::bad_version;  // "GET /": HTTP/0.9
  const std::string_view version = rest.substr(sp + 1);
  // HTTP-version = "HTTP" "/" DIGIT "." DIGIT (RFC 9112 §2.3), case-sensitive.
  if (version.size() < 6 || version.substr(0, 5) != "HTTP/" || !is_digit(version[5])) {
    return error::bad_request;
  }
  if (version.size() == 6) return error::bad_version;  // "HTTP/2", "HTTP/3"
  if (version.size() != 8 || version[6] != '.' || !is_digit(version[7])) return error::bad_request;
  if (version[5] != '1') return error::bad_version;
  // RFC 9110 §2.5: a higher minor version of a major we implement is processed as the highest
  // minor we implement.
  version_minor_ = version[7] == '0' ? 0 : 1;

  const method verb = method_from_string(method_text);
  // RFC 9112 §3.2.3/§3.2.4: authority-form is for CONNECT only, asterisk-form for OPTIONS only.
  if (verb == method::connect) {
    if (target[0] == '/' || target == "*") return error::bad_target;
  } else if (target[0] != '/' && !(target == "*" && verb == method::options) &&
             !has_scheme(target)) {
    return error::bad_target;
  }
  method_len_ = static_cast<std::uint32_t>(method_len);
  target_off_ = static_cast<std::uint32_t>(line_ + method_len + 1);
  target_len_ = static_cast<std::uint32_t>(target.size());
  return no_error;
}

parse_result request_parser::finish_head(std::string_view in) noexcept {
  const detail::framing& f = fields_.frame();
  const bool http11 = version_minor_ == 1;
  bool chunked = false;
  std::uint64_t length = 0;
  if (f.has_transfer_encoding) {
    // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing; with Content-Length
    // it is a smuggling attempt; §6.3: chunked must be the final coding, else 400.
    if (!http11) return fail(error::bad_transfer_encoding);
    if (f.has_content_length) return fail(error::conflicting_framing);
    if (!f.chunked_final || f.chunked_twice) return fail(error::bad_transfer_encoding);
    if (f.other_coding) return fail(error::unsupported_transfer_coding);
    chunked = true;
  } else if (f.has_content_length) {
    if (f.content_length > limits_.max_body) return fail(error::body_too_large);
    length = f.content_length;
  }
  if (f.host_count > 1 || (http11 && limits_.require_host && f.host_count == 0)) {
    return fail(error::bad_host);  // RFC 9112 §3.2
  }

  head_.method_text = in.substr(line_, method_len_);
  head_.verb = method_from_string(head_.method_text);
  head_.target = in.substr(target_off_, target_len_);
  head_.version_minor = version_minor_;
  fields_.materialize(in, head_.fields);
  head_.content_length = length;
  head_.chunked = chunked;
  // RFC 9112 §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive".
  head_.keep_alive = !f.conn_close && (http11 || f.conn_keep_alive);

  if (chunked) {
    body_.start_chunked(limits_.max_body, limits_.max_header_bytes);
  } else {
    body_.start_length(length);
  }
  state_ = state::body;
  return {parse_status::head_done, fields_.end(), {}, no_error};
}

}  // namespace duplex::http
