// wire.h: the client's decoder against the server's own encoders (centrifuge/codec), and the
// client's command encoders against the server's command parser — both directions of the
// protocol checked with the other side's code.
#include <gtest/gtest.h>

#include "centrifuge/codec/command_parser.h"
#include "centrifuge/codec/push_encoder.h"
#include "centrifuge/codec/reply_encoder.h"
#include "client/wire.h"

namespace duplex::sdk::wire {
namespace {

namespace cf = duplex::centrifuge;

std::vector<message> decode_ok(std::string_view frame) {
  decoder d;
  std::vector<message> out;
  EXPECT_EQ(d.decode(frame, out), "") << frame;
  return out;
}

TEST(SdkWire, DecodesConnectReplyFromServerEncoder) {
  cf::subscribe_result sr{.recoverable = true, .epoch = "ep", .offset = 9, .positioned = true};
  cf::channel_subscribe_result subs[] = {{"news", sr}};
  cf::connect_result cr{.client = "c-1", .version = "0.1", .data = R"({"x":1})", .subs = subs,
                        .ping = 25, .pong = true};
  std::string frame;
  cf::encode_connect_reply(frame, 7, cr);
  auto m = decode_ok(frame);
  ASSERT_EQ(m.size(), 1u);
  ASSERT_EQ(m[0].kind, message::type::reply);
  const reply& r = m[0].reply;
  EXPECT_EQ(r.id, 7u);
  EXPECT_EQ(r.kind, reply_kind::connect);
  EXPECT_FALSE(r.err);
  EXPECT_EQ(r.client, "c-1");
  EXPECT_EQ(r.version, "0.1");
  EXPECT_EQ(r.data, R"({"x":1})");
  EXPECT_EQ(r.ping, 25u);
  EXPECT_TRUE(r.pong);
  ASSERT_EQ(r.subs.size(), 1u);
  EXPECT_EQ(r.subs[0].first, "news");
  EXPECT_EQ(r.subs[0].second.epoch, "ep");
  EXPECT_EQ(r.subs[0].second.offset, 9u);
  EXPECT_TRUE(r.subs[0].second.recoverable);
}

TEST(SdkWire, DecodesSubscribeReplyWithRecoveredPublications) {
  cf::client_info info{.user = "u1", .client = "c1", .conn_info = R"({"name":"x"})"};
  cf::tag tags[] = {{"k", "v"}};
  cf::publication pubs[] = {{.data = R"({"n":1})", .info = &info, .offset = 4, .tags = tags},
                            {.data = "2", .offset = 5}};
  cf::subscribe_result sr{.recoverable = true, .epoch = "e1", .publications = pubs, .recovered = true,
                          .offset = 5, .positioned = true, .was_recovering = true};
  std::string frame;
  cf::encode_subscribe_reply(frame, 3, sr);
  auto m = decode_ok(frame);
  ASSERT_EQ(m.size(), 1u);
  const subscribe_result& s = m[0].reply.sub;
  EXPECT_EQ(m[0].reply.kind, reply_kind::subscribe);
  EXPECT_TRUE(s.recovered);
  EXPECT_TRUE(s.was_recovering);
  EXPECT_EQ(s.offset, 5u);
  ASSERT_EQ(s.publications.size(), 2u);
  EXPECT_EQ(s.publications[0].data, R"({"n":1})");
  EXPECT_EQ(s.publications[0].offset, 4u);
  ASSERT_TRUE(s.publications[0].info);
  EXPECT_EQ(s.publications[0].info->user, "u1");
  EXPECT_EQ(s.publications[0].info->conn_info, R"({"name":"x"})");
  EXPECT_EQ(s.publications[0].tags.at("k"), "v");
  EXPECT_EQ(s.publications[1].data, "2");
}

TEST(SdkWire, DecodesBatchOfPushesPingAndError) {
  std::string frame;
  cf::publication p{.data = R"("hi")", .offset = 12};
  cf::encode_publication_push(frame, "chat", p);
  cf::append_separator(frame);
  cf::encode_server_ping(frame);
  cf::append_separator(frame);
  cf::encode_disconnect_push(frame, cf::disconnects::shutdown);
  cf::append_separator(frame);
  cf::encode_unsubscribe_push(frame, "chat", cf::unsubscribe_code::insufficient_state);
  cf::append_separator(frame);
  cf::encode_error_reply(frame, 9, cf::error_code::token_expired);
  cf::append_separator(frame);
  cf::encode_join_push(frame, "chat", {.user = "u", .client = "c"});
  auto m = decode_ok(frame);
  ASSERT_EQ(m.size(), 6u);
  EXPECT_EQ(m[0].push.kind, push_kind::publication);
  EXPECT_EQ(m[0].push.pub.channel, "chat");
  EXPECT_EQ(m[0].push.pub.data, R"("hi")");
  EXPECT_EQ(m[0].push.pub.offset, 12u);
  EXPECT_EQ(m[1].kind, message::type::ping);
  EXPECT_EQ(m[2].push.kind, push_kind::disconnect);
  EXPECT_EQ(m[2].push.code, 3001u);
  EXPECT_EQ(m[2].push.reason, "shutdown");
  EXPECT_EQ(m[3].push.kind, push_kind::unsubscribe);
  EXPECT_EQ(m[3].push.code, 2500u);
  ASSERT_TRUE(m[4].reply.err);
  EXPECT_EQ(m[4].reply.err->code, 109u);
  EXPECT_EQ(m[4].reply.id, 9u);
  EXPECT_EQ(m[5].push.kind, push_kind::join);
  EXPECT_EQ(m[5].push.info.user, "u");
}

TEST(SdkWire, DecodesPresenceHistoryRpc) {
  std::string frame;
  cf::client_info clients[] = {{.user = "a", .client = "c1"}, {.user = "b", .client = "c2"}};
  cf::encode_presence_reply(frame, 1, clients);
  cf::append_separator(frame);
  cf::encode_presence_stats_reply(frame, 2, {.num_clients = 2, .num_users = 2});
  cf::append_separator(frame);
  cf::publication pubs[] = {{.data = "1", .offset = 1}};
  cf::encode_history_reply(frame, 3, {.publications = pubs, .epoch = "e", .offset = 1});
  cf::append_separator(frame);
  cf::encode_rpc_reply(frame, 4, R"({"ok":true})");
  auto m = decode_ok(frame);
  ASSERT_EQ(m.size(), 4u);
  ASSERT_EQ(m[0].reply.presence.size(), 2u);
  EXPECT_EQ(m[1].reply.stats.num_clients, 2u);
  ASSERT_EQ(m[2].reply.history.publications.size(), 1u);
  EXPECT_EQ(m[2].reply.history.epoch, "e");
  EXPECT_EQ(m[3].reply.data, R"({"ok":true})");
}

TEST(SdkWire, RejectsMalformedFrames) {
  for (std::string_view bad : {R"({"id":1,"connect":)", R"([1,2])", R"({"id":"1","publish":{}})",
                               R"({"id":0,"publish":{}})", R"({"publish":{}})",
                               R"({"push":{"channel":"c","pub":{"offset":-1}}})",
                               R"({"id":1,"subscribe":{"publications":{}}})",
                               R"({"push":{"disconnect":1}})", R"({"push":{"unsubscribe":[]}})",
                               "\xff\xfe"}) {
    decoder d;
    std::vector<message> out;
    EXPECT_NE(d.decode(bad, out), "") << bad;
  }
}

TEST(SdkWire, EncodedCommandsParseOnTheServer) {
  history_options h{.limit = 10, .since_offset = 5, .since_epoch = "ep", .reverse = true};
  std::vector<std::pair<std::string, subscribe_args>> subs;
  subs.push_back({"news", {.recover = true, .offset = 3, .epoch = "e"}});
  std::string frame = encode_connect(1, "tok\"en", "duplex-cpp", "1.0", subs) + "\n" +
                      encode_subscribe(2, {.channel = "chat", .data = R"({"a":1})", .recover = true,
                                           .offset = 42, .epoch = "xyz", .join_leave = true}) +
                      "\n" + encode_publish(3, "chat", R"({"text":"hi"})") + "\n" +
                      encode_history(4, "chat", h) + "\n" + encode_rpc(5, "m", "[1]") + "\n" +
                      encode_unsubscribe(6, "chat") + "\n" + encode_presence(7, "chat") + "\n" +
                      encode_presence_stats(8, "chat") + "\n" + encode_refresh(9, "t2") + "\n" +
                      encode_send(R"({"s":1})") + "\n" + encode_pong();
  cf::command_parser parser;
  std::vector<cf::command> cmds;
  auto r = parser.parse(frame, cmds);
  ASSERT_TRUE(r.ok()) << cf::to_string(r.error) << " at " << r.error_offset << ": " << frame;
  ASSERT_EQ(cmds.size(), 11u);
  auto& c = std::get<cf::connect_request>(cmds[0].body);
  EXPECT_EQ(c.token, "tok\"en");
  EXPECT_EQ(c.name, "duplex-cpp");
  ASSERT_EQ(c.subs.size(), 1u);
  EXPECT_EQ(c.subs[0].channel, "news");
  EXPECT_EQ(c.subs[0].offset, 3u);
  auto& s = std::get<cf::subscribe_request>(cmds[1].body);
  EXPECT_EQ(cmds[1].id, 2u);
  EXPECT_EQ(s.channel, "chat");
  EXPECT_TRUE(s.recover);
  EXPECT_EQ(s.offset, 42u);
  EXPECT_EQ(s.epoch, "xyz");
  EXPECT_TRUE(s.join_leave);
  EXPECT_EQ(s.data, R"({"a":1})");
  EXPECT_EQ(std::get<cf::publish_request>(cmds[2].body).data, R"({"text":"hi"})");
  auto& hr = std::get<cf::history_request>(cmds[3].body);
  EXPECT_EQ(hr.limit, 10);
  EXPECT_TRUE(hr.has_since);
  EXPECT_EQ(hr.since.offset, 5u);
  EXPECT_EQ(hr.since.epoch, "ep");
  EXPECT_TRUE(hr.reverse);
  EXPECT_EQ(std::get<cf::rpc_request>(cmds[4].body).method, "m");
  EXPECT_EQ(cmds[5].type(), cf::method::unsubscribe);
  EXPECT_EQ(cmds[6].type(), cf::method::presence);
  EXPECT_EQ(cmds[7].type(), cf::method::presence_stats);
  EXPECT_EQ(std::get<cf::refresh_request>(cmds[8].body).token, "t2");
  EXPECT_EQ(cmds[9].type(), cf::method::send);
  EXPECT_EQ(cmds[10].type(), cf::method::pong);
}

TEST(SdkWire, IsJson) {
  EXPECT_TRUE(is_json(R"({"a":[1,2]})"));
  EXPECT_TRUE(is_json("3"));
  EXPECT_FALSE(is_json(""));
  EXPECT_FALSE(is_json("{"));
  EXPECT_FALSE(is_json("hello"));
}

}  // namespace
}  // namespace duplex::sdk::wire
