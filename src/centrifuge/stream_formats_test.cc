// Tests of the streaming transports' framing and wire formats (stream_formats.h): the bytes of
// each format for a publication, join and leave, line breaks kept out of a message, and one
// encode per publication and format shared by every subscriber.
#include "centrifuge/stream_formats.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>

#include "centrifuge/node.h"
#include "hub/delivery.h"

namespace duplex::centrifuge {
namespace {

using json = nlohmann::json;

hub::publication pub_of(std::string data, std::uint64_t offset = 0) {
  hub::publication p;
  p.channel = "news:a";
  p.offset = offset;
  p.data = shared_payload::copy_of(data);
  return p;
}

// The payload of an unmasked server text frame.
std::string_view ws_payload(std::string_view f) {
  EXPECT_EQ(static_cast<unsigned char>(f[0]), 0x81u);  // FIN + text
  const std::size_t len = static_cast<unsigned char>(f[1]) & 0x7f;
  return f.substr(len == 126 ? 4 : 2);
}

TEST(StreamFraming, UnwrapPushGivesTheBarePush) {
  EXPECT_EQ(unwrap_push(R"({"push":{"channel":"a","pub":{"data":1}}})"), R"({"channel":"a","pub":{"data":1}})");
  EXPECT_EQ(unwrap_push("{}"), "{}");
  EXPECT_EQ(unwrap_push(R"({"id":1,"connect":{}})"), R"({"id":1,"connect":{}})");
}

TEST(StreamFraming, HttpStreamIsOneChunkOfLines) {
  std::string out;
  append_framed(out, stream_framing::http_stream, "{\"id\":1}\n{\"id\":2}");
  EXPECT_EQ(out, "12\r\n{\"id\":1}\n{\"id\":2}\n\r\n");
  out.clear();
  append_framed(out, stream_framing::http_stream, "");
  EXPECT_EQ(out, "");  // never a zero-size chunk: that would end the body
}

TEST(StreamFraming, SseIsOneEventWithOneDataLinePerMessage) {
  std::string out;
  append_framed(out, stream_framing::sse, "{\"id\":1}\n{\"id\":2}");
  EXPECT_EQ(out, "data: {\"id\":1}\ndata: {\"id\":2}\n\n");
}

TEST(StreamFraming, LineBreaksInsideAMessageBecomeSpaces) {
  std::string out;
  append_framed(out, stream_framing::sse, "{\"a\":\r1}");
  EXPECT_EQ(out, "data: {\"a\": 1}\n\n");
}

class StreamFormats : public ::testing::Test {
 protected:
  StreamFormats() { f_ = node::register_formats(registry_); }
  shared_payload encode(hub::wire_format w, hub::push_kind k, const hub::publication& p) {
    return registry_.encoder_of(w)(k, p);
  }
  hub::format_registry registry_;
  formats f_;
};

TEST_F(StreamFormats, EmulationFormatsCarryTheBidirectionalPush) {
  const hub::publication p = pub_of(R"({"x":1})", 7);
  const std::string expected = R"({"push":{"channel":"news:a","pub":{"data":{"x":1},"offset":7}}})";
  EXPECT_EQ(json::parse(expected), json::parse(expected));  // the fixture's expectation is JSON
  shared_payload chunk = encode(f_.http_stream_json, hub::push_kind::publication, p);
  std::string want_chunk;
  append_framed(want_chunk, stream_framing::http_stream, expected);
  EXPECT_EQ(chunk.view(), want_chunk);
  EXPECT_EQ(encode(f_.sse_json, hub::push_kind::publication, p).view(), "data: " + expected + "\n\n");
}

TEST_F(StreamFormats, UnidirectionalFormatsCarryTheBarePush) {
  const hub::publication p = pub_of(R"({"x":1})", 7);
  const std::string bare = R"({"channel":"news:a","pub":{"data":{"x":1},"offset":7}})";
  EXPECT_EQ(encode(f_.uni_sse_json, hub::push_kind::publication, p).view(), "data: " + bare + "\n\n");
  std::string want_chunk;
  append_framed(want_chunk, stream_framing::http_stream, bare);
  EXPECT_EQ(encode(f_.uni_http_stream_json, hub::push_kind::publication, p).view(), want_chunk);
  shared_payload frame = encode(f_.uni_websocket_json, hub::push_kind::publication, p);
  EXPECT_EQ(ws_payload(frame.view()), bare);
}

TEST_F(StreamFormats, JoinAndLeaveAreBarePushesForUniClients) {
  hub::publication p = pub_of("");
  p.info = hub::client_info{"c1", "u1", {}, {}};
  json join = json::parse(ws_payload(encode(f_.uni_websocket_json, hub::push_kind::join, p).view()));
  EXPECT_EQ(join["channel"], "news:a");
  EXPECT_EQ(join["join"]["info"]["client"], "c1");
  EXPECT_EQ(join["join"]["info"]["user"], "u1");
  const shared_payload leave_event = encode(f_.sse_json, hub::push_kind::leave, p);
  std::string_view leave = leave_event.view();
  ASSERT_TRUE(leave.starts_with("data: "));
  json l = json::parse(leave.substr(6));
  EXPECT_EQ(l["push"]["leave"]["info"]["client"], "c1");
}

TEST_F(StreamFormats, PublicationDataWithLineBreaksStaysOneLine) {
  // Client-published data is kept as sent; JSON whitespace may include CR/LF.
  const hub::publication p = pub_of("{\"x\":\n1,\r\n\"y\":2}");
  const shared_payload chunk_bytes = encode(f_.http_stream_json, hub::push_kind::publication, p);
  std::string_view chunk = chunk_bytes.view();
  const std::size_t body = chunk.find("\r\n") + 2;
  std::string_view line = chunk.substr(body, chunk.size() - body - 2);
  ASSERT_EQ(line.back(), '\n');
  line.remove_suffix(1);
  EXPECT_EQ(line.find_first_of("\r\n"), std::string_view::npos);
  EXPECT_EQ(json::parse(line)["push"]["pub"]["data"]["y"], 2);
}

TEST_F(StreamFormats, EachFormatIsEncodedOncePerPublication) {
  // The hub's delivery encodes a format the first time a subscriber asks; every later
  // subscriber of that format gets the very same bytes (shared, not re-encoded).
  hub::delivery d(hub::push_kind::publication, pub_of(R"({"x":1})", 1), registry_);
  for (hub::wire_format w : {f_.http_stream_json, f_.sse_json, f_.uni_websocket_json,
                             f_.uni_sse_json, f_.uni_http_stream_json}) {
    shared_payload a = d.frame(w);
    shared_payload b = d.frame(w);
    EXPECT_EQ(a.bytes().data(), b.bytes().data()) << registry_.name_of(w);
  }
  // Distinct formats are distinct bytes.
  EXPECT_NE(d.frame(f_.sse_json).view(), d.frame(f_.uni_sse_json).view());
}

}  // namespace
}  // namespace duplex::centrifuge
