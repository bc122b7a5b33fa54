#include "centrifuge/codec/command_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace duplex::centrifuge {
namespace {

struct parsed {
  parse_result result;
  std::vector<command> cmds;
};

class CommandParserTest : public ::testing::Test {
 protected:
  parse_result parse(std::string_view frame) { return parser_.parse(frame, cmds_); }
  const command& only(std::string_view frame) {
    auto r = parse(frame);
    EXPECT_TRUE(r.ok()) << to_string(r.error) << " in " << frame;
    EXPECT_EQ(cmds_.size(), 1u);
    static const command none{};
    return cmds_.empty() ? none : cmds_[0];
  }
  command_parser parser_;
  std::vector<command> cmds_;
};

// Fixtures from centrifugal.dev docs/transports/client_protocol.md.
TEST_F(CommandParserTest, DocsSubscribeExample) {
  const command& c = only(R"({"id": 1, "subscribe": {"channel": "example"}})");
  EXPECT_EQ(c.id, 1u);
  ASSERT_EQ(c.type(), method::subscribe);
  EXPECT_EQ(std::get<subscribe_request>(c.body).channel, "example");
}

TEST_F(CommandParserTest, DocsBatchOfTwoCommands) {
  auto r = parse("{\"id\": 1, \"subscribe\": {\"channel\": \"ch1\"}}\n{\"id\": 2, \"subscribe\": {\"channel\": \"ch2\"}}");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.commands, 2u);
  ASSERT_EQ(cmds_.size(), 2u);
  EXPECT_EQ(cmds_[0].id, 1u);
  EXPECT_EQ(std::get<subscribe_request>(cmds_[0].body).channel, "ch1");
  EXPECT_EQ(cmds_[1].id, 2u);
  EXPECT_EQ(std::get<subscribe_request>(cmds_[1].body).channel, "ch2");
}

// What centrifuge-js 5.x sends (build/index.js _constructConnectCommand).
TEST_F(CommandParserTest, ConnectAsSentByCentrifugeJs) {
  const command& c = only(
      R"({"connect":{"token":"t.k.n","data":{"a":[1,2]},"name":"js","version":"1.0",)"
      R"("headers":{"x":"y"},"subs":{"news":{"recover":true,"offset":17,"epoch":"ab"},"a\nb":{}}},"id":1})");
  EXPECT_EQ(c.id, 1u);
  ASSERT_EQ(c.type(), method::connect);
  const auto& r = std::get<connect_request>(c.body);
  EXPECT_EQ(r.token, "t.k.n");
  EXPECT_EQ(r.data, R"({"a":[1,2]})");
  EXPECT_EQ(r.name, "js");
  EXPECT_EQ(r.version, "1.0");
  ASSERT_EQ(r.subs.size(), 2u);
  EXPECT_EQ(r.subs[0].channel, "news");
  EXPECT_TRUE(r.subs[0].recover);
  EXPECT_EQ(r.subs[0].offset, 17u);
  EXPECT_EQ(r.subs[0].epoch, "ab");
  EXPECT_EQ(r.subs[1].channel, "a\nb");
}

TEST_F(CommandParserTest, SubscribeAllFields) {
  const command& c = only(
      R"({"id":7,"subscribe":{"channel":"chat:1","token":"tok","recover":true,"epoch":"e1",)"
      R"("offset":"18446744073709551615","data":"hi","positioned":true,"recoverable":true,)"
      R"("join_leave":true,"delta":"fossil","flag":1,"tf":{"x":[null,false,1.5e3]}}})");
  const auto& s = std::get<subscribe_request>(c.body);
  EXPECT_EQ(s.channel, "chat:1");
  EXPECT_EQ(s.token, "tok");
  EXPECT_TRUE(s.recover);
  EXPECT_EQ(s.epoch, "e1");
  EXPECT_EQ(s.offset, 18446744073709551615ull);
  EXPECT_EQ(s.data, R"("hi")");
  EXPECT_TRUE(s.positioned);
  EXPECT_TRUE(s.recoverable);
  EXPECT_TRUE(s.join_leave);
  EXPECT_EQ(s.delta, "fossil");
  EXPECT_EQ(s.flag, 1u);
}

