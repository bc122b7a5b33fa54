#include "http/response.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace duplex::http {
namespace {

TEST(response_writer, builds_a_reply) {
  std::string out = "prefix|";
  response_writer w(out);
  w.status(200).header("Content-Type", "text/plain").header("X-N", std::uint64_t{42});
  w.body("hello");
  EXPECT_TRUE(w.ok());
  EXPECT_EQ(out,
            "prefix|HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-N: 42\r\n"
            "Content-Length: 5\r\n\r\nhello");
}

TEST(response_writer, refuses_response_splitting) {
  std::string out;
  response_writer w(out);
  w.status(302).header("Location", "/a\r\nSet-Cookie: x=1");
  EXPECT_FALSE(w.ok());
  EXPECT_EQ(out.find("Set-Cookie"), std::string::npos);
  std::string out2;
  response_writer w2(out2);
  w2.status(200).header("Bad Name", "v");
  EXPECT_FALSE(w2.ok());
}

TEST(response_writer, custom_reason_and_end_head) {
  std::string out;
  response_writer w(out);
  w.status(101).header("Upgrade", "websocket").end_head();
  EXPECT_EQ(out, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n");
  out.clear();
  response_writer(out).status(299, "Custom").end_head();
  EXPECT_EQ(out, "HTTP/1.1 299 Custom\r\n\r\n");
}

TEST(error_response, full_bytes) {
  EXPECT_EQ(error_response(error::headers_too_large),
            "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain\r\n"
            "Connection: close\r\nContent-Length: 25\r\n\r\nheader section too large\n");
  std::string out;
  write_error_response(out, error::method_not_allowed, "Sun, 06 Nov 1994 08:49:37 GMT",
                       "Allow: GET, HEAD\r\n", false);
  EXPECT_EQ(out,
            "HTTP/1.1 405 Method Not Allowed\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            "Content-Type: text/plain\r\nAllow: GET, HEAD\r\nContent-Length: 19\r\n\r\n"
            "method not allowed\n");
}

TEST(date, imf_fixdate) {
  char buf[32];
  EXPECT_EQ(format_http_date(784111777, buf), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(format_http_date(0, buf), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(format_http_date(951782400, buf), "Tue, 29 Feb 2000 00:00:00 GMT");
}

TEST(date, cache_changes_once_per_second) {
  date_cache c;
  using namespace std::chrono;
  const system_clock::time_point t0{seconds(784111777)};
  const std::string_view a = c.get(t0);
  EXPECT_EQ(a, "Sun, 06 Nov 1994 08:49:37 GMT");
  const std::string_view b = c.get(t0 + milliseconds(999));
  EXPECT_EQ(b.data(), a.data());
  EXPECT_EQ(b, "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(c.get(t0 + seconds(1)), "Sun, 06 Nov 1994 08:49:38 GMT");
}

}  // namespace
}  // namespace duplex::http
