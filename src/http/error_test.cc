#include "http/error.h"

#include <gtest/gtest.h>

#include <string>

#include "http/response.h"
#include "http/response_parser.h"

namespace duplex::http {
namespace {

TEST(error_table, statuses) {
  EXPECT_EQ(status_of(error::bad_request), 400);
  EXPECT_EQ(status_of(error::obs_fold), 400);
  EXPECT_EQ(status_of(error::forbidden), 403);
  EXPECT_EQ(status_of(error::not_found), 404);
  EXPECT_EQ(status_of(error::method_not_allowed), 405);
  EXPECT_EQ(status_of(error::request_timeout), 408);
  EXPECT_EQ(status_of(error::body_too_large), 413);
  EXPECT_EQ(status_of(error::uri_too_long), 414);
  EXPECT_EQ(status_of(error::headers_too_large), 431);
  EXPECT_EQ(status_of(error::too_many_headers), 431);
  EXPECT_EQ(status_of(error::unsupported_transfer_coding), 501);
  EXPECT_EQ(status_of(error::bad_version), 505);
  EXPECT_EQ(info(error::headers_too_large).phrase, "Request Header Fields Too Large");
  EXPECT_EQ(status_of(static_cast<error>(250)), 500);  // out of range: never crashes
}

TEST(error_table, every_error_has_a_consistent_row) {
  for (int i = 1; i <= static_cast<int>(error::bad_status); ++i) {
    const error_info& r = info(static_cast<error>(i));
    EXPECT_GE(r.status, 400) << i;
    EXPECT_LT(r.status, 600) << i;
    EXPECT_EQ(r.phrase, reason_phrase(r.status)) << i;
    EXPECT_FALSE(r.detail.empty()) << i;
  }
}

TEST(error_table, error_code_support) {
  const std::error_code ec = error::uri_too_long;
  EXPECT_EQ(ec.category().name(), std::string("duplex.http"));
  EXPECT_EQ(ec.message(), "request line too long");
  EXPECT_TRUE(ec);
  EXPECT_FALSE(make_error_code(no_error));
}

TEST(error_table, error_response_parses_back) {
  for (int i = 1; i <= static_cast<int>(error::bad_status); ++i) {
    const auto e = static_cast<error>(i);
    const std::string_view bytes = error_response(e);
    response_parser p;
    const parse_result h = p.feed(bytes);
    ASSERT_EQ(h.status, parse_status::head_done) << bytes;
    EXPECT_EQ(p.head().status, status_of(e));
    EXPECT_FALSE(p.head().keep_alive);
    EXPECT_EQ(p.head().fields.find("content-type"), "text/plain");
    const parse_result b = p.feed(bytes.substr(h.consumed));
    ASSERT_EQ(b.status, parse_status::body);
    EXPECT_EQ(b.body, std::string(info(e).detail) + "\n");
    EXPECT_EQ(h.consumed + b.consumed, bytes.size());
  }
}

}  // namespace
}  // namespace duplex::http