TEST_F(CommandParserTest, Unsubscribe) {
  const command& c = only(R"({"id":2,"unsubscribe":{"channel":"x"}})");
  EXPECT_EQ(std::get<unsubscribe_request>(c.body).channel, "x");
}

TEST_F(CommandParserTest, PublishKeepsRawData) {
  const command& c = only(R"({"id":3,"publish":{"channel":"x","data":{"text":"h\u00e9 \"q\"", "n": [1, {"d":null}] }}})");
  const auto& p = std::get<publish_request>(c.body);
  EXPECT_EQ(p.channel, "x");
  EXPECT_EQ(p.data, R"({"text":"h\u00e9 \"q\"", "n": [1, {"d":null}] })");
}

TEST_F(CommandParserTest, PresenceAndStats) {
  EXPECT_EQ(std::get<presence_request>(only(R"({"id":4,"presence":{"channel":"p"}})").body).channel, "p");
  EXPECT_EQ(std::get<presence_stats_request>(only(R"({"id":5,"presence_stats":{"channel":"q"}})").body).channel, "q");
}

TEST_F(CommandParserTest, History) {
  const command& c = only(R"({"id":6,"history":{"channel":"h","limit":-1,"since":{"offset":5,"epoch":"xyz"},"reverse":true}})");
  const auto& h = std::get<history_request>(c.body);
  EXPECT_EQ(h.channel, "h");
  EXPECT_EQ(h.limit, -1);
  EXPECT_TRUE(h.has_since);
  EXPECT_EQ(h.since.offset, 5u);
  EXPECT_EQ(h.since.epoch, "xyz");
  EXPECT_TRUE(h.reverse);
  const command& d = only(R"({"id":6,"history":{"channel":"h"}})");
  EXPECT_FALSE(std::get<history_request>(d.body).has_since);
  EXPECT_EQ(std::get<history_request>(d.body).limit, 0);
}

TEST_F(CommandParserTest, PingSendRpcRefreshSubRefresh) {
  EXPECT_EQ(only(R"({"id":8,"ping":{}})").type(), method::ping);
  const command& s = only(R"({"send":{"data":[1,"two"]}})");
  EXPECT_EQ(s.id, 0u);
  EXPECT_EQ(std::get<send_request>(s.body).data, R"([1,"two"])");
  const command& r = only(R"({"id":9,"rpc":{"method":"getUser","data":42}})");
  EXPECT_EQ(std::get<rpc_request>(r.body).method, "getUser");
  EXPECT_EQ(std::get<rpc_request>(r.body).data, "42");
  EXPECT_EQ(std::get<refresh_request>(only(R"({"id":10,"refresh":{"token":"n"}})").body).token, "n");
  const command& sr = only(R"({"id":11,"sub_refresh":{"channel":"c","token":"s"}})");
  EXPECT_EQ(std::get<sub_refresh_request>(sr.body).channel, "c");
  EXPECT_EQ(std::get<sub_refresh_request>(sr.body).token, "s");
}

TEST_F(CommandParserTest, EmptyObjectIsPong) {
  const command& c = only("{}");
  EXPECT_EQ(c.type(), method::pong);
  EXPECT_EQ(c.id, 0u);
}

TEST_F(CommandParserTest, BlankLinesAndCrlfAreSkipped) {
  auto r = parse("\n{\"id\":1,\"ping\":{}}\r\n\n  \n{}\n");
  ASSERT_TRUE(r.ok()) << to_string(r.error);
  ASSERT_EQ(cmds_.size(), 2u);
  EXPECT_EQ(cmds_[1].type(), method::pong);
}

