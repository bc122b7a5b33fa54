// Tests of the streaming-response reader: the same events whatever way the bytes are split
// (every split point of whole responses, in both formats, chunked and close-delimited), what
// the two duplex endpoints actually write (heartbeats included), and refusals.
#include "stream_reader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace duplex::bench {
namespace {

struct recorder final : stream_sink {
  int opens = 0;
  std::vector<std::pair<std::string, std::string>> events;
  std::size_t stop_after = SIZE_MAX;  // events accepted before asking the reader to stop
  bool on_stream_open() override {
    ++opens;
    return true;
  }
  bool on_stream_event(std::string_view name, std::string_view data) override {
    events.emplace_back(name, data);
    return events.size() < stop_after;
  }
};

using events_t = std::vector<std::pair<std::string, std::string>>;

// Splits `body` into chunks of the given sizes (the rest in one last chunk) in chunked coding.
std::string chunked(std::string_view body, std::vector<std::size_t> sizes) {
  std::string out;
  char hex[32];
  auto chunk = [&](std::string_view c) {
    std::snprintf(hex, sizeof hex, "%zx\r\n", c.size());
    out += hex;
    out += c;
    out += "\r\n";
  };
  for (std::size_t n : sizes) {
    if (body.empty()) break;
    n = std::min(n, body.size());
    chunk(body.substr(0, n));
    body.remove_prefix(n);
  }
  if (!body.empty()) chunk(body);
  return out;
}

constexpr std::string_view sse_head =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
    "Cache-Control: no-cache, no-store, must-revalidate\r\nConnection: keep-alive\r\n\r\n";
constexpr std::string_view ndjson_head =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\n"
    "Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n";

// What /events writes with history off: a :subscribed event with an id, publications, the
// heartbeat comment.
const std::string sse_body =
    "id: 0\nevent: :subscribed\ndata: {\"channel\":\"bench\"}\n\n"
    "event: bench\ndata: {\"c\":0,\"s\":0,\"t\":5,\"p\":\"xx\"}\n\n"
    ":\n\n"
    "event: bench\ndata: {\"c\":0,\"s\":1,\"t\":6,\"p\":\"xx\"}\n\n";
const events_t sse_events = {{":subscribed", R"({"channel":"bench"})"},
                             {"bench", R"({"c":0,"s":0,"t":5,"p":"xx"})"},
                             {"bench", R"({"c":0,"s":1,"t":6,"p":"xx"})"}};

// What uni_http_stream writes: each session message one chunk of '\n'-terminated lines; the
// heartbeat chunk is a lone newline.
const std::string ndjson_body =
    chunked("{\"connect\":{\"client\":\"x\",\"subs\":{\"bench\":{}}}}\n", {}) +
    chunked("{\"channel\":\"bench\",\"pub\":{\"data\":{\"c\":0,\"s\":0}}}\n"
            "{\"channel\":\"bench\",\"pub\":{\"data\":{\"c\":0,\"s\":1}}}\n", {}) +
    "1\r\n\n\r\n" + chunked("{}\n", {});
const events_t ndjson_events = {{"", R"({"connect":{"client":"x","subs":{"bench":{}}}})"},
                                {"", R"({"channel":"bench","pub":{"data":{"c":0,"s":0}}})"},
                                {"", R"({"channel":"bench","pub":{"data":{"c":0,"s":1}}})"},
                                {"", "{}"}};

// For every cut point: `bytes` fed as [0, cut), an empty read, the rest; and as [0, cut), the
// one byte at cut, the rest. Every split must give the same events.
void expect_same_at_every_split(stream_format f, const std::string& bytes, const events_t& want,
                                std::uint64_t want_heartbeats) {
  for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
    for (std::size_t cut2 : {cut, std::min(cut + 1, bytes.size())}) {
      stream_reader r(f);
      recorder rec;
      ASSERT_TRUE(r.feed(std::string_view(bytes).substr(0, cut), rec)) << cut << ": " << r.error();
      ASSERT_TRUE(r.feed(std::string_view(bytes).substr(cut, cut2 - cut), rec)) << r.error();
      ASSERT_TRUE(r.feed(std::string_view(bytes).substr(cut2), rec)) << cut << ": " << r.error();
      EXPECT_EQ(rec.opens, 1) << cut;
      EXPECT_EQ(rec.events, want) << "split at " << cut << "/" << cut2;
      EXPECT_EQ(r.heartbeats(), want_heartbeats) << cut;
    }
  }
}

TEST(StreamReader, SseEventsAtEverySplitPoint) {
  expect_same_at_every_split(stream_format::sse, std::string(sse_head) + sse_body, sse_events, 1);
}

TEST(StreamReader, SseOverChunkedCodingAtEverySplitPoint) {
  // Chunks of 1, 7 and 13 bytes cut events, lines and CRLFs anywhere.
  for (std::size_t n : {1u, 7u, 13u}) {
    std::vector<std::size_t> sizes(sse_body.size(), n);
    const std::string bytes =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" +
        chunked(sse_body, sizes);
    expect_same_at_every_split(stream_format::sse, bytes, sse_events, 1);
  }
}

