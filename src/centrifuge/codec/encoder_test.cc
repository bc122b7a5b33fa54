// Replies and pushes: exact bytes for each shape, and round trips through simdjson's DOM.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <vector>

#include "centrifuge/codec/codes.h"
#include "centrifuge/codec/command_parser.h"
#include "centrifuge/codec/json_writer.h"
#include "centrifuge/codec/push_encoder.h"
#include "centrifuge/codec/reply_encoder.h"

namespace duplex::centrifuge {
namespace {

simdjson::dom::element parse_json(simdjson::dom::parser& p, const std::string& s) {
  simdjson::dom::element e;
  auto err = p.parse(s).get(e);
  EXPECT_EQ(err, simdjson::SUCCESS) << s;
  return e;
}

TEST(JsonWriter, EscapesQuotesBackslashesAndControlCharsOnly) {
  std::string out;
  json::string_sink s{out};
  json::string(s, std::string_view("a\"b\\c\n\t\x01\x1f/\xc3\xa9\xf0\x9f\x98\x80", 16));
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\t\\u0001\\u001f/\xc3\xa9\xf0\x9f\x98\x80\"");
  json::count_sink c;
  json::string(c, std::string_view("a\"b\\c\n\t\x01\x1f/\xc3\xa9\xf0\x9f\x98\x80", 16));
  EXPECT_EQ(c.size, out.size());
}

TEST(JsonWriter, Numbers) {
  std::string out;
  json::string_sink s{out};
  json::uint(s, 18446744073709551615ull);
  s.put(',');
  json::integer(s, -2147483648LL);
  EXPECT_EQ(out, "18446744073709551615,-2147483648");
}

// Docs fixtures (client_protocol.md): {"id": 1, "subscribe": {}} and the error reply.
TEST(ReplyEncoder, DocsExamples) {
  std::string out;
  encode_subscribe_reply(out, 1, {});
  EXPECT_EQ(out, R"({"id":1,"subscribe":{}})");
  out.clear();
  encode_error_reply(out, 1, error_code::internal);
  EXPECT_EQ(out, R"({"id":1,"error":{"code":100,"message":"internal server error","temporary":true}})");
  out.clear();
  encode_error_reply(out, 7, error_code::bad_request);
  EXPECT_EQ(out, R"({"id":7,"error":{"code":107,"message":"bad request"}})");
}

TEST(ReplyEncoder, ConnectReplyAsTheSdkReadsIt) {
  subscribe_result news{.recoverable = true, .epoch = "ep", .recovered = true, .offset = 12,
                        .positioned = true, .was_recovering = true};
  channel_subscribe_result subs[] = {{"news", news}};
  connect_result r{.client = "c1", .version = "0.1.0", .expires = true, .ttl = 60,
                   .data = R"({"x":1})", .subs = subs, .ping = 25, .pong = true};
  std::string out;
  encode_connect_reply(out, 1, r);
  EXPECT_EQ(out,
            R"({"id":1,"connect":{"client":"c1","version":"0.1.0","expires":true,"ttl":60,"data":{"x":1},)"
            R"("subs":{"news":{"recoverable":true,"epoch":"ep","recovered":true,"offset":12,"positioned":true,"was_recovering":true}},)"
            R"("ping":25,"pong":true}})");
}

TEST(ReplyEncoder, SimpleReplies) {
  std::string out;
  encode_unsubscribe_reply(out, 2);
  append_separator(out);
  encode_publish_reply(out, 3);
  append_separator(out);
  encode_ping_reply(out, 4);
  append_separator(out);
  encode_rpc_reply(out, 5, R"([1,2])");
  append_separator(out);
  encode_refresh_reply(out, 6, {.client = "c", .version = "v", .expires = true, .ttl = 9});
  append_separator(out);
  encode_sub_refresh_reply(out, 7, {.expires = true, .ttl = 3});
  append_separator(out);
  encode_presence_stats_reply(out, 8, {.num_clients = 0, .num_users = 0});
  EXPECT_EQ(out,
            "{\"id\":2,\"unsubscribe\":{}}\n{\"id\":3,\"publish\":{}}\n{\"id\":4,\"ping\":{}}\n"
            "{\"id\":5,\"rpc\":{\"data\":[1,2]}}\n"
            "{\"id\":6,\"refresh\":{\"client\":\"c\",\"version\":\"v\",\"expires\":true,\"ttl\":9}}\n"
            "{\"id\":7,\"sub_refresh\":{\"expires\":true,\"ttl\":3}}\n"
            "{\"id\":8,\"presence_stats\":{\"num_clients\":0,\"num_users\":0}}");
}

TEST(ReplyEncoder, PresenceIsAMapKeyedByClient) {
  client_info clients[] = {{.user = "u1", .client = "a", .conn_info = R"({"n":"x"})"},
                           {.user = "u2", .client = "b\"", .chan_info = "true"}};
  std::string out;
  encode_presence_reply(out, 9, clients);
  EXPECT_EQ(out, R"({"id":9,"presence":{"presence":{"a":{"user":"u1","client":"a","conn_info":{"n":"x"}},)"
                 R"("b\"":{"user":"u2","client":"b\"","chan_info":true}}}})");
}

