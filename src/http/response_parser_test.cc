#include "http/response_parser.h"

#include <gtest/gtest.h>

#include <string>

#include "http/feed_driver.h"

namespace duplex::http {
namespace {

using testing::drive;
using testing::drive_all;
using testing::drive_bytes;
using testing::run_record;

run_record all_ways(const std::string& in, bool head_reply = false,
                    response_parser::limits lim = {}) {
  response_parser a(lim), b(lim), c(lim);
  a.expect_head_response(head_reply);
  b.expect_head_response(head_reply);
  c.expect_head_response(head_reply);
  const run_record ra = drive_all(a, in);
  EXPECT_TRUE(ra.contract_ok);
  EXPECT_EQ(ra, drive_bytes(b, in));
  EXPECT_EQ(ra, drive(c, in, [] { return std::size_t{5}; }));
  return ra;
}

TEST(response_parser, switching_protocols_leaves_the_rest) {
  const std::string in =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
  response_parser p;
  const std::string wire = in + "\x81\x02hi";
  const parse_result r = p.feed(wire);
  ASSERT_EQ(r.status, parse_status::head_done);
  EXPECT_EQ(r.consumed, in.size());
  EXPECT_EQ(p.head().status, 101);
  EXPECT_EQ(p.head().reason, "Switching Protocols");
  EXPECT_EQ(p.head().fields.find("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  const parse_result d = p.feed(std::string_view(wire).substr(r.consumed));
  EXPECT_EQ(d.status, parse_status::message_done);
  EXPECT_EQ(d.consumed, 0u);  // the frame bytes belong to the WebSocket now
}

TEST(response_parser, content_length_body) {
  const run_record r = all_ways("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
  ASSERT_EQ(r.err, no_error);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].start, "200 OK 1");
  EXPECT_EQ(r.messages[0].body, "hello");
  EXPECT_TRUE(r.messages[0].done);
  EXPECT_TRUE(r.messages[0].keep_alive);
}

TEST(response_parser, chunked_body_with_trailer) {
  const run_record r = all_ways(
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\nT: 1\r\n\r\n");
  ASSERT_EQ(r.err, no_error);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_TRUE(r.messages[0].chunked);
  EXPECT_EQ(r.messages[0].body, "Wikipedia");
  EXPECT_TRUE(r.messages[0].done);
}

TEST(response_parser, body_until_close) {
  response_parser p;
  const std::string in = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nabc";
  const run_record r = drive_bytes(p, in);
  ASSERT_EQ(r.err, no_error);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].body, "abc");
  EXPECT_FALSE(r.messages[0].done);
  EXPECT_FALSE(r.messages[0].keep_alive);
  EXPECT_EQ(p.finish().status, parse_status::message_done);
  EXPECT_EQ(p.finish().status, parse_status::need_more);  // clean: between messages
}

TEST(response_parser, until_close_is_bounded) {
  response_parser::limits l;
  l.max_body = 4;
  const run_record r = all_ways("HTTP/1.1 200 OK\r\n\r\nabcdef", false, l);
  EXPECT_EQ(r.err, error::body_too_large);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].body, "abcd");
}

TEST(response_parser, no_body_statuses_and_head) {
  for (const char* in : {"HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n",
                         "HTTP/1.1 304 Not Modified\r\nContent-Length: 3\r\n\r\n",
                         "HTTP/1.1 100 Continue\r\n\r\n"}) {
    const run_record r = all_ways(in);
    ASSERT_EQ(r.err, no_error) << in;
    ASSERT_EQ(r.messages.size(), 1u) << in;
    EXPECT_TRUE(r.messages[0].done) << in;
  }
  const run_record h = all_ways("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", true);
  ASSERT_EQ(h.messages.size(), 1u);
  EXPECT_TRUE(h.messages[0].done);
}

TEST(response_parser, continue_then_final_and_pipelined) {
  const run_record r = all_ways(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
      "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n");
  ASSERT_EQ(r.err, no_error);
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[1].body, "ok");
  EXPECT_EQ(r.messages[2].start, "404  1");
}

TEST(response_parser, errors) {
  struct c {
    const char* in;
    error err;
  };
  for (const c& k : {
           c{"HTTP/1.1 20 OK\r\n\r\n", error::bad_status},
           c{"HTTP/1.1 099 X\r\n\r\n", error::bad_status},
           c{"HTTP/1.1 200OK\r\n\r\n", error::bad_status},
           c{"HTTP/2.0 200 OK\r\n\r\n", error::bad_version},
           c{"ICY 200 OK\r\n\r\n", error::bad_status},
           c{"HTTP/1.1 200 OK\nX: y\r\n\r\n", error::bad_line_ending},
           c{"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n", error::bad_content_length},
           c{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
             error::conflicting_framing},
           c{"HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", error::obs_fold},
           c{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nq\r\n", error::bad_chunk},
       }) {
    EXPECT_EQ(all_ways(k.in).err, k.err) << k.in;
  }
  response_parser::limits l;
  l.max_status_line = 16;
  EXPECT_EQ(all_ways("HTTP/1.1 200 A long reason phrase\r\n\r\n", false, l).err, error::bad_status);
}

TEST(response_parser, other_coding_reads_until_close) {
  response_parser p;
  const run_record r = drive_all(p, "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzzz");
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].body, "zzz");
  EXPECT_FALSE(r.messages[0].keep_alive);
  EXPECT_EQ(p.finish().status, parse_status::message_done);
}

TEST(response_parser, truncated_is_an_error_on_close) {
  response_parser p;
  EXPECT_EQ(p.feed("HTTP/1.1 200 OK\r\nContent-Le").status, parse_status::need_more);
  EXPECT_EQ(p.finish().err, error::incomplete_message);
  response_parser q;
  ASSERT_EQ(q.feed("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n").status, parse_status::head_done);
  EXPECT_EQ(q.finish().err, error::incomplete_message);
}

}  // namespace
}  // namespace duplex::http
