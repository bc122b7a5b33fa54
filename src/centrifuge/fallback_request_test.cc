// Tests of the fallbacks' request side (fallback_request.h): connect from a query or body,
// /emulation bodies, and a session's output rewritten for unidirectional clients.
#include "centrifuge/fallback_request.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace duplex::centrifuge {
namespace {

using json = nlohmann::json;

TEST(QueryParam, DecodesPercentEscapesAndPlus) {
  auto v = query_param("a=1&cf_connect=%7B%22id%22%3A1%2C%22connect%22%3A%7B%7D%7D&b=2", "cf_connect");
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, R"({"id":1,"connect":{}})");
  EXPECT_EQ(*query_param("x=a+b%20c", "x"), "a b c");
  EXPECT_EQ(*query_param("x=", "x"), "");
  EXPECT_EQ(*query_param("x", "x"), "");
}

TEST(QueryParam, AbsentOrMalformedIsNullopt) {
  EXPECT_FALSE(query_param("", "cf_connect"));
  EXPECT_FALSE(query_param("cf_connectx=1", "cf_connect"));
  EXPECT_FALSE(query_param("cf_connect=%7", "cf_connect"));
  EXPECT_FALSE(query_param("cf_connect=%zz", "cf_connect"));
  EXPECT_FALSE(query_param("cf_connect=abc%", "cf_connect"));
}

TEST(CommandFrame, EveryLineMustBeAJsonObject) {
  EXPECT_TRUE(is_command_frame(R"({"id":1,"connect":{}})"));
  EXPECT_TRUE(is_command_frame("{\"id\":1,\"connect\":{}}\n{\"id\":2,\"subscribe\":{\"channel\":\"a\"}}\n"));
  EXPECT_FALSE(is_command_frame(""));
  EXPECT_FALSE(is_command_frame("\n \n"));
  EXPECT_FALSE(is_command_frame("{\"id\":1"));
  EXPECT_FALSE(is_command_frame("[1,2]"));
  EXPECT_FALSE(is_command_frame("{\"id\":1,\"connect\":{}}\nnot json"));
}

TEST(UniConnectFrame, WrapsOneObjectAsConnectCommand) {
  auto f = uni_connect_frame(R"({"token":"t","subs":{"a":{"recover":true,"offset":3}}})");
  ASSERT_TRUE(f);
  json v = json::parse(*f);
  EXPECT_EQ(v["id"], 1);
  EXPECT_EQ(v["connect"]["token"], "t");
  EXPECT_EQ(v["connect"]["subs"]["a"]["offset"], 3);
  EXPECT_EQ(*uni_connect_frame(""), R"({"id":1,"connect":{}})");
  EXPECT_EQ(*uni_connect_frame("  \n"), R"({"id":1,"connect":{}})");
  // Line breaks inside the object become spaces: the frame stays one command line.
  auto multi = uni_connect_frame("{\n\"token\":\"t\"\n}");
  ASSERT_TRUE(multi);
  EXPECT_EQ(multi->find('\n'), std::string::npos);
  EXPECT_EQ(json::parse(*multi)["connect"]["token"], "t");
}

TEST(UniConnectFrame, RefusesAnythingButOneObject) {
  EXPECT_FALSE(uni_connect_frame("[]"));
  EXPECT_FALSE(uni_connect_frame("\"token\""));
  EXPECT_FALSE(uni_connect_frame("{\"token\":"));
  // An attempt to close the connect object and smuggle a second command in.
  EXPECT_FALSE(uni_connect_frame(R"({}},"subscribe":{"channel":"x"})"));
  EXPECT_FALSE(uni_connect_frame("{}\n{\"id\":2,\"publish\":{}}"));
}

TEST(EmulationRequest, ParsesSessionNodeAndData) {
  std::string why;
  auto r = parse_emulation_request(R"({"session":"s1.0","node":"n","data":"{\"id\":2,\"ping\":{}}"})", why);
  ASSERT_TRUE(r) << why;
  EXPECT_EQ(r->session, "s1.0");
  EXPECT_EQ(r->node, "n");
  EXPECT_EQ(r->data, R"({"id":2,"ping":{}})");
  // The SDK leaves node out when the connect result had none.
  auto r2 = parse_emulation_request(R"({"session":"s","data":""})", why);
  ASSERT_TRUE(r2) << why;
  EXPECT_EQ(r2->node, "");
}

TEST(EmulationRequest, RefusesMalformedBodiesWithAReason) {
  std::string why;
  EXPECT_FALSE(parse_emulation_request("", why));
  EXPECT_EQ(why, "body is not a JSON object");
  EXPECT_FALSE(parse_emulation_request(R"({"data":"x"})", why));
  EXPECT_EQ(why, "session is required");
  EXPECT_FALSE(parse_emulation_request(R"({"session":"s","data":{"id":1}})", why));
  EXPECT_EQ(why, "data must be a string");
  EXPECT_FALSE(parse_emulation_request(R"({"session":7,"data":"x"})", why));
  EXPECT_EQ(why, "session must be a string");
  EXPECT_FALSE(parse_emulation_request(R"({"session":"","data":"x"})", why));
  EXPECT_EQ(why, "session is empty");
}

TEST(Unidirectional, ConnectReplyBecomesConnectPushAndPushesAreBare) {
  uni_output u = to_unidirectional(
      "{\"id\":1,\"connect\":{\"client\":\"c\",\"ping\":25}}\n"
      "{\"push\":{\"channel\":\"a\",\"pub\":{\"data\":{\"x\":1}}}}\n{}");
  EXPECT_FALSE(u.refused);
  EXPECT_EQ(u.lines,
            "{\"connect\":{\"client\":\"c\",\"ping\":25}}\n"
            "{\"channel\":\"a\",\"pub\":{\"data\":{\"x\":1}}}\n{}");
}

TEST(Unidirectional, RefusedConnectGivesTheDisconnectForItsError) {
  uni_output u = to_unidirectional(R"({"id":1,"error":{"code":109,"message":"token expired"}})");
  ASSERT_TRUE(u.refused);
  EXPECT_EQ(u.refused->code, 3005u);
  EXPECT_TRUE(u.lines.empty());
  EXPECT_EQ(to_unidirectional(R"({"id":1,"error":{"code":107,"message":"bad request"}})").refused->code,
            3501u);
  EXPECT_EQ(disconnect_for_connect_error(103).code, 3507u);
  EXPECT_EQ(disconnect_for_connect_error(100).code, 3004u);
  // Other replies are not for a unidirectional client.
  EXPECT_EQ(to_unidirectional(R"({"id":3,"publish":{}})").lines, "");
}

}  // namespace
}  // namespace duplex::centrifuge