TEST(ReplyEncoder, HistoryRoundTrip) {
  client_info info{.user = "u", .client = "c"};
  tag tags[] = {{"k", "v"}};
  publication pubs[] = {{.data = R"({"a":1})", .info = &info, .offset = 1, .tags = tags},
                        {.data = R"("s")", .offset = 2, .delta = true}};
  std::string out;
  encode_history_reply(out, 10, {.publications = pubs, .epoch = "e", .offset = 2});
  simdjson::dom::parser p;
  auto doc = parse_json(p, out);
  EXPECT_EQ(uint64_t(doc["id"]), 10u);
  auto h = doc["history"];
  EXPECT_EQ(std::string_view(h["epoch"]), "e");
  EXPECT_EQ(uint64_t(h["offset"]), 2u);
  auto arr = simdjson::dom::array(h["publications"]);
  ASSERT_EQ(arr.size(), 2u);
  EXPECT_EQ(int64_t(arr.at(0)["data"]["a"]), 1);
  EXPECT_EQ(std::string_view(arr.at(0)["info"]["user"]), "u");
  EXPECT_EQ(std::string_view(arr.at(0)["tags"]["k"]), "v");
  EXPECT_EQ(std::string_view(arr.at(1)["data"]), "s");
  EXPECT_TRUE(bool(arr.at(1)["delta"]));
}

TEST(ReplyEncoder, SubscribeReplyRoundTripWithRecoveredPublications) {
  publication pubs[] = {{.data = "1", .offset = 5}, {.data = "2", .offset = 6}};
  subscribe_result r{.expires = true, .ttl = 30, .recoverable = true, .epoch = "xyz",
                     .publications = pubs, .recovered = true, .offset = 6, .data = "null"};
  std::string out;
  encode_subscribe_reply(out, 3, r);
  simdjson::dom::parser p;
  auto s = parse_json(p, out)["subscribe"];
  EXPECT_TRUE(bool(s["expires"]));
  EXPECT_EQ(uint64_t(s["ttl"]), 30u);
  EXPECT_TRUE(bool(s["recoverable"]));
  EXPECT_TRUE(bool(s["recovered"]));
  EXPECT_EQ(std::string_view(s["epoch"]), "xyz");
  EXPECT_EQ(uint64_t(s["offset"]), 6u);
  EXPECT_EQ(simdjson::dom::array(s["publications"]).size(), 2u);
  EXPECT_TRUE(s["data"].is_null());
  EXPECT_EQ(s["positioned"].error(), simdjson::NO_SUCH_FIELD);  // false is omitted
}

TEST(PushEncoder, PublicationPush) {
  client_info info{.user = "42", .client = "abc"};
  publication p{.data = R"({"text":"hi"})", .info = &info, .offset = 7};
  std::string out;
  encode_publication_push(out, "chat:index", p);
  EXPECT_EQ(out, R"({"push":{"channel":"chat:index","pub":{"data":{"text":"hi"},"info":{"user":"42","client":"abc"},"offset":7}}})");
  EXPECT_EQ(publication_push_size("chat:index", p), out.size());
  shared_payload sp = make_publication_push("chat:index", p);
  EXPECT_EQ(sp.view(), out);
}