TEST(StreamReader, NdjsonOverChunkedCodingAtEverySplitPoint) {
  expect_same_at_every_split(stream_format::ndjson, std::string(ndjson_head) + ndjson_body,
                             ndjson_events, 1);
  // The same lines re-chunked in 5-byte pieces: chunk boundaries inside lines.
  std::string plain;
  for (const auto& [name, data] : ndjson_events) plain += data + "\n";
  const std::string rechunked = chunked(plain, std::vector<std::size_t>(99, 5));
  expect_same_at_every_split(stream_format::ndjson, std::string(ndjson_head) + rechunked,
                             ndjson_events, 0);
}

TEST(StreamReader, SseLineEndsCommentsAndFieldsPerTheSpec) {
  // CRLF, CR and LF line ends; a CR at the end of a read whose LF comes in the next; a leading
  // BOM; multi-line data; no space after the colon; unknown fields; an event without data (not
  // dispatched); an event without a type ("message").
  const std::string body =
      "\xEF\xBB\xBF: hello\r\nevent: a\r\ndata: 1\r\ndata:2\r\r"
      "event: b\rdata\n\n"
      "event: nothing\nid: 7\nretry: 10\nfoo: bar\n\n"
      "data: plain\n\n";
  const std::string bytes = std::string(sse_head) + body;
  const events_t want = {{"a", "1\n2"}, {"b", ""}, {"message", "plain"}};
  expect_same_at_every_split(stream_format::sse, bytes, want, 1);
  stream_reader r(stream_format::sse);
  recorder rec;
  ASSERT_TRUE(r.feed(bytes, rec));
  EXPECT_EQ(r.ignored_fields(), 1u);  // foo
}

TEST(StreamReader, ManyEventsInOneRead) {
  std::string bytes(sse_head);
  for (int i = 0; i < 1000; ++i) bytes += "event: c\ndata: " + std::to_string(i) + "\n\n";
  stream_reader r(stream_format::sse);
  recorder rec;
  ASSERT_TRUE(r.feed(bytes, rec));
  ASSERT_EQ(rec.events.size(), 1000u);
  EXPECT_EQ(rec.events[999].second, "999");
}

TEST(StreamReader, RefusesWhatIsNotAStream) {
  struct bad {
    stream_format f;
    std::string bytes;
    std::string why;
  };
  const std::vector<bad> cases = {
      {stream_format::sse, "HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\n\r\nno channel\n",
       "stream refused: HTTP 400"},
      {stream_format::ndjson, "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n",
       "stream refused: HTTP 401"},
      {stream_format::sse, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n",
       "stream is not text/event-stream"},
      {stream_format::ndjson, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
       "bad HTTP response"},
      {stream_format::ndjson, "HTTX/1.1 200 OK\r\n\r\n", "bad HTTP response"},
      // The server ended the body: the stream is over, which a subscriber must not miss.
      {stream_format::ndjson,
       std::string(ndjson_head) + "3\r\n{}\n\r\n0\r\n\r\n", "the server ended the stream"},
  };
  for (const auto& c : cases) {
    // Whole, and byte by byte: the outcome does not depend on the split.
    for (bool bytewise : {false, true}) {
      stream_reader r(c.f);
      recorder rec;
      bool ok = true;
      if (bytewise) {
        for (std::size_t i = 0; i < c.bytes.size() && ok; ++i)
          ok = r.feed(c.bytes.substr(i, 1), rec);
      } else {
        ok = r.feed(c.bytes, rec);
      }
      EXPECT_FALSE(ok) << c.bytes;
      EXPECT_TRUE(r.error().starts_with(c.why)) << r.error() << " for " << c.bytes;
      EXPECT_FALSE(r.feed("more", rec));  // failed for good
    }
  }
}

TEST(StreamReader, LimitsTheSizeOfAnEvent) {
  stream_reader r(stream_format::ndjson);
  recorder rec;
  ASSERT_TRUE(r.feed("HTTP/1.1 200 OK\r\n\r\n", rec));  // body until close
  const std::string piece(64 * 1024, 'x');
  bool ok = true;
  for (std::size_t sent = 0; ok && sent <= stream_reader::max_event_bytes; sent += piece.size())
    ok = r.feed(piece, rec);
  EXPECT_FALSE(ok);
  EXPECT_EQ(r.error(), "event or line too long");
  EXPECT_TRUE(rec.events.empty());
}

TEST(StreamReader, StopsWhenTheSinkSaysSo) {
  stream_reader r(stream_format::sse);
  recorder rec;
  rec.stop_after = 1;
  EXPECT_TRUE(r.feed(std::string(sse_head) + sse_body, rec));
  EXPECT_EQ(rec.events.size(), 1u);
}

}  // namespace
}  // namespace duplex::bench