TEST_F(CommandParserTest, EscapedStringsAreUnescapedAndStayValidAcrossLines) {
  auto r = parse("{\"id\":1,\"subscribe\":{\"channel\":\"a\\u0062\\\"c\"}}\n{\"id\":2,\"subscribe\":{\"channel\":\"\\u65e5\\n\"}}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::get<subscribe_request>(cmds_[0].body).channel, "ab\"c");
  EXPECT_EQ(std::get<subscribe_request>(cmds_[1].body).channel, "\xe6\x97\xa5\n");
}

TEST_F(CommandParserTest, NullFieldsAreAbsent) {
  const command& c = only(R"({"id":1,"connect":null,"subscribe":{"channel":"x","token":null}})");
  ASSERT_EQ(c.type(), method::subscribe);
  EXPECT_EQ(std::get<subscribe_request>(c.body).token, "");
}

TEST_F(CommandParserTest, MissingRequiredFieldIsInvalidRequestWithError107) {
  auto r = parse("{\"id\":1,\"subscribe\":{}}\n{\"id\":2,\"publish\":{\"channel\":\"x\"}}\n{\"id\":3,\"ping\":{}}");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(cmds_.size(), 3u);
  ASSERT_EQ(cmds_[0].type(), method::invalid);
  EXPECT_EQ(cmds_[0].requested, method::subscribe);
  EXPECT_EQ(std::get<invalid_request>(cmds_[0].body).code, error_code::bad_request);
  ASSERT_EQ(cmds_[1].type(), method::invalid);
  EXPECT_EQ(cmds_[1].requested, method::publish);
  EXPECT_EQ(cmds_[2].type(), method::ping);
}

TEST_F(CommandParserTest, PaddedParseViewsPointIntoTheFrame) {
  std::string buf = R"({"id":1,"publish":{"channel":"c","data":{"x":1}}})";
  const std::size_t n = buf.size();
  buf.append(command_parser::padding, '\0');
  auto r = parser_.parse_padded(std::string_view(buf.data(), n), cmds_);
  ASSERT_TRUE(r.ok());
  const auto& p = std::get<publish_request>(cmds_[0].body);
  EXPECT_GE(p.data.data(), buf.data());
  EXPECT_LT(p.data.data(), buf.data() + n);
  EXPECT_EQ(p.data, R"({"x":1})");
}

TEST_F(CommandParserTest, ErrorKeepsCommandsBeforeTheBadLine) {
  auto r = parse("{\"id\":1,\"ping\":{}}\n{\"id\":2,\"ping\":{}\n{\"id\":3,\"ping\":{}}");
  EXPECT_EQ(r.error, parse_error::malformed_json);
  EXPECT_EQ(r.commands, 1u);
  EXPECT_EQ(r.error_offset, 19u);
  ASSERT_EQ(cmds_.size(), 1u);
  EXPECT_EQ(cmds_[0].id, 1u);
}

TEST_F(CommandParserTest, ParseCommandsFreeFunction) {
  std::vector<command> out;
  auto r = parse_commands(R"({"id":1,"ping":{}})", parse_limits{}, out);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(out.at(0).type(), method::ping);
}

// Bad input, one row per rejection: what was sent, the error, and its wire reaction.
struct bad_row {
  const char* name;
  std::string frame;
  parse_error error;
};

std::string nested(int depth) {
  std::string s = R"({"id":1,"publish":{"channel":"c","data":)";
  for (int i = 0; i < depth; ++i) s += '[';
  for (int i = 0; i < depth; ++i) s += ']';
  return s + "}}";
}

std::string many_lines(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += "{}\n";
  return s;
}

