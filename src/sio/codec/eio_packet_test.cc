#include "sio/codec/eio_packet.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace duplex::sio::codec {
namespace {

using namespace std::string_literals;

eio_packet parse_one(std::string_view text) {
  std::string scratch;
  eio_packet_view v;
  const eio_error e = parse_eio_packet(text, v, scratch);
  EXPECT_EQ(e, eio_error::none) << to_string(e) << " for " << text;
  return {v.type, std::string(v.data), v.binary};
}

eio_error parse_error_of(std::string_view text) {
  std::string scratch;
  eio_packet_view v;
  return parse_eio_packet(text, v, scratch);
}

struct read_result {
  std::vector<eio_packet> packets;
  eio_error error = eio_error::none;
  std::size_t error_offset = 0;
};

read_result read_payload(std::string_view body) {
  read_result r;
  eio_payload_reader reader(body);
  eio_packet_view v;
  while (reader.next(v)) r.packets.push_back({v.type, std::string(v.data), v.binary});
  EXPECT_FALSE(reader.next(v));  // stays at the end
  r.error = reader.error();
  r.error_offset = reader.error_offset();
  return r;
}

// Examples of docs/engine.io-protocol/v4-current.md ("Protocol", "Upgrade").
TEST(EioPacket, ParsesEachTypeFromTextFrames) {
  EXPECT_EQ(parse_one("4hello"), (eio_packet{eio_packet_type::message, "hello", false}));
  EXPECT_EQ(parse_one("2probe"), (eio_packet{eio_packet_type::ping, "probe", false}));
  EXPECT_EQ(parse_one("3probe"), (eio_packet{eio_packet_type::pong, "probe", false}));
  EXPECT_EQ(parse_one("2"), (eio_packet{eio_packet_type::ping, "", false}));
  EXPECT_EQ(parse_one("5"), (eio_packet{eio_packet_type::upgrade, "", false}));
  EXPECT_EQ(parse_one("6"), (eio_packet{eio_packet_type::noop, "", false}));
  EXPECT_EQ(parse_one("1"), (eio_packet{eio_packet_type::close, "", false}));
  EXPECT_EQ(parse_one(R"(0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"]})"),
            (eio_packet{eio_packet_type::open,
                        R"({"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"]})", false}));
  // A Socket.IO packet rides in a message: "42[...]" is message "2[...]".
  EXPECT_EQ(parse_one(R"(42["foo"])"), (eio_packet{eio_packet_type::message, R"(2["foo"])", false}));
}

TEST(EioPacket, TextDataIsAViewIntoTheFrame) {
  const std::string frame = "4hello";
  std::string scratch;
  eio_packet_view v;
  ASSERT_EQ(parse_eio_packet(frame, v, scratch), eio_error::none);
  EXPECT_EQ(v.data.data(), frame.data() + 1);
}

// engine.io-client with forceBase64 sends "b<base64>" in WebSocket text frames too.
TEST(EioPacket, BinaryPrefixInTextFrameDecodesBase64) {
  EXPECT_EQ(parse_one("bAQIDBA=="), (eio_packet{eio_packet_type::message, "\x01\x02\x03\x04", true}));
  EXPECT_EQ(parse_one("b"), (eio_packet{eio_packet_type::message, "", true}));
  EXPECT_EQ(parse_error_of("bAQIDBA="), eio_error::bad_base64);
  EXPECT_EQ(parse_error_of("b!!!!"), eio_error::bad_base64);
}

TEST(EioPacket, RejectsEmptyAndUnknownTypes) {
  EXPECT_EQ(parse_error_of(""), eio_error::empty_packet);
  EXPECT_EQ(parse_error_of("7"), eio_error::unknown_type);
  EXPECT_EQ(parse_error_of("9hello"), eio_error::unknown_type);
  EXPECT_EQ(parse_error_of("/"), eio_error::unknown_type);
  EXPECT_EQ(parse_error_of("x"), eio_error::unknown_type);
  EXPECT_EQ(parse_error_of("B"), eio_error::unknown_type);
  EXPECT_EQ(parse_error_of("\x1e"), eio_error::unknown_type);
  EXPECT_NE(to_string(eio_error::unknown_type), to_string(eio_error::empty_packet));
}

