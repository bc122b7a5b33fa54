#include "http/request_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http/feed_driver.h"

namespace duplex::http {
namespace {

using testing::drive;
using testing::drive_all;
using testing::drive_bytes;
using testing::run_record;

struct rcase {
  const char* name;
  std::string input;
  error err;                  // no_error: parsing must succeed
  std::string start = {};     // first message's "METHOD target minor", when checked
  std::string body = {};      // first message's body
  std::size_t messages = 1;   // complete messages expected (on success)
  request_parser::limits lim = {};
};

void PrintTo(const rcase& c, std::ostream* os) { *os << c.name; }

request_parser::limits small(std::size_t line, std::size_t hdr, std::size_t count, std::uint64_t body) {
  request_parser::limits l;
  l.max_request_line = line;
  l.max_header_bytes = hdr;
  l.max_headers = count;
  l.max_body = body;
  return l;
}

const std::string host = "Host: a\r\n";

std::vector<rcase> cases() {
  return {
      {"simple_get", "GET / HTTP/1.1\r\n" + host + "\r\n", no_error, "GET / 1"},
      {"query", "GET /ws?channel=a HTTP/1.1\r\n" + host + "\r\n", no_error, "GET /ws?channel=a 1"},
      {"post_length", "POST /api HTTP/1.1\r\n" + host + "Content-Length: 5\r\n\r\nhello", no_error,
       "POST /api 1", "hello"},
      {"chunked_ext_trailer",
       "POST /u HTTP/1.1\r\n" + host +
           "Transfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n6 ; x\r\n world\r\n0\r\nT: v\r\n\r\n",
       no_error, "POST /u 1", "hello world"},
      {"http10", "GET / HTTP/1.0\r\n\r\n", no_error, "GET / 0"},
      {"http17_as_11", "GET / HTTP/1.7\r\n" + host + "\r\n", no_error, "GET / 1"},
      {"absolute_form", "GET http://a/b HTTP/1.1\r\n" + host + "\r\n", no_error, "GET http://a/b 1"},
      {"options_star", "OPTIONS * HTTP/1.1\r\n" + host + "\r\n", no_error, "OPTIONS * 1"},
      {"leading_crlf", "\r\n\r\nGET / HTTP/1.1\r\n" + host + "\r\n", no_error, "GET / 1"},
      {"same_lengths", "PUT /x HTTP/1.1\r\n" + host + "Content-Length: 2\r\ncontent-length: 2\r\n\r\nok",
       no_error, "PUT /x 1", "ok"},
      {"unknown_method", "PURGE /x HTTP/1.1\r\n" + host + "\r\n", no_error, "PURGE /x 1"},
      {"pipelined",
       "GET /1 HTTP/1.1\r\n" + host + "\r\nPOST /2 HTTP/1.1\r\n" + host +
           "Content-Length: 3\r\n\r\nabcGET /3 HTTP/1.1\r\n" + host + "\r\n",
       no_error, "GET /1 1", "", 3},
      {"http2", "GET / HTTP/2.0\r\n" + host + "\r\n", error::bad_version},
      {"http3", "GET / HTTP/3\r\n" + host + "\r\n", error::bad_version},
      {"http09", "GET /\r\n\r\n", error::bad_version},
      {"h2_preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", error::bad_version},
      {"lowercase_version", "GET / http/1.1\r\n" + host + "\r\n", error::bad_request},
      {"version_junk", "GET / HTTP/1.1x\r\n" + host + "\r\n", error::bad_request},
      {"bare_lf_line", "GET / HTTP/1.1\n" + host + "\r\n", error::bad_line_ending},
      {"bare_lf_header", "GET / HTTP/1.1\r\nHost: a\n\r\n", error::bad_line_ending},
      {"bare_cr_header", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", error::bad_header},
      {"obs_fold", "GET / HTTP/1.1\r\n" + host + "X: a\r\n  b\r\n\r\n", error::obs_fold},
      {"space_before_colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", error::bad_header},
      {"bad_name", "GET / HTTP/1.1\r\n" + host + "X(y): 1\r\n\r\n", error::bad_header},
      {"nul_in_value", std::string("GET / HTTP/1.1\r\n") + host + "X: a" + '\0' + "b\r\n\r\n",
       error::bad_header},
      {"cl_sign", "POST / HTTP/1.1\r\n" + host + "Content-Length: +5\r\n\r\n", error::bad_content_length},
      {"cl_list", "POST / HTTP/1.1\r\n" + host + "Content-Length: 5, 5\r\n\r\n",
       error::bad_content_length},
      {"cl_disagree", "POST / HTTP/1.1\r\n" + host + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
       error::bad_content_length},
      {"cl_overflow", "POST / HTTP/1.1\r\n" + host + "Content-Length: 184467440737095516160\r\n\r\n",
       error::bad_content_length},
      {"cl_and_te", "POST / HTTP/1.1\r\n" + host +
                        "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
       error::conflicting_framing},
      {"te_not_final", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, gzip\r\n\r\n",
       error::bad_transfer_encoding},
      {"te_gzip_chunked", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip, chunked\r\n\r\n",
       error::unsupported_transfer_coding},
      {"te_twice", "POST / HTTP/1.1\r\n" + host +
                       "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
       error::bad_transfer_encoding},
      {"te_http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
       error::bad_transfer_encoding},
      {"chunk_bad_size", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\nzz\r\n",
       error::bad_chunk},
      {"chunk_no_crlf", "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n2\r\nabX",
       error::bad_chunk},
      {"chunk_overflow",
       "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
       error::bad_chunk},
      {"uri_too_long", "GET /" + std::string(100, 'a') + " HTTP/1.1\r\n" + host + "\r\n",
       error::uri_too_long, "", "", 1, small(64, 1024, 8, 100)},
      {"uri_too_long_no_lf", "GET /" + std::string(100, 'a'), error::uri_too_long, "", "", 1,
       small(64, 1024, 8, 100)},
      {"headers_too_large", "GET / HTTP/1.1\r\n" + host + "X: " + std::string(100, 'v') + "\r\n\r\n",
       error::headers_too_large, "", "", 1, small(64, 64, 8, 100)},
      {"too_many_headers", "GET / HTTP/1.1\r\n" + host + "A: 1\r\nB: 2\r\nC: 3\r\n\r\n",
       error::too_many_headers, "", "", 1, small(64, 1024, 3, 100)},
      {"body_too_large", "POST / HTTP/1.1\r\n" + host + "Content-Length: 101\r\n\r\n",
       error::body_too_large, "", "", 1, small(64, 1024, 8, 100)},
      {"chunked_too_large",
       "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n32\r\n" + std::string(50, 'x') +
           "\r\n33\r\n",
       error::body_too_large, "", "", 1, small(64, 1024, 8, 100)},
      {"trailers_too_large",
       "POST / HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n0\r\nT: " + std::string(80, 't') +
           "\r\n\r\n",
       error::headers_too_large, "", "", 1, small(64, 64, 8, 100)},
      {"bad_method", "G(T / HTTP/1.1\r\n" + host + "\r\n", error::bad_method},
      {"tls_hello", std::string("\x16\x03\x01\x02\x00", 5), error::bad_method},
      {"empty_method", " / HTTP/1.1\r\n" + host + "\r\n", error::bad_method},
      {"double_space", "GET  / HTTP/1.1\r\n" + host + "\r\n", error::bad_target},
      {"ctl_in_target", "GET /a\x7f HTTP/1.1\r\n" + host + "\r\n", error::bad_target},
      {"utf8_in_target", "GET /\xc3\xa9 HTTP/1.1\r\n" + host + "\r\n", error::bad_target},
      {"fragment", "GET /a#b HTTP/1.1\r\n" + host + "\r\n", error::bad_target},
      {"star_for_get", "GET * HTTP/1.1\r\n" + host + "\r\n", error::bad_target},
      {"relative_target", "GET a/b HTTP/1.1\r\n" + host + "\r\n", error::bad_target},
      {"no_host", "GET / HTTP/1.1\r\n\r\n", error::bad_host},
      {"two_hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", error::bad_host},
      {"too_many_empty_lines", "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n" + host + "\r\n",
       error::bad_request},
  };
}

class request_table : public ::testing::TestWithParam<rcase> {};

TEST_P(request_table, same_outcome_however_split) {
  const rcase& c = GetParam();
  request_parser whole(c.lim), bytes(c.lim), sevens(c.lim);
  const run_record a = drive_all(whole, c.input);
  const run_record b = drive_bytes(bytes, c.input);
  const run_record d = drive(sevens, c.input, [] { return std::size_t{7}; });
  EXPECT_TRUE(a.contract_ok);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, d);
  EXPECT_EQ(a.err, c.err) << info(a.err).detail;
  if (c.err == no_error) {
    ASSERT_EQ(a.messages.size(), c.messages);
    for (const auto& m : a.messages) EXPECT_TRUE(m.done);
    if (!c.start.empty()) {
      EXPECT_EQ(a.messages[0].start, c.start);
    }
    EXPECT_EQ(a.messages[0].body, c.body);
    EXPECT_EQ(a.left, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(cases, request_table, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(request_parser, head_fields_and_views) {
  const std::string in =
      "GET /connection/websocket?x=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n"
      "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "X-Empty:\r\nX-Pad: \t v \t\r\n\r\n";
  request_parser p;
  const parse_result r = p.feed(in);
  ASSERT_EQ(r.status, parse_status::head_done);
  EXPECT_EQ(r.consumed, in.size());
  const request_head& h = p.head();
  EXPECT_EQ(h.verb, method::get);
  EXPECT_EQ(h.path(), "/connection/websocket");
  EXPECT_EQ(h.query(), "x=1");
  EXPECT_TRUE(h.keep_alive);
  EXPECT_TRUE(h.fields.has_token("connection", "upgrade"));
  EXPECT_EQ(h.fields.find("sec-websocket-key"), "dGhlIHNhbXBsZSBub25jZQ==");
  EXPECT_EQ(h.fields.find("X-Empty"), "");
  EXPECT_EQ(h.fields.find("x-pad"), "v");
  EXPECT_EQ(h.fields.list.size(), 6u);
  // Views point into the caller's bytes.
  EXPECT_GE(h.target.data(), in.data());
  EXPECT_LT(h.target.data(), in.data() + in.size());
  const parse_result done = p.feed(std::string_view(in).substr(r.consumed));
  EXPECT_EQ(done.status, parse_status::message_done);
  EXPECT_EQ(done.consumed, 0u);
  EXPECT_TRUE(p.idle());
}

TEST(request_parser, keep_alive_rules) {
  auto ka = [](const std::string& in) {
    request_parser p;
    EXPECT_EQ(p.feed(in).status, parse_status::head_done);
    return p.head().keep_alive;
  };
  EXPECT_TRUE(ka("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_FALSE(ka("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
  EXPECT_FALSE(ka("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_TRUE(ka("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
}

TEST(request_parser, body_streams_without_buffering) {
  request_parser p;
  std::string head = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n";
  ASSERT_EQ(p.feed(head).status, parse_status::head_done);
  parse_result r = p.feed(std::string_view("0123"));
  ASSERT_EQ(r.status, parse_status::body);
  EXPECT_EQ(r.body, "0123");
  EXPECT_EQ(r.consumed, 4u);
  EXPECT_EQ(p.feed(std::string_view()).status, parse_status::need_more);
  r = p.feed(std::string_view("456789GET"));
  ASSERT_EQ(r.status, parse_status::body);
  EXPECT_EQ(r.body, "456789");
  EXPECT_EQ(r.consumed, 6u);
  r = p.feed(std::string_view("GET"));
  EXPECT_EQ(r.status, parse_status::message_done);
  EXPECT_EQ(r.consumed, 0u);
  EXPECT_EQ(p.feed(std::string_view("GET")).status, parse_status::need_more);
}

TEST(request_parser, chunk_framing_is_consumed_as_it_goes) {
  request_parser p;
  ASSERT_EQ(p.feed("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n").status,
            parse_status::head_done);
  EXPECT_TRUE(p.head().chunked);
  parse_result r = p.feed(std::string_view("3\r\nab"));
  ASSERT_EQ(r.status, parse_status::body);
  EXPECT_EQ(r.body, "ab");
  EXPECT_EQ(r.consumed, 5u);
  r = p.feed(std::string_view("c\r"));
  ASSERT_EQ(r.status, parse_status::body);
  EXPECT_EQ(r.body, "c");
  r = p.feed(std::string_view("\r"));
  EXPECT_EQ(r.status, parse_status::need_more);
  EXPECT_EQ(r.consumed, 0u);
  r = p.feed(std::string_view("\r\n0\r\n\r\n"));
  EXPECT_EQ(r.status, parse_status::message_done);
  EXPECT_EQ(r.consumed, 7u);
}

TEST(request_parser, error_is_sticky_until_reset) {
  request_parser p;
  EXPECT_EQ(p.feed("GET / HTTP/2.0\r\n").err, error::bad_version);
  EXPECT_EQ(p.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n").err, error::bad_version);
  p.reset();
  EXPECT_EQ(p.feed("GET / HTTP/1.1\r\nHost: a\r\n\r\n").status, parse_status::head_done);
}

TEST(request_parser, byte_span_overload_and_buffer_moves) {
  // The caller may move its bytes between feeds; the parser keeps offsets only.
  const std::string full = "GET /moved HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\n";
  request_parser p;
  std::string first = full.substr(0, 25);
  EXPECT_EQ(p.feed(std::as_bytes(std::span(first.data(), first.size()))).status,
            parse_status::need_more);
  std::vector<char> second(full.begin(), full.end());  // a different allocation
  first.assign(100, 'z');
  const parse_result r = p.feed(std::string_view(second.data(), second.size()));
  ASSERT_EQ(r.status, parse_status::head_done);
  EXPECT_EQ(p.head().target, "/moved");
  EXPECT_EQ(p.head().fields.find("x"), "y");
}

TEST(request_parser, host_optional_when_configured) {
  request_parser::limits l;
  l.require_host = false;
  request_parser p(l);
  EXPECT_EQ(p.feed("GET / HTTP/1.1\r\n\r\n").status, parse_status::head_done);
}

TEST(request_parser, long_head_fed_bytewise_is_linear) {
  // 60 headers of ~250 bytes fed one byte at a time: a parser that rescanned from the start
  // would do ~1e8 steps; this stays well under a second even with sanitizers.
  std::string in = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 60; ++i) in += "X-" + std::to_string(i) + ": " + std::string(250, 'v') + "\r\n";
  in += "\r\n";
  request_parser::limits l;
  l.max_header_bytes = 1 << 20;
  request_parser p(l);
  const run_record r = drive_bytes(p, in);
  ASSERT_EQ(r.err, no_error);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].fields.size(), 61u);
}

}  // namespace
}  // namespace duplex::http
