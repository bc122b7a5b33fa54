#include "http/response.h"

#include <array>
#include <charconv>

#include "http/chars.h"

namespace duplex::http {
namespace {

void append_number(std::string& out, std::uint64_t n) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, r.ptr);
}

bool valid_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (char c : name) {
    if (!chars::is_tchar(c)) return false;
  }
  return true;
}

bool valid_value(std::string_view value) noexcept {
  for (char c : value) {
    if (!chars::is_field_vchar(c)) return false;
  }
  return true;
}

void build_error(std::string& out, error e, std::string_view date, std::string_view extra,
                 bool close) {
  const error_info& i = info(e);
  response_writer w(out);
  w.status(i.status, i.phrase);
  if (!date.empty()) w.header("Date", date);
  w.header("Content-Type", "text/plain");
  if (close) w.header("Connection", "close");
  out.append(extra);
  w.header("Content-Length", static_cast<std::uint64_t>(i.detail.size() + 1));
  out.append("\r\n");
  out.append(i.detail);
  out.push_back('\n');
}

}  // namespace

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return {};
  }
}

response_writer& response_writer::status(int code, std::string_view reason) {
  if (code < 100 || code > 999) {
    ok_ = false;
    code = 500;
    reason = {};
  }
  if (reason.empty()) reason = reason_phrase(code);
  if (!valid_value(reason)) {
    ok_ = false;
    reason = {};
  }
  out_.append("HTTP/1.1 ");
  append_number(out_, static_cast<std::uint64_t>(code));
  out_.push_back(' ');
  out_.append(reason);
  out_.append("\r\n");
  return *this;
}

response_writer& response_writer::header(std::string_view name, std::string_view value) {
  if (!valid_name(name) || !valid_value(value)) {
    ok_ = false;
    return *this;
  }
  out_.append(name);
  out_.append(": ");
  out_.append(value);
  out_.append("\r\n");
  return *this;
}

response_writer& response_writer::header(std::string_view name, std::uint64_t value) {
  if (!valid_name(name)) {
    ok_ = false;
    return *this;
  }
  out_.append(name);
  out_.append(": ");
  append_number(out_, value);
  out_.append("\r\n");
  return *this;
}

void response_writer::body(std::string_view bytes) {
  body_length(bytes.size());
  out_.append(bytes);
}

void response_writer::body_length(std::uint64_t n) {
  header("Content-Length", n);
  out_.append("\r\n");
}

void response_writer::end_head() { out_.append("\r\n"); }

std::string_view error_response(error e) noexcept {
  // Built on first use, then shared read-only by all threads (thread-safe static init).
  static const auto replies = [] {
    std::array<std::string, static_cast<std::size_t>(error::bad_status) + 1> r;
    for (std::size_t i = 0; i < r.size(); ++i) build_error(r[i], static_cast<error>(i), {}, {}, true);
    return r;
  }();
  const auto i = static_cast<std::size_t>(e);
  return i < replies.size() ? std::string_view(replies[i])
                            : std::string_view(replies[static_cast<std::size_t>(error::internal_error)]);
}

void write_error_response(std::string& out, error e, std::string_view date,
                          std::string_view extra_fields, bool close) {
  build_error(out, e, date, extra_fields, close);
}

std::string_view format_http_date(std::time_t t, char (&buf)[32]) noexcept {
  static constexpr char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::tm tm{};
  gmtime_r(&t, &tm);
  auto two = [](char* p, int v) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
  };
  char* p = buf;
  for (int i = 0; i < 3; ++i) *p++ = days[tm.tm_wday % 7][i];
  *p++ = ',';
  *p++ = ' ';
  two(p, tm.tm_mday);
  p += 2;
  *p++ = ' ';
  for (int i = 0; i < 3; ++i) *p++ = months[tm.tm_mon % 12][i];
  *p++ = ' ';
  const int year = tm.tm_year + 1900;
  two(p, (year / 100) % 100);
  two(p + 2, year % 100);
  p += 4;
  *p++ = ' ';
  two(p, tm.tm_hour);
  p[2] = ':';
  two(p + 3, tm.tm_min);
  p[5] = ':';
  two(p + 6, tm.tm_sec);
  p += 8;
  for (char c : std::string_view(" GMT")) *p++ = c;
  *p = '\0';
  return {buf, static_cast<std::size_t>(p - buf)};
}

std::string_view date_cache::get(std::chrono::system_clock::time_point now) noexcept {
  const std::time_t s = std::chrono::system_clock::to_time_t(now);
  if (s != second_) {
    second_ = s;
    text_ = format_http_date(s, buf_);
  }
  return text_;
}

}  // namespace duplex::http
