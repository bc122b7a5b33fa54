// Tests of the generator's Socket.IO dialect: the packets it writes and the classification of
// what the two servers measured (duplex's sio_showcase, Node's socket.io 4.8) write, byte for
// byte as captured from them.
#include "sio_protocol.h"

#include <gtest/gtest.h>

#include <string>

#include "payload_pattern.h"

namespace duplex::bench {
namespace {

using kind = sio_info::kind;

TEST(SioProtocol, EnginePacketsOfBothServers) {
  EXPECT_EQ(classify_sio(R"(0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":25000,)"
                         R"("pingTimeout":20000,"maxPayload":1000000})")
                .what,
            kind::open);
  EXPECT_EQ(classify_sio("2").what, kind::ping);
  EXPECT_EQ(classify_sio("1").what, kind::close);
  EXPECT_EQ(classify_sio("6").what, kind::noop);
  // An open packet must carry its JSON; other digits and empty frames are not ours.
  EXPECT_EQ(classify_sio("0").what, kind::other);
  EXPECT_EQ(classify_sio("").what, kind::other);
  EXPECT_EQ(classify_sio("5").what, kind::other);
  EXPECT_EQ(classify_sio("x").what, kind::other);
}

// A member's and a publisher's session as both servers wrote it (captured from sio_showcase and
// bench/peers/sio_server.js; the two differ only in the sids).
TEST(SioProtocol, CapturedSessionsOfBothServers) {
  for (const char* open :
       {R"(0{"sid":"JLj3stHW3Oy7jSrNHdupAA","upgrades":[],"pingInterval":25000,)"
        R"("pingTimeout":20000,"maxPayload":1000000})",
        R"(0{"sid":"iB9Bi8mFom93h-7mAAAA","upgrades":[],"pingInterval":25000,)"
        R"("pingTimeout":20000,"maxPayload":1000000})"})
    EXPECT_EQ(classify_sio(open).what, kind::open);
  for (const char* connected : {R"(40{"sid":"dwYcVLm37K6x_60kArQA"})",
                                R"(40{"sid":"HhNHUu5AGyVx_7u8AAAA"})"})
    EXPECT_EQ(classify_sio(connected).what, kind::connected);
  // join's ack, echo's ack, to-room's ack.
  auto join = classify_sio("432[true]");
  EXPECT_EQ(join.what, kind::ack);
  EXPECT_EQ(join.id, 2u);
  EXPECT_EQ(join.rest, "[true]");
  auto echo = classify_sio(R"(437["a!#_"])");
  EXPECT_EQ(echo.what, kind::ack);
  EXPECT_EQ(echo.id, 7u);
  std::string want;
  append_sio_echo_ack(want, 7, "a!#_");
  EXPECT_EQ(want, R"(437["a!#_"])");
  auto pub = classify_sio("439[true]");
  EXPECT_EQ(pub.what, kind::ack);
  EXPECT_EQ(pub.id, 9u);
  // The member's delivery.
  line_info li;
  EXPECT_EQ(parse_room_msg(
                classify_sio(R"(42["room-msg","bench3",{"c":3,"s":77,"t":123,"x":"xxxx"}])"), li),
            "bench3");
  EXPECT_EQ(li.what, line_info::kind::publication);
  EXPECT_EQ(li.seq, 77u);
  EXPECT_EQ(li.sent_ns, 123u);
  // What the generator sent to get those.
  std::string sent;
  append_sio_emit(sent, 2, "join", R"(,"bench3")");
  EXPECT_EQ(sent, R"(422["join","bench3"])");
  sent.clear();
  append_sio_echo(sent, 7, "a!#_");
  EXPECT_EQ(sent, R"(427["echo","a!#_"])");
  sent.clear();
  append_sio_to_room(sent, 9, "bench3", R"({"c":3,"s":77,"t":123,"x":"xxxx"})");
  EXPECT_EQ(sent, R"(429["to-room","bench3",{"c":3,"s":77,"t":123,"x":"xxxx"}])");
}

TEST(SioProtocol, ConnectDisconnectAndErrors) {
  EXPECT_EQ(classify_sio(R"(40{"sid":"4hTKu3x8fpBbUcD6AAAD"})").what, kind::connected);
  EXPECT_EQ(classify_sio(R"(40{"sid":"a","pid":"b"})").what, kind::connected);
  EXPECT_EQ(classify_sio("41").what, kind::disconnect);
  auto err = classify_sio(R"(44{"message":"unauthorized","data":{"reason":"bad token"}})");
  EXPECT_EQ(err.what, kind::connect_error);
  EXPECT_EQ(err.rest, R"({"message":"unauthorized","data":{"reason":"bad token"}})");
  // Another namespace's packets are not for our sockets on "/".
  EXPECT_EQ(classify_sio(R"(40/admin,{"sid":"x"})").what, kind::other);
  EXPECT_EQ(classify_sio(R"(42/admin,["room-msg","r",1])").what, kind::other);
  // "40" without a payload is the client's CONNECT, never a server's reply.
  EXPECT_EQ(classify_sio("40").what, kind::other);
}

TEST(SioProtocol, AcksCarryTheirIdAndArguments) {
  auto a = classify_sio(R"(43123["!#$%&'()*+,-./0123456789:;<=>?@"])");
  EXPECT_EQ(a.what, kind::ack);
  EXPECT_TRUE(a.has_id);
  EXPECT_EQ(a.id, 123u);
  EXPECT_EQ(a.rest, R"(["!#$%&'()*+,-./0123456789:;<=>?@"])");
  auto t = classify_sio("432[true]");
  EXPECT_EQ(t.what, kind::ack);
  EXPECT_EQ(t.id, 2u);
  EXPECT_EQ(t.rest, "[true]");
  EXPECT_EQ(classify_sio("43[true]").what, kind::other);  // an ack without an id
  EXPECT_EQ(classify_sio("437").what, kind::other);       // without arguments
  EXPECT_EQ(classify_sio("43999999999999999999999[1]").what, kind::other);  // > 2^64 - 1
}

TEST(SioProtocol, EventsNameAndRest) {
  auto e = classify_sio(R"(42["room-msg","bench",{"c":0,"s":1,"t":2,"x":"xx"}])");
  EXPECT_EQ(e.what, kind::event);
  EXPECT_FALSE(e.has_id);
  EXPECT_EQ(e.name, "room-msg");
  EXPECT_EQ(e.rest, R"(,"bench",{"c":0,"s":1,"t":2,"x":"xx"}])");
  auto withid = classify_sio(R"(427["question",3])");
  EXPECT_EQ(withid.what, kind::event);
  EXPECT_TRUE(withid.has_id);
  EXPECT_EQ(withid.id, 7u);
  EXPECT_EQ(withid.name, "question");
  // A name with an escape is an event whose name is not read.
  auto esc = classify_sio(R"(42["a\"b",1])");
  EXPECT_EQ(esc.what, kind::event);
  EXPECT_EQ(esc.name, "");
  EXPECT_EQ(classify_sio(R"(42[1,2])").what, kind::other);
  EXPECT_EQ(classify_sio(R"(42["unterminated)").what, kind::other);
}

TEST(SioProtocol, BuildersWriteTheWireShapes) {
  std::string out;
  append_sio_emit(out, 2, "join", R"(,"bench")");
  EXPECT_EQ(out, R"(422["join","bench"])");
  out.clear();
  append_sio_emit(out, 9, "ping-me", "");
  EXPECT_EQ(out, R"(429["ping-me"])");
  out.clear();
  append_sio_echo(out, 41, "abc");
  EXPECT_EQ(out, R"(4241["echo","abc"])");
  out.clear();
  append_sio_echo_ack(out, 41, "abc");
  EXPECT_EQ(out, R"(4341["abc"])");
  out.clear();
  append_sio_to_room(out, 5, "bench", R"({"c":0})");
  EXPECT_EQ(out, R"(425["to-room","bench",{"c":0}])");
  // What we send classifies as what it is (the server side of the same grammar).
  std::string frame = out;  // the views below point into it
  frame[0] = '4';  // (not "4" + substr: GCC 12 -O3 flags a false -Werror=restrict there)
  auto e = classify_sio(frame);
  EXPECT_EQ(e.what, kind::event);
  EXPECT_EQ(e.id, 5u);
  EXPECT_EQ(e.name, "to-room");
}

TEST(SioProtocol, RoomMessageRoundTripsTheBenchData) {
  std::string data;
  append_bench_data(data, 3, 77, 123456789, 64, 'x');
  EXPECT_EQ(data.size(), 64u);
  EXPECT_TRUE(data.starts_with(R"({"c":3,"s":77,"t":123456789,"x":"xx)")) << data;
  // As both servers deliver it: the event, the room, the data as sent (members c < s < t < x
  // are already in the sorted order nlohmann::json writes).
  const std::string frame = R"(42["room-msg","bench3",)" + data + "]";
  line_info li;
  EXPECT_EQ(parse_room_msg(classify_sio(frame), li), "bench3");
  EXPECT_EQ(li.what, line_info::kind::publication);
  EXPECT_EQ(li.channel, 3u);
  EXPECT_EQ(li.seq, 77u);
  EXPECT_EQ(li.sent_ns, 123456789u);
  // The centrifuge padding name, another event, or a missing room: not a delivery.
  std::string pdata;
  append_bench_data(pdata, 3, 77, 1, 64);
  line_info no;
  EXPECT_EQ(parse_room_msg(classify_sio(R"(42["room-msg","bench3",)" + pdata + "]"), no), "");
  EXPECT_EQ(parse_room_msg(classify_sio(R"(42["bcast",)" + data + "]"), no), "");
  EXPECT_EQ(parse_room_msg(classify_sio(R"(42["room-msg",)" + data + "]"), no), "");
  EXPECT_EQ(parse_room_msg(classify_sio(R"(42["room-msg","",)" + data + "]"), no), "");
  EXPECT_EQ(no.what, line_info::kind::other);
}

TEST(SioProtocol, JsonSafePatternNeedsNoEscape) {
  payload_pattern safe(300, true), plain(300);
  bool plain_has_quote = false;
  for (std::uint64_t seq = 0; seq < payload_pattern::period; ++seq) {
    for (char ch : safe.text(seq)) {
      ASSERT_NE(ch, '"');
      ASSERT_NE(ch, '\\');
      ASSERT_GE(ch, 0x21);
      ASSERT_LE(ch, 0x7e);
    }
    if (plain.text(seq).find('"') != std::string_view::npos) plain_has_quote = true;
  }
  EXPECT_TRUE(plain_has_quote);  // the default pattern is unchanged
  EXPECT_NE(safe.text(0), safe.text(1));  // consecutive messages still differ
}

}  // namespace
}  // namespace duplex::bench