TEST(PushEncoder, PublicationPushEscapesTheChannel) {
  publication p{.data = "1"};
  shared_payload sp = make_publication_push("a\"\n", p);
  EXPECT_EQ(sp.view(), R"({"push":{"channel":"a\"\n","pub":{"data":1}}})");
}

TEST(PushEncoder, OtherPushes) {
  client_info info{.user = "u", .client = "c", .conn_info = R"({"name":"x"})"};
  std::string out;
  encode_join_push(out, "ch", info);
  EXPECT_EQ(out, R"({"push":{"channel":"ch","join":{"info":{"user":"u","client":"c","conn_info":{"name":"x"}}}}})");
  out.clear();
  encode_leave_push(out, "ch", info);
  EXPECT_EQ(out, R"({"push":{"channel":"ch","leave":{"info":{"user":"u","client":"c","conn_info":{"name":"x"}}}}})");
  out.clear();
  encode_unsubscribe_push(out, "ch", unsubscribe_code::server);
  EXPECT_EQ(out, R"({"push":{"channel":"ch","unsubscribe":{"code":2000,"reason":"server unsubscribe"}}})");
  out.clear();
  encode_subscribe_push(out, "ch", {.recoverable = true, .epoch = "e", .offset = 3, .positioned = true, .data = "{}"});
  EXPECT_EQ(out, R"({"push":{"channel":"ch","subscribe":{"recoverable":true,"epoch":"e","offset":3,"positioned":true,"data":{}}}})");
  out.clear();
  encode_message_push(out, R"("hello")");
  EXPECT_EQ(out, R"({"push":{"message":{"data":"hello"}}})");
  out.clear();
  encode_disconnect_push(out, disconnects::shutdown);
  EXPECT_EQ(out, R"({"push":{"disconnect":{"code":3001,"reason":"shutdown"}}})");
  out.clear();
  encode_connect_push(out, {.client = "c", .version = "v", .ping = 25, .pong = true});
  EXPECT_EQ(out, R"({"push":{"connect":{"client":"c","version":"v","ping":25,"pong":true}}})");
  out.clear();
  encode_refresh_push(out, true, 10);
  EXPECT_EQ(out, R"({"push":{"refresh":{"expires":true,"ttl":10}}})");
  out.clear();
  encode_server_ping(out);
  EXPECT_EQ(out, "{}");
}

// Client data travels parser -> publication push unchanged and parses back to the same value.
TEST(RoundTrip, PublishDataToPublicationPush) {
  command_parser parser;
  std::vector<command> cmds;
  ASSERT_TRUE(parser.parse(R"({"id":1,"publish":{"channel":"c\u00e9","data":{"t":"\u263a \"x\"","n":[1.5,null]}}})", cmds).ok());
  const auto& req = std::get<publish_request>(cmds[0].body);
  std::string out;
  encode_publication_push(out, req.channel, {.data = req.data, .offset = 1});
  simdjson::dom::parser p;
  auto pub = parse_json(p, out)["push"];
  EXPECT_EQ(std::string_view(pub["channel"]), "c\xc3\xa9");
  EXPECT_EQ(std::string_view(pub["pub"]["data"]["t"]), "\xe2\x98\xba \"x\"");
  EXPECT_EQ(double(simdjson::dom::array(pub["pub"]["data"]["n"]).at(0)), 1.5);
}

TEST(Codes, TableMatchesTheDocs) {
  EXPECT_EQ(error_message(error_code::unrecoverable_position), "unrecoverable position");
  EXPECT_EQ(static_cast<int>(error_code::token_expired), 109);
  EXPECT_TRUE(error_temporary(error_code::too_many_requests));
  EXPECT_FALSE(error_temporary(error_code::permission_denied));
  EXPECT_EQ(disconnects::bad_request.code, 3501u);
  EXPECT_TRUE(is_terminal_disconnect(disconnects::invalid_token.code));
  EXPECT_FALSE(is_terminal_disconnect(disconnects::shutdown.code));
  EXPECT_TRUE(is_terminal_disconnect(4500));
  EXPECT_FALSE(is_terminal_disconnect(4000));
  EXPECT_EQ(unsubscribe_reason(unsubscribe_code::insufficient_state), "insufficient state");
}

}  // namespace
}  // namespace duplex::centrifuge
