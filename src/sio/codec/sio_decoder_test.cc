#include "sio/codec/sio_decoder.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace duplex::sio::codec {
namespace {

binary_buffer bytes(std::initializer_list<std::uint8_t> b) { return binary_buffer(b); }

TEST(SioDecoder, TextPacketCompletesAtOnce) {
  sio_decoder d;
  sio_packet p;
  const auto r = d.feed_text(R"(2/admin,7["hello","world"])", p);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(p.type, sio_packet_type::event);
  EXPECT_EQ(p.nsp, "/admin");
  EXPECT_EQ(p.ack_id, 7u);
  EXPECT_EQ(p.data, json::parse(R"(["hello","world"])"));
  EXPECT_FALSE(d.awaiting_binary());
}

// docs/socket.io-protocol/v5-current.md, multiple attachments.
TEST(SioDecoder, BinaryEventWaitsForItsAttachments) {
  sio_decoder d;
  sio_packet p;
  auto r = d.feed_text(
      R"(52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])", p);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.complete);
  EXPECT_TRUE(d.awaiting_binary());
  EXPECT_EQ(d.attachments_missing(), 2u);

  const std::string first("\x01\x02", 2);
  r = d.feed_binary(std::string_view(first), p);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.complete);
  EXPECT_EQ(d.attachments_missing(), 1u);
  EXPECT_EQ(p, sio_packet{});  // not written before completion

  const std::byte second[] = {std::byte{3}, std::byte{4}};
  r = d.feed_binary(std::span<const std::byte>(second), p);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.complete);
  EXPECT_FALSE(d.awaiting_binary());
  EXPECT_EQ(d.attachments_missing(), 0u);
  EXPECT_EQ(p.type, sio_packet_type::event);
  EXPECT_EQ(p.nsp, "/admin");
  EXPECT_EQ(p.attachments, 0u);
  ASSERT_EQ(p.data.size(), 3u);
  EXPECT_EQ(p.data[0], "baz");
  EXPECT_EQ(p.data[1].get_binary(), bytes({1, 2}));
  EXPECT_EQ(p.data[2].get_binary(), bytes({3, 4}));

  // The decoder is ready for the next packet.
  r = d.feed_text("1/admin,", p);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(p.type, sio_packet_type::disconnect);
}

// docs/socket.io-protocol/v5-current.md, "Sample session": a BINARY_ACK with a placeholder.
TEST(SioDecoder, BinaryAckFromTheSampleSession) {
  sio_decoder d;
  sio_packet p;
  ASSERT_TRUE(d.feed_text(R"(61-/admin,1[{"_placeholder":true,"num":0}])", p).ok());
  const auto r = d.feed_binary(bytes({9, 8, 7}), p);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(p.type, sio_packet_type::ack);
  EXPECT_EQ(p.ack_id, 1u);
  EXPECT_EQ(p.data[0].get_binary(), bytes({9, 8, 7}));
}

TEST(SioDecoder, OutOfOrderMessagesAreErrorsAndResetTheDecoder) {
  sio_decoder d;
  sio_packet p;
  EXPECT_EQ(d.feed_binary(bytes({1}), p).error, sio_error::unexpected_binary);

  ASSERT_TRUE(d.feed_text(R"(51-["a",{"_placeholder":true,"num":0}])", p).ok());
  EXPECT_EQ(d.feed_text(R"(2["b"])", p).error, sio_error::unexpected_text);
  EXPECT_FALSE(d.awaiting_binary());
  // After the reset a binary message is unexpected again, and text decodes normally.
  EXPECT_EQ(d.feed_binary(bytes({1}), p).error, sio_error::unexpected_binary);
  const auto r = d.feed_text(R"(2["c"])", p);
  EXPECT_TRUE(r.ok() && r.complete);
  EXPECT_EQ(p.data[0], "c");
}

TEST(SioDecoder, PlaceholderErrorsSurfaceWithTheLastAttachment) {
  sio_decoder d;
  sio_packet p;
  ASSERT_TRUE(d.feed_text(R"(52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}])", p).ok());
  ASSERT_TRUE(d.feed_binary(bytes({1}), p).ok());
  EXPECT_EQ(d.feed_binary(bytes({2}), p).error, sio_error::duplicate_placeholder);
  EXPECT_FALSE(d.awaiting_binary());
}

TEST(SioDecoder, DecodeErrorsPassThroughAndLimitsApply) {
  sio_decoder d({.max_attachments = 2, .max_depth = 3});
  sio_packet p;
  EXPECT_EQ(d.feed_text("2[]", p).error, sio_error::bad_event_payload);
  EXPECT_EQ(d.feed_text("53-[\"a\"]", p).error, sio_error::too_many_attachments);
  EXPECT_EQ(d.feed_text("2[\"a\",[[[]]]]", p).error, sio_error::too_deep);
  EXPECT_TRUE(d.feed_text("2[\"a\",[[]]]", p).complete);
  EXPECT_EQ(d.limits().max_attachments, 2u);
}

TEST(SioDecoder, ResetDropsAPartialPacket) {
  sio_decoder d;
  sio_packet p;
  ASSERT_TRUE(d.feed_text(R"(51-["a",{"_placeholder":true,"num":0}])", p).ok());
  d.reset();
  EXPECT_FALSE(d.awaiting_binary());
  EXPECT_EQ(d.feed_binary(bytes({1}), p).error, sio_error::unexpected_binary);
}

// What encode_sio_packet() sends, sio_decoder receives unchanged.
TEST(SioDecoder, EncoderOutputDecodesToTheSamePacket) {
  sio_packet sent{.type = sio_packet_type::ack, .nsp = "/files", .ack_id = 31};
  sent.data = json::array({json{{"name", "r\xC3\xA9sum\xC3\xA9.pdf"}, {"body", json::binary({0, 1, 2})}},
                           json::binary({}), 3.5, nullptr, json::array({json::binary({0xff})})});
  std::string text;
  std::vector<binary_buffer> attachments;
  ASSERT_EQ(encode_sio_packet(sent, text, attachments), sio_error::none);
  EXPECT_EQ(text.substr(0, 3), "63-");
  ASSERT_EQ(attachments.size(), 3u);

  sio_decoder d;
  sio_packet got;
  auto r = d.feed_text(text, got);
  ASSERT_TRUE(r.ok());
  for (auto& a : attachments) {
    ASSERT_FALSE(r.complete);
    r = d.feed_binary(std::move(a), got);
    ASSERT_TRUE(r.ok()) << to_string(r.error);
  }
  ASSERT_TRUE(r.complete);
  EXPECT_EQ(got, sent);
}

}  // namespace
}  // namespace duplex::sio::codec
