// Tests of the fan-out scenarios' message builders and line classifier, on the exact bytes the
// two servers write (duplex's Centrifugo pushes carry an "info" after the data; the Node peer's
// do not).
#include "fanout_protocol.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace duplex::bench {
namespace {

using kind = line_info::kind;

TEST(FanoutProtocol, CommandsHaveTheShapesBothServersRead) {
  std::string out;
  append_connect_command(out);
  EXPECT_EQ(out, R"({"id":1,"connect":{}})");
  out.clear();
  append_subscribe_command(out, "bench7");
  EXPECT_EQ(out, R"({"id":2,"subscribe":{"channel":"bench7"}})");
  out.clear();
  append_publish_command(out, dialect::centrifuge, 42, "bench", R"({"a":1})");
  EXPECT_EQ(out, R"({"id":42,"publish":{"channel":"bench","data":{"a":1}}})");
  out.clear();
  append_publish_command(out, dialect::raw, 42, "bench", R"({"a":1})");
  EXPECT_EQ(out, R"({"id":42,"channel":"bench","data":{"a":1}})");
}

TEST(FanoutProtocol, BenchDataIsPaddedToTheRequestedSize) {
  std::string d;
  append_bench_data(d, 3, 12345, 987654321, 64);
  EXPECT_EQ(d.size(), 64u);
  EXPECT_TRUE(d.starts_with(R"({"c":3,"s":12345,"t":987654321,"p":"xx)")) << d;
  EXPECT_TRUE(d.ends_with(R"(x"})")) << d;
  // Too small to pad: the numbers are kept whole and the padding is empty.
  d.clear();
  append_bench_data(d, 3, 12345, 987654321, 16);
  EXPECT_EQ(d, R"({"c":3,"s":12345,"t":987654321,"p":""})");
}

TEST(FanoutProtocol, ClassifiesOurPublicationInBothServersShapes) {
  std::string data;
  append_bench_data(data, 7, 99, 123456, 64);
  const std::vector<std::string> lines = {
      // duplex (Centrifugo v2): info after the data, offset when history is on.
      R"({"push":{"channel":"bench7","pub":{"data":)" + data +
          R"(,"info":{"client":"817c62b1-dacd-4509-aebb-15feb7476a65"},"offset":5}}})",
      // the Node broadcast peer
      R"({"push":{"channel":"bench7","pub":{"data":)" + data + "}}}",
  };
  for (const auto& line : lines) {
    line_info li = classify_line(line);
    EXPECT_EQ(li.what, kind::publication) << line;
    EXPECT_EQ(li.channel, 7u);
    EXPECT_EQ(li.seq, 99u);
    EXPECT_EQ(li.sent_ns, 123456u);
  }
}

TEST(FanoutProtocol, ClassifiesRepliesPingsAndTheRest) {
  EXPECT_EQ(classify_line("{}").what, kind::ping);
  line_info r = classify_line(R"({"id":1,"connect":{"client":"x","ping":25,"pong":true}})");
  EXPECT_EQ(r.what, kind::reply);
  EXPECT_EQ(r.id, 1u);
  r = classify_line(R"({"id":70000,"publish":{}})");
  EXPECT_EQ(r.what, kind::reply);
  EXPECT_EQ(r.id, 70000u);
  r = classify_line(R"({"id":2,"error":{"code":103,"message":"permission denied"}})");
  EXPECT_EQ(r.what, kind::error_reply);
  EXPECT_EQ(r.id, 2u);
  // Join pushes, publications that are not ours, damaged lines: not trusted as deliveries.
  EXPECT_EQ(classify_line(R"({"push":{"channel":"b","join":{"info":{"client":"x"}}}})").what,
            kind::other);
  EXPECT_EQ(classify_line(R"({"push":{"channel":"b","pub":{"data":{"text":"hi"}}}})").what,
            kind::other);
  EXPECT_EQ(classify_line(R"({"push":{"channel":"b","pub":{"data":{"c":1,"s":-1,"t":2,"p":""}}}})")
                .what,
            kind::other);
  EXPECT_EQ(classify_line(R"({"push":{"channel":"b","pub":{"data":{"c":1,"s":01,"t":2,"p":""}}}})")
                .what,
            kind::other);
  EXPECT_EQ(classify_line(R"({"push":{"channel":"b)").what, kind::other);
  EXPECT_EQ(classify_line(R"({"id":x})").what, kind::other);
  EXPECT_EQ(classify_line(R"({"id":99999999999999999999999,"publish":{}})").what, kind::other);
  EXPECT_EQ(classify_line("").what, kind::other);
}

TEST(FanoutProtocol, ClassifiesSseEvents) {
  std::string data;
  append_bench_data(data, 7, 99, 123456, 64);
  line_info li = classify_sse_event("bench7", data);
  EXPECT_EQ(li.what, kind::publication);
  EXPECT_EQ(li.channel, 7u);
  EXPECT_EQ(li.seq, 99u);
  EXPECT_EQ(li.sent_ns, 123456u);
  EXPECT_EQ(classify_sse_event(":subscribed", R"({"channel":"bench7"})").what, kind::subscribed);
  EXPECT_EQ(classify_sse_event(":gap", R"({"channel":"b","reason":"slow_consumer"})").what,
            kind::error_reply);
  EXPECT_EQ(classify_sse_event(":error", R"({"channel":"b","error":"x"})").what,
            kind::error_reply);
  // Server events are never publications, whatever their data; foreign data is not ours.
  EXPECT_EQ(classify_sse_event(":other", data).what, kind::other);
  EXPECT_EQ(classify_sse_event("bench7", R"({"text":"hi"})").what, kind::other);
  EXPECT_EQ(classify_sse_event("bench7", R"({"c":1,"s":x)").what, kind::other);
}

TEST(FanoutProtocol, ClassifiesUnidirectionalStreamLines) {
  std::string data;
  append_bench_data(data, 3, 5, 42, 64);
  // duplex's bare Push: data first, then info.
  line_info li = classify_uni_line(R"({"channel":"bench3","pub":{"data":)" + data +
                                   R"(,"info":{"client":"x"}}})");
  EXPECT_EQ(li.what, kind::publication);
  EXPECT_EQ(li.channel, 3u);
  EXPECT_EQ(li.seq, 5u);
  EXPECT_EQ(li.sent_ns, 42u);
  EXPECT_EQ(classify_uni_line(R"({"connect":{"client":"x","subs":{"bench3":{}}}})").what,
            kind::subscribed);
  EXPECT_EQ(classify_uni_line("{}").what, kind::ping);
  EXPECT_EQ(classify_uni_line(R"({"disconnect":{"code":3001,"reason":"shutdown"}})").what,
            kind::error_reply);
  // The bidirectional form is not what a uni stream sends.
  EXPECT_EQ(classify_uni_line(R"({"push":{"channel":"bench3","pub":{"data":)" + data + "}}}").what,
            kind::other);
  EXPECT_EQ(classify_uni_line(R"({"channel":"b","join":{"info":{}}})").what, kind::other);
  EXPECT_EQ(classify_uni_line(R"({"channel":"b)").what, kind::other);
  EXPECT_EQ(classify_uni_line(R"({"id":1,"connect":{}})").what, kind::other);
}

TEST(FanoutProtocol, StreamRequests) {
  std::string out;
  append_sse_request(out, "127.0.0.1:8000", "/events", "bench3");
  EXPECT_EQ(out,
            "GET /events?channel=bench3 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
            "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n");
  out.clear();
  append_uni_stream_request(out, "127.0.0.1:8000", "/connection/uni_http_stream", "a.b.c");
  EXPECT_EQ(out,
            "POST /connection/uni_http_stream HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n"
            "Content-Type: application/json\r\nContent-Length: 17\r\n\r\n"
            "{\"token\":\"a.b.c\"}");
  EXPECT_EQ(std::string_view(R"({"token":"a.b.c"})").size(), 17u);
}

TEST(FanoutProtocol, SplitsJoinedRepliesIntoLines) {
  std::vector<std::string> got;
  for_each_line("{\"id\":1}\n{}\n\n{\"id\":2}", [&](std::string_view l) { got.emplace_back(l); });
  EXPECT_EQ(got, (std::vector<std::string>{R"({"id":1})", "{}", R"({"id":2})"}));
  got.clear();
  for_each_line("{}\n", [&](std::string_view l) { got.emplace_back(l); });
  EXPECT_EQ(got, (std::vector<std::string>{"{}"}));
}

TEST(FanoutProtocol, JsonEscapeKeepsReportsParseable) {
  EXPECT_EQ(json_escape(R"(error reply: {"id":2,"error":{"message":"a\b"}})"),
            R"(error reply: {\"id\":2,\"error\":{\"message\":\"a\\b\"}})");
  EXPECT_EQ(json_escape("line\nbreak"), "linebreak");
}

}  // namespace
}  // namespace duplex::bench
