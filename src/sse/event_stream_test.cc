#include "sse/event_stream.h"

#include <gtest/gtest.h>

#include "http/request_parser.h"

namespace duplex::sse {
namespace {

TEST(EventStream, EventLinesAndSize) {
  std::string out;
  append_event(out, "hello", "7", "pub");
  EXPECT_EQ(out, "id: 7\nevent: pub\ndata: hello\n\n");
  EXPECT_EQ(event_size("hello", "7", "pub"), out.size());
  out.clear();
  // Every line break style splits data lines; the last empty line is kept.
  append_event(out, "a\nb\r\nc\rd\n");
  EXPECT_EQ(out, "data: a\ndata: b\ndata: c\ndata: d\ndata: \n\n");
  EXPECT_EQ(event_size("a\nb\r\nc\rd\n"), out.size());
  out.clear();
  append_event(out, "");
  EXPECT_EQ(out, "data: \n\n");
}

TEST(EventStream, CommentRetryAndChunks) {
  std::string out;
  append_comment(out, "ping");
  append_comment(out, "");
  append_retry(out, std::chrono::milliseconds(1500));
  EXPECT_EQ(out, ": ping\n\n:\n\nretry: 1500\n\n");
  out.clear();
  append_chunk(out, std::string(26, 'x'));
  append_chunk(out, "");
  EXPECT_EQ(out, "1a\r\n" + std::string(26, 'x') + "\r\n");
}

TEST(EventStream, ResponseHeadForbidsCachingAndBuffering) {
  response_options o;
  o.headers = {{"Access-Control-Allow-Origin", "https://a.example"}};
  std::string h = response_head(o, "Wed, 25 Nov 2026 10:00:00 GMT");
  EXPECT_EQ(h.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_NE(h.find("Content-Type: text/event-stream"), std::string::npos);
  EXPECT_NE(h.find("Cache-Control: no-cache"), std::string::npos);
  EXPECT_NE(h.find("X-Accel-Buffering: no\r\n"), std::string::npos);
  EXPECT_NE(h.find("Access-Control-Allow-Origin: https://a.example\r\n"), std::string::npos);
  EXPECT_EQ(h.find("Transfer-Encoding"), std::string::npos);
  EXPECT_EQ(h.substr(h.size() - 4), "\r\n\r\n");
  o.mode = body_mode::chunked;
  h = response_head(o, "");
  EXPECT_NE(h.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_NE(h.find("Content-Type: application/json"), std::string::npos);
}

TEST(EventStream, LastEventIdFromHeaderOrQuery) {
  auto parse = [](std::string_view text, auto&& check) {
    http::request_parser p;
    ASSERT_EQ(p.feed(text).status, http::parse_status::head_done) << text;
    check(p.head());
  };
  parse("GET /events?channel=a HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 42\r\n\r\n",
        [](const http::request_head& h) { EXPECT_EQ(last_event_id(h), "42"); });
  parse("GET /events?channel=a&lastEventId=a%3A7 HTTP/1.1\r\nHost: x\r\n\r\n",
        [](const http::request_head& h) { EXPECT_EQ(last_event_id(h), "a:7"); });
  parse("GET /events?channel=a HTTP/1.1\r\nHost: x\r\n\r\n",
        [](const http::request_head& h) { EXPECT_FALSE(last_event_id(h).has_value()); });
}

}  // namespace
}  // namespace duplex::sse
