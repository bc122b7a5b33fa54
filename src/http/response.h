// Building HTTP/1.1 responses into a caller-owned std::string (appended to, never cleared), so
// that a connection can gather several responses and headers into one output write.
//
//   std::string out;
//   http::response_writer w(out);
//   w.status(200);
//   w.header("Date", dates.get(std::chrono::system_clock::now()));
//   w.header("Content-Type", "text/plain");
//   w.body("hello");           // adds Content-Length, the blank line and the bytes
//
// Field names and values are checked: a name that is not a token or a value holding CR, LF or
// NUL (response splitting) is not written and makes ok() false; the caller should then send
// error_response(error::internal_error) instead.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "http/error.h"

namespace duplex::http {

// Reason phrase of a status code (RFC 9110 §15), or "" for codes we do not know.
std::string_view reason_phrase(int status) noexcept;

class response_writer {
 public:
  explicit response_writer(std::string& out) noexcept : out_(out) {}

  // "HTTP/1.1 <code> <reason>\r\n"; an empty reason takes reason_phrase(code).
  response_writer& status(int code, std::string_view reason = {});
  response_writer& header(std::string_view name, std::string_view value);
  response_writer& header(std::string_view name, std::uint64_t value);
  // Content-Length, the end of the head, then the body. For a HEAD reply pass the length the
  // GET would have had through body_length() instead.
  void body(std::string_view bytes);
  void body_length(std::uint64_t n);
  // The end of the head without Content-Length (101, 204, 304, chunked or streaming replies).
  void end_head();

  bool ok() const noexcept { return ok_; }

 private:
  std::string& out_;
  bool ok_ = true;
};

// The full bytes of the reply for `e`: status line, Content-Type: text/plain, Connection: close,
// Content-Length and info(e).detail plus "\n" as body. Built once per error, static storage;
// no Date (the caller that has a date_cache can use write_error_response instead).
std::string_view error_response(error e) noexcept;
// The same reply with a Date field, appended to out. `extra_fields` is inserted verbatim
// before the blank line (each line ending in CRLF), e.g. "Allow: GET, HEAD\r\n" for 405.
// With close == false the Connection: close field is left out (a 404 from a router or static
// files need not end a healthy keep-alive connection; parser errors always should).
void write_error_response(std::string& out, error e, std::string_view date,
                          std::string_view extra_fields = {}, bool close = true);

// Formats t as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", RFC 9110 §5.6.7) into buf;
// returns the 29 written characters.
std::string_view format_http_date(std::time_t t, char (&buf)[32]) noexcept;

// The Date header value, formatted at most once per second. One per loop thread (not
// thread-safe); the view stays valid until the next get() with a different second.
class date_cache {
 public:
  std::string_view get(std::chrono::system_clock::time_point now) noexcept;

 private:
  std::time_t second_ = -1;
  char buf_[32] = {};
  std::string_view text_;
};

}  // namespace duplex::http