TEST(EioPacket, BinaryFrameIsABinaryMessage) {
  const std::string bytes("\x00\xff\x1e", 3);
  const eio_packet_view v = eio_binary_frame(bytes);
  EXPECT_EQ(v.type, eio_packet_type::message);
  EXPECT_TRUE(v.binary);
  EXPECT_EQ(v.data, bytes);
}

TEST(EioPacket, EncodesTextFrames) {
  std::string out;
  append_eio_text_frame(out, eio_packet_type::pong, "probe");
  EXPECT_EQ(out, "3probe");
  out.clear();
  append_eio_text_frame(out, eio_packet_type::message, "2[\"€\"]");
  EXPECT_EQ(out, "42[\"€\"]");
  EXPECT_EQ(out.size(), 9u);  // "42[\"\"]" is 6 bytes, the euro sign 3 more
  out.clear();
  append_eio_text_frame(out, eio_packet_type::noop, "");
  EXPECT_EQ(out, "6");
}

// docs/engine.io-protocol/v4-current.md, "Packet encoding" / "HTTP long-polling".
TEST(EioPayload, SpecExampleWithThreePackets) {
  const read_result r = read_payload("4hello\x1e" "2\x1e" "4world");
  ASSERT_EQ(r.error, eio_error::none);
  ASSERT_EQ(r.packets.size(), 3u);
  EXPECT_EQ(r.packets[0], (eio_packet{eio_packet_type::message, "hello", false}));
  EXPECT_EQ(r.packets[1], (eio_packet{eio_packet_type::ping, "", false}));
  EXPECT_EQ(r.packets[2], (eio_packet{eio_packet_type::message, "world", false}));
}

TEST(EioPayload, SpecExampleWithBinary) {
  const read_result r = read_payload("4hello\x1e" "bAQIDBA==");
  ASSERT_EQ(r.error, eio_error::none);
  ASSERT_EQ(r.packets.size(), 2u);
  EXPECT_EQ(r.packets[0], (eio_packet{eio_packet_type::message, "hello", false}));
  EXPECT_EQ(r.packets[1], (eio_packet{eio_packet_type::message, "\x01\x02\x03\x04", true}));
}

// docs/socket.io-protocol/v5-current.md, "Sample session", request 5.
TEST(EioPayload, SocketIoSampleSessionPost) {
  const read_result r = read_payload("42[\"hello\"]\x1e" "42[\"world\"]");
  ASSERT_EQ(r.error, eio_error::none);
  ASSERT_EQ(r.packets.size(), 2u);
  EXPECT_EQ(r.packets[0].data, "2[\"hello\"]");
  EXPECT_EQ(r.packets[1].data, "2[\"world\"]");
}

TEST(EioPayload, MixedTextAndBinaryPackets) {
  const read_result r =
      read_payload("bAA==\x1e" "4a\x1e" "b\x1e" "b/w==\x1e" "3probe\x1e" "bAQID");
  ASSERT_EQ(r.error, eio_error::none);
  ASSERT_EQ(r.packets.size(), 6u);
  EXPECT_EQ(r.packets[0], (eio_packet{eio_packet_type::message, "\x00"s, true}));
  EXPECT_EQ(r.packets[1], (eio_packet{eio_packet_type::message, "a", false}));
  EXPECT_EQ(r.packets[2], (eio_packet{eio_packet_type::message, "", true}));
  EXPECT_EQ(r.packets[3], (eio_packet{eio_packet_type::message, "\xff", true}));
  EXPECT_EQ(r.packets[4], (eio_packet{eio_packet_type::pong, "probe", false}));
  EXPECT_EQ(r.packets[5], (eio_packet{eio_packet_type::message, "\x01\x02\x03", true}));
}

TEST(EioPayload, Utf8MultibyteData) {
  const read_result r = read_payload("4h\xC3\xA9llo\x1e" "4\xE6\x97\xA5\xE6\x9C\xAC\x1e" "4\xF0\x9F\x98\x80");
  ASSERT_EQ(r.error, eio_error::none);
  ASSERT_EQ(r.packets.size(), 3u);
  EXPECT_EQ(r.packets[0].data, "h\xC3\xA9llo");
  EXPECT_EQ(r.packets[1].data, "\xE6\x97\xA5\xE6\x9C\xAC");
  EXPECT_EQ(r.packets[2].data, "\xF0\x9F\x98\x80");
}

