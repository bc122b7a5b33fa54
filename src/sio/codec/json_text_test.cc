// json_text against nlohmann's own parser and serializer: the same values in, the same bytes
// out.
#include "sio/codec/json_text.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace duplex::sio::codec {
namespace {

using json = nlohmann::json;

std::string dump(const json& v) { return v.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string ours(const json& v) {
  std::string out = "prefix:";
  append_json_text(out, v);
  return out.substr(7);
}

TEST(JsonText, ParsesLikeNlohmann) {
  const std::vector<std::string> texts = {
      R"(["echo","hello"])", R"({"b":1,"a":[true,false,null],"c":{"d":"e"}})", R"("x")", "0",
      "-1", "18446744073709551615", "-9223372036854775808", "1.5", "1e3", "-0", "0.1",
      "123456789012345678901234567890", R"("\u00e9\ud83d\ude00\n\t\"\\\/")", R"({"a":1,"a":2})",
      " [ 1 , 2 ] ", R"(["caf\u00e9", "日本語", "\u0000\u001f"])", "[]", "{}", "[[[[]]]]",
      "1e308", "-1e-400", "true", "null"};
  for (const std::string& t : texts) {
    json mine;
    ASSERT_TRUE(parse_json_text(t, mine)) << t;
    const json theirs = json::parse(t);
    EXPECT_EQ(mine, theirs) << t;
    EXPECT_EQ(dump(mine), dump(theirs)) << t;
  }
}

TEST(JsonText, RefusesWhatIsNotJson) {
  for (const std::string t : {"", "[", "[1,]", "{\"a\"}", "'x'", "[1] 2", "nul", "\"\xff\"",
                              "[\"\xc3\"]", "{\"a\":1,}", "01", "1.", "+1", "\"\t\"", "1e400"}) {
    json mine;
    EXPECT_FALSE(parse_json_text(t, mine)) << t;
    EXPECT_TRUE(json::parse(t, nullptr, false).is_discarded()) << t;  // nlohmann agrees
  }
}

TEST(JsonText, WritesWhatDumpWrites) {
  json v = {{"s", "quote\" backslash\\ nl\n tab\t ctl\x01 del\x7f é 😀"},
            {"n", -42},
            {"u", 18446744073709551615ull},
            {"d", 1.0},
            {"f", 0.1},
            {"big", 1e300},
            {"nan", std::nan("")},
            {"arr", {1, "two", nullptr, false, json::array(), json::object()}},
            {"key \"q\"", json::object({{"z", 1}, {"a", 2}})}};
  EXPECT_EQ(ours(v), dump(v));
  v["bad"] = std::string("invalid \xff utf-8 \xc3");
  EXPECT_EQ(ours(v), dump(v));  // U+FFFD replacements, as dump's replace handler writes them
  v["bin"] = json::binary({1, 2, 3}, 7);
  EXPECT_EQ(ours(v), dump(v));
  EXPECT_EQ(ours(json("")), "\"\"");
  EXPECT_EQ(ours(json()), "null");
}

}  // namespace
}  // namespace duplex::sio::codec