TEST(CommandParserBadInput, Table) {
  const bad_row rows[] = {
      {"empty frame", "", parse_error::empty_frame},
      {"whitespace only", " \n\r\n\t", parse_error::empty_frame},
      {"not json", "hello", parse_error::malformed_json},
      {"truncated", R"({"id":1,"ping":{})", parse_error::malformed_json},
      {"trailing comma", R"({"id":1,"ping":{},})", parse_error::malformed_json},
      {"two objects on a line", R"({"id":1,"ping":{}} {})", parse_error::malformed_json},
      {"bad utf-8", "{\"id\":1,\"subscribe\":{\"channel\":\"\xff\"}}", parse_error::malformed_json},
      {"raw control char", "{\"id\":1,\"subscribe\":{\"channel\":\"a\x01\"}}", parse_error::malformed_json},
      {"bad escape", R"({"id":1,"subscribe":{"channel":"\q"}})", parse_error::malformed_json},
      {"invalid data json", R"({"id":1,"publish":{"channel":"c","data":{"a" 1}}})", parse_error::malformed_json},
      {"invalid atom in unknown field", R"({"id":1,"ping":{},"x":tru})", parse_error::malformed_json},
      {"array command", R"([{"id":1}])", parse_error::not_an_object},
      {"string command", R"("ping")", parse_error::not_an_object},
      {"id is a string", R"({"id":"1","ping":{}})", parse_error::wrong_type},
      {"id negative", R"({"id":-1,"ping":{}})", parse_error::wrong_type},
      {"id fractional", R"({"id":1.5,"ping":{}})", parse_error::wrong_type},
      {"id too large", R"({"id":4294967296,"ping":{}})", parse_error::number_out_of_range},
      {"channel is a number", R"({"id":1,"subscribe":{"channel":5}})", parse_error::wrong_type},
      {"recover is a string", R"({"id":1,"subscribe":{"channel":"c","recover":"yes"}})", parse_error::wrong_type},
      {"request is an array", R"({"id":1,"subscribe":[]})", parse_error::wrong_type},
      {"limit beyond int32", R"({"id":1,"history":{"channel":"c","limit":2147483648}})", parse_error::number_out_of_range},
      {"offset not digits", R"({"id":1,"subscribe":{"channel":"c","offset":"12a"}})", parse_error::wrong_type},
      {"missing id", R"({"subscribe":{"channel":"c"}})", parse_error::missing_id},
      {"id zero", R"({"id":0,"publish":{"channel":"c","data":1}})", parse_error::missing_id},
      {"unknown command", R"({"id":1,"frobnicate":{}})", parse_error::unknown_command},
      {"id without request", R"({"id":3})", parse_error::unknown_command},
      {"two requests", R"({"id":1,"ping":{},"presence":{"channel":"c"}})", parse_error::multiple_requests},
      {"too deep", nested(40), parse_error::too_deep},
      {"too many commands", many_lines(129), parse_error::too_many_commands},
      {"frame too large", "{\"id\":1,\"send\":{\"data\":\"" + std::string(70000, 'a') + "\"}}", parse_error::frame_too_large},
  };
  EXPECT_GE(std::size(rows), 15u);
  command_parser p;
  std::vector<command> out;
  for (const auto& row : rows) {
    auto r = p.parse(row.frame, out);
    EXPECT_EQ(r.error, row.error) << row.name << ": got " << to_string(r.error);
    EXPECT_EQ(reaction(r.error).code, 3501u) << row.name;
  }
}

TEST(CommandParserLimits, CommandAndSubsLimits) {
  parse_limits l;
  l.max_command_bytes = 32;
  l.max_connect_subs = 2;
  command_parser p(l);
  std::vector<command> out;
  EXPECT_EQ(p.parse(R"({"id":1,"rpc":{"method":"0123456789abcdef"}})", out).error, parse_error::command_too_large);
  EXPECT_EQ(p.parse(R"({"id":1,"ping":{}})", out).error, parse_error::none);
  l.max_command_bytes = 1024;
  p.set_limits(l);
  EXPECT_EQ(p.parse(R"({"id":1,"connect":{"subs":{"a":{},"b":{},"c":{}}}})", out).error, parse_error::too_many_subs);
}

TEST(CommandParserLimits, ErrorIdIsReported) {
  command_parser p;
  std::vector<command> out;
  auto r = p.parse(R"({"id":42,"subscribe":{"channel":1}})", out);
  EXPECT_EQ(r.error, parse_error::wrong_type);
  EXPECT_EQ(r.error_id, 42u);
}

}  // namespace
}  // namespace duplex::centrifuge