TEST(EioPayload, ErrorsAreStrictAndReportTheSegmentOffset) {
  struct bad_case {
    std::string body;
    std::size_t good_packets;
    eio_error error;
    std::size_t offset;
  };
  const bad_case cases[] = {
      {"", 0, eio_error::empty_packet, 0},
      {"\x1e", 0, eio_error::empty_packet, 0},
      {"\x1e" "4a", 0, eio_error::empty_packet, 0},
      {"4a\x1e", 1, eio_error::empty_packet, 3},
      {"4a\x1e\x1e" "4b", 1, eio_error::empty_packet, 3},
      {"4a\x1e" "9", 1, eio_error::unknown_type, 3},
      {"4a\x1e" "2\x1e" "x", 2, eio_error::unknown_type, 5},
      {"4a\x1e" "bA", 1, eio_error::bad_base64, 3},
      {"bAQIDBA\x1e" "4a", 0, eio_error::bad_base64, 0},
      {"4a\x1e" "4\xff", 0, eio_error::invalid_utf8, 0},      // checked before any packet
      {"4\xE2\x82", 0, eio_error::invalid_utf8, 0},           // truncated sequence
      {"4\xC0\xAF", 0, eio_error::invalid_utf8, 0},           // overlong
  };
  for (const bad_case& c : cases) {
    SCOPED_TRACE(testing::PrintToString(c.body));
    const read_result r = read_payload(c.body);
    EXPECT_EQ(r.packets.size(), c.good_packets);
    EXPECT_EQ(r.error, c.error) << to_string(r.error);
    EXPECT_EQ(r.error_offset, c.offset);
  }
}

TEST(EioPayload, EncoderJoinsWithSeparatorsOnlyBetweenPackets) {
  std::string payload;
  append_eio_payload_packet(payload, {eio_packet_type::message, "hello", false});
  EXPECT_EQ(payload, "4hello");
  append_eio_payload_packet(payload, {eio_packet_type::message, "\x01\x02\x03\x04", true});
  append_eio_payload_packet(payload, {eio_packet_type::noop, "", false});
  EXPECT_EQ(payload, "4hello\x1e" "bAQIDBA==\x1e" "6");
}

TEST(EioPayload, SizesMatchWhatTheEncoderAppends) {
  const eio_packet packets[] = {
      {eio_packet_type::message, "2[\"\xE2\x82\xAC\"]", false},
      {eio_packet_type::message, std::string(7, '\xff'), true},
      {eio_packet_type::message, "", true},
      {eio_packet_type::ping, "", false},
      {eio_packet_type::open, R"({"sid":"x"})", false},
  };
  std::string payload;
  for (const eio_packet& p : packets) {
    const std::size_t before = payload.size();
    const std::size_t expected = eio_payload_added_size(payload, p.view());
    append_eio_payload_packet(payload, p.view());
    EXPECT_EQ(payload.size() - before, expected);
  }
  EXPECT_EQ(eio_payload_packet_size(packets[0].view()), 1u + 8u);  // the euro sign counts 3 bytes
  EXPECT_EQ(eio_payload_packet_size(packets[1].view()), 1u + 12u);
  EXPECT_EQ(eio_payload_packet_size(packets[2].view()), 1u);
  // And the reader gives the same packets back.
  const read_result r = read_payload(payload);
  ASSERT_EQ(r.error, eio_error::none);
  ASSERT_EQ(r.packets.size(), std::size(packets));
  for (std::size_t i = 0; i < r.packets.size(); ++i) EXPECT_EQ(r.packets[i], packets[i]);
}

TEST(EioPacket, TypeNames) {
  EXPECT_EQ(to_string(eio_packet_type::open), "open");
  EXPECT_EQ(to_string(eio_packet_type::noop), "noop");
}

}  // namespace
}  // namespace duplex::sio::codec
