// Tests of the server HTTP API's logic on a real hub (memory broker, two manual executors
// driven by the test thread): reply shapes, status codes, validation and the key check.
#include "server/api.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "hub/hub_test_util.h"
#include "hub/memory_broker.h"
#include "support/manual_executor.h"

namespace duplex::service {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using hub::hub_test::recording_subscriber;

class Api : public ::testing::Test {
 protected:
  Api() {
    hub::namespace_options def;  // "news" etc.: no history, no presence
    def.subscribe = hub::access::anonymous;
    namespaces_.set_default(def);
    hub::namespace_options chat = def;
    chat.history_size = 10;
    chat.history_ttl = 60s;
    chat.presence = true;
    namespaces_.add("chat", chat);
    json_ = formats_.add("json", hub::hub_test::counting_encoder{"json", &encodes_});
    node_formats_ = centrifuge::node::register_formats(formats_);
    hub_.emplace(std::span<executor* const>(execs_), broker_, namespaces_, formats_);
    node_.emplace(*hub_, node_formats_, nullptr, centrifuge::node_options{});
    api_.emplace(*hub_, nullptr, api_options{"secret", false, "node-1", "1.2.3"});
  }

  void run() {
    for (int i = 0; i < 20; ++i) {
      if (ex0_.run_pending() + ex1_.run_pending() == 0) return;
    }
  }

  api_response call(std::string_view method, std::string_view body,
                    executor* reply_on = nullptr) {
    std::optional<api_response> out;
    int calls = 0;
    api_->handle(method, body, reply_on, [&](api_response r) {
      ++calls;
      out = std::move(r);
    });
    run();
    EXPECT_EQ(calls, 1) << method << " " << body;
    return out ? std::move(*out) : api_response{-1, ""};
  }

  // Calls and parses; the reply must always be valid JSON.
  json call_json(std::string_view method, std::string_view body, int status = 200) {
    api_response r = call(method, body);
    EXPECT_EQ(r.status, status) << r.body;
    json j = json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.body;
    return j;
  }

  // Subscribers live in the fixture so TearDown can unsubscribe them before they go away.
  recording_subscriber& sub(std::string client, std::string user = "u") {
    subs_.push_back(
        std::make_unique<recording_subscriber>(json_, std::move(client), std::move(user)));
    return *subs_.back();
  }

  void subscribe(std::size_t shard, recording_subscriber& s, std::string_view channel) {
    std::optional<hub::subscribe_result> out;
    hub::subscribe_request req{channel, hub::credential::server, {}, std::nullopt};
    hub_->shard_at(shard).subscribe(s, req, [&](hub::subscribe_result r) { out = std::move(r); });
    run();
    ASSERT_TRUE(out);
    ASSERT_EQ(out->err, hub::error::ok);
    subscribed_.push_back({shard, &s, std::string(channel)});
  }

  void TearDown() override {
    for (auto& [shard, s, ch] : subscribed_) hub_->shard_at(shard).unsubscribe(*s, ch);
    run();
  }

  struct held {
    std::size_t shard;
    recording_subscriber* sub;
    std::string channel;
  };
  duplex::test::manual_executor ex0_, ex1_;
  std::array<executor*, 2> execs_{&ex0_, &ex1_};
  hub::namespace_table namespaces_;
  hub::format_registry formats_;
  std::atomic<int> encodes_{0};
  hub::wire_format json_{};
  std::uint64_t now_ = 1000;
  hub::memory_broker broker_{hub::memory_broker_options{[this] { return now_; }}};
  centrifuge::formats node_formats_;
  std::optional<hub::channel_hub> hub_;
  std::optional<centrifuge::node> node_;  // without sessions: only the call path is checked
  std::optional<api_handler> api_;
  std::vector<std::unique_ptr<recording_subscriber>> subs_;
  std::vector<held> subscribed_;
};

void expect_bad_request(const json& j, std::string_view field) {
  ASSERT_TRUE(j.contains("error")) << j.dump();
  EXPECT_EQ(j["error"]["code"], 107);
  EXPECT_NE(j["error"]["message"].get<std::string>().find(field), std::string::npos)
      << j.dump() << " should name " << field;
}

TEST_F(Api, PublishThenHistoryReturnsItWithPosition) {
  auto& s = sub("c1");
  subscribe(0, s, "chat:a");
  json pub = call_json(
      "publish",
      R"({"channel":"chat:a","data":{ "x" : 1.50, "big": 123456789012345678901234,)"
      R"( "s":"a b\"}" },"tags":{"k":"v"}})");
  ASSERT_TRUE(pub.contains("result")) << pub.dump();
  EXPECT_EQ(pub["result"]["offset"], 1);
  const std::string epoch = pub["result"]["epoch"];
  EXPECT_FALSE(epoch.empty());
  // Subscribers get the data as its minified JSON text, number spelling kept.
  ASSERT_EQ(s.got.size(), 1u);
  EXPECT_EQ(s.got[0].data, R"({"x":1.50,"big":123456789012345678901234,"s":"a b\"}"})");

  api_response raw = call("history", R"({"channel":"chat:a","limit":10})");
  EXPECT_EQ(raw.status, 200);
  EXPECT_NE(raw.body.find(R"("data":{"x":1.50,"big":123456789012345678901234,"s":"a b\"}"})"),
            std::string::npos)
      << raw.body;
  json h = json::parse(raw.body);
  ASSERT_EQ(h["result"]["publications"].size(), 1u);
  EXPECT_EQ(h["result"]["publications"][0]["offset"], 1);
  EXPECT_EQ(h["result"]["publications"][0]["tags"], json({{"k", "v"}}));
  EXPECT_EQ(h["result"]["offset"], 1);
  EXPECT_EQ(h["result"]["epoch"], epoch);

  // No limit: the position only.
  json pos = call_json("history", R"({"channel":"chat:a"})");
  EXPECT_TRUE(pos["result"]["publications"].empty());
  EXPECT_EQ(pos["result"]["offset"], 1);
}

TEST_F(Api, HistorySinceAndReverse) {
  for (int i = 1; i <= 3; ++i) {
    call_json("publish", R"({"channel":"chat:h","data":)" + std::to_string(i) + "}");
  }
  json top = call_json("history", R"({"channel":"chat:h"})");
  const std::string epoch = top["result"]["epoch"];
  json since = call_json(
      "history",
      R"({"channel":"chat:h","limit":-1,"since":{"offset":1,"epoch":")" + epoch + R"("}})");
  ASSERT_EQ(since["result"]["publications"].size(), 2u);
  EXPECT_EQ(since["result"]["publications"][0]["data"], 2);
  EXPECT_EQ(since["result"]["publications"][1]["data"], 3);
  json rev = call_json("history", R"({"channel":"chat:h","limit":1,"reverse":true})");
  ASSERT_EQ(rev["result"]["publications"].size(), 1u);
  EXPECT_EQ(rev["result"]["publications"][0]["data"], 3);
  json gone = call_json("history",
                        R"({"channel":"chat:h","limit":5,"since":{"offset":1,"epoch":"old"}})");
  EXPECT_EQ(gone["error"]["code"], 112);
  json off = call_json("history", R"({"channel":"news","limit":5})");
  EXPECT_EQ(off["error"]["code"], 108);
}

TEST_F(Api, PublishWithoutHistoryHasEmptyResult) {
  auto& s = sub("c1");
  subscribe(1, s, "news");
  api_response r = call("publish", R"({"channel":"news","data":"hi"})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"result":{}})");
  ASSERT_EQ(s.got.size(), 1u);
  EXPECT_EQ(s.got[0].data, R"("hi")");
}

TEST_F(Api, BodyWithANulByteIsRefused) {
  // nlohmann's parser stops at NUL: without the check this body would pass as {"channel":...}.
  auto& s = sub("c1");
  subscribe(1, s, "news");
  api_response r = call("publish", std::string(R"({"channel":"news","data":1})") + '\0' + "junk");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("NUL"), std::string::npos) << r.body;
  EXPECT_TRUE(s.got.empty());
}

TEST_F(Api, PublishHubErrorsStayInsideA200Reply) {
  json r = call_json("publish", R"({"channel":"nope:x","data":1})");
  EXPECT_EQ(r["error"]["code"], 102);
  EXPECT_EQ(r["error"]["message"], "unknown channel");
  json bad = call_json("publish", R"({"channel":"has space","data":1})");
  EXPECT_EQ(bad["error"]["code"], 102);
}

TEST_F(Api, BroadcastAnswersEachChannelInOrder) {
  auto& a = sub("a");
  auto& b = sub("b");
  subscribe(0, a, "chat:x");
  subscribe(1, b, "news");
  json r = call_json("broadcast", R"({"channels":["chat:x","nope:y","news"],"data":{"v":true}})");
  const json& rs = r["result"]["responses"];
  ASSERT_EQ(rs.size(), 3u) << r.dump();
  EXPECT_EQ(rs[0]["result"]["offset"], 1);
  EXPECT_FALSE(rs[0]["result"]["epoch"].get<std::string>().empty());
  EXPECT_EQ(rs[1]["error"]["code"], 102);
  EXPECT_EQ(rs[2]["result"], json::object());
  ASSERT_EQ(a.got.size(), 1u);
  ASSERT_EQ(b.got.size(), 1u);
  EXPECT_EQ(b.got[0].data, R"({"v":true})");
}

TEST_F(Api, MalformedBodiesAreBadRequests) {
  expect_bad_request(call_json("publish", "{", 400), "JSON");
  expect_bad_request(call_json("publish", "[1]", 400), "object");
  expect_bad_request(call_json("publish", R"({"data":1})", 400), "channel");
  expect_bad_request(call_json("publish", R"({"channel":"","data":1})", 400), "channel");
  expect_bad_request(call_json("publish", R"({"channel":5,"data":1})", 400), "channel");
  expect_bad_request(call_json("publish", R"({"channel":"news"})", 400), "data");
  expect_bad_request(call_json("publish", R"({"channel":"news","data":null})", 400), "data");
  expect_bad_request(call_json("publish", R"({"channel":"news","data":1,"tags":{"a":1}})", 400),
                     "tags");
  expect_bad_request(call_json("publish", R"({"channel":"news","data":1,"tags":[]})", 400),
                     "tags");
  expect_bad_request(call_json("publish", R"({"channel":"news","data":1,"skip_history":"y"})", 400),
                     "skip_history");
  expect_bad_request(call_json("broadcast", R"({"channels":[],"data":1})", 400), "channels");
  expect_bad_request(call_json("broadcast", R"({"channels":["a",2],"data":1})", 400), "channels");
  expect_bad_request(call_json("broadcast", R"({"channels":"a","data":1})", 400), "channels");
  expect_bad_request(call_json("history", R"({"channel":"chat:a","limit":"5"})", 400), "limit");
  expect_bad_request(call_json("history", R"({"channel":"chat:a","limit":2.0})", 400), "limit");
  expect_bad_request(call_json("history", R"({"channel":"chat:a","since":3})", 400), "since");
  expect_bad_request(call_json("history", R"({"channel":"chat:a","since":{"offset":-1}})", 400),
                     "since.offset");
  expect_bad_request(call_json("presence", R"({})", 400), "channel");
  expect_bad_request(call_json("channels", R"({"pattern":7})", 400), "pattern");
  expect_bad_request(call_json("subscribe", R"({"channel":"news"})", 400), "user");
  expect_bad_request(call_json("disconnect", R"({"user":"u","disconnect":{"code":1000}})", 400),
                     "disconnect.code");
  expect_bad_request(call_json("disconnect", R"({"user":"u","disconnect":{"reason":"x"}})", 400),
                     "disconnect.code");
  expect_bad_request(call_json("disconnect", R"({"user":"u","whitelist":["c"]})", 400),
                     "whitelist");
  // Nothing was published by any of these.
  json h = call_json("history", R"({"channel":"chat:a"})");
  EXPECT_EQ(h["result"]["offset"], 0);
}

TEST_F(Api, DeepNestingAndEscapedKeysAreHandled) {
  std::string deep = R"({"channel":"chat:d","data":)" + std::string(100000, '[') +
                     std::string(100000, ']') + "}";
  json r = call_json("publish", deep);
  EXPECT_EQ(r["result"]["offset"], 1);
  // An escaped member name is the same member; the last duplicate wins, as in the parse.
  json e = call_json("publish", R"({"channel":"chat:d","data":1,"d\u0061ta":{"k":2}})");
  EXPECT_EQ(e["result"]["offset"], 2);
  json h = call_json("history", R"({"channel":"chat:d","limit":-1,"since":{"offset":1,"epoch":")" +
                                    r["result"]["epoch"].get<std::string>() + R"("}})");
  ASSERT_EQ(h["result"]["publications"].size(), 1u);
  EXPECT_EQ(h["result"]["publications"][0]["data"], json({{"k", 2}}));
}

TEST_F(Api, UnknownMethodIs404) {
  json r = call_json("nope", "{}", 404);
  EXPECT_EQ(r["error"]["code"], 104);
  EXPECT_EQ(r["error"]["message"], "method not found");
  EXPECT_EQ(call_json("", "{}", 404)["error"]["code"], 104);
  EXPECT_EQ(call_json("Publish", "{}", 404)["error"]["code"], 104);
}

TEST_F(Api, AuthorizationHeaders) {
  EXPECT_TRUE(api_->authorized("secret", std::nullopt));
  EXPECT_TRUE(api_->authorized(std::nullopt, "apikey secret"));
  EXPECT_TRUE(api_->authorized(std::nullopt, "ApiKey  secret "));
  EXPECT_FALSE(api_->authorized("wrong", std::nullopt));
  EXPECT_FALSE(api_->authorized("secre", std::nullopt));
  EXPECT_FALSE(api_->authorized("secret2", std::nullopt));
  EXPECT_FALSE(api_->authorized(std::nullopt, "Bearer secret"));
  EXPECT_FALSE(api_->authorized(std::nullopt, "apikeysecret"));
  EXPECT_FALSE(api_->authorized(std::nullopt, "secret"));
  EXPECT_FALSE(api_->authorized(std::nullopt, std::nullopt));
  EXPECT_TRUE(api_->authorized("wrong", "apikey secret"));

  api_handler insecure(*hub_, nullptr, api_options{"", true, "", ""});
  EXPECT_TRUE(insecure.authorized(std::nullopt, std::nullopt));
  api_handler closed(*hub_, nullptr, api_options{"", false, "", ""});
  EXPECT_FALSE(closed.authorized("", std::nullopt));
  EXPECT_FALSE(closed.authorized(std::nullopt, "apikey "));

  api_response u = unauthorized_response();
  EXPECT_EQ(u.status, 401);
  EXPECT_EQ(json::parse(u.body)["error"]["code"], 101);
}

TEST_F(Api, PresenceAndStats) {
  auto& a = sub("ca", "alice");
  auto& b = sub("cb", "alice");
  auto& c = sub("cc", "bob");
  subscribe(0, a, "chat:room");
  subscribe(1, b, "chat:room");
  subscribe(1, c, "chat:room");
  json p = call_json("presence", R"({"channel":"chat:room"})");
  const json& m = p["result"]["presence"];
  ASSERT_EQ(m.size(), 3u) << p.dump();
  EXPECT_EQ(m["ca"], json({{"client", "ca"}, {"user", "alice"}}));
  EXPECT_EQ(m["cc"]["user"], "bob");
  json st = call_json("presence_stats", R"({"channel":"chat:room"})");
  EXPECT_EQ(st["result"], json({{"num_clients", 3}, {"num_users", 2}}));
  EXPECT_EQ(call_json("presence", R"({"channel":"news"})")["error"]["code"], 108);
  EXPECT_EQ(call_json("presence_stats", R"({"channel":"news"})")["error"]["code"], 108);
}

TEST_F(Api, ChannelsWithPattern) {
  auto& a = sub("a");
  auto& b = sub("b");
  auto& c = sub("c");
  auto& d = sub("d");
  subscribe(0, a, "news");
  subscribe(1, b, "news");
  subscribe(0, c, "chat:a");
  subscribe(1, d, "chat:b");
  json all = call_json("channels", "");
  EXPECT_EQ(all["result"]["channels"],
            json({{"news", {{"num_clients", 2}}},
                  {"chat:a", {{"num_clients", 1}}},
                  {"chat:b", {{"num_clients", 1}}}}));
  json chat = call_json("channels", R"({"pattern":"chat:*"})");
  EXPECT_EQ(chat["result"]["channels"].size(), 2u);
  EXPECT_TRUE(chat["result"]["channels"].contains("chat:b"));
  json q = call_json("channels", R"({"pattern":"?ews"})");
  EXPECT_EQ(q["result"]["channels"], json({{"news", {{"num_clients", 2}}}}));
  json star = call_json("channels", R"({"pattern":"*a*"})");
  EXPECT_EQ(star["result"]["channels"].size(), 2u);  // chat:a, chat:b
  json none = call_json("channels", R"({"pattern":"chat:c*"})");
  EXPECT_EQ(none["result"]["channels"], json::object());
}

TEST_F(Api, HistoryRemoveStartsANewEpoch) {
  json p = call_json("publish", R"({"channel":"chat:r","data":1})");
  call_json("publish", R"({"channel":"chat:r","data":2})");
  const std::string old_epoch = p["result"]["epoch"];
  api_response removed = call("history_remove", R"({"channel":"chat:r"})");
  EXPECT_EQ(removed.status, 200);
  EXPECT_EQ(removed.body, R"({"result":{}})");
  json h = call_json("history", R"({"channel":"chat:r","limit":-1})");
  EXPECT_TRUE(h["result"]["publications"].empty());
  EXPECT_NE(h["result"]["epoch"], old_epoch);
  EXPECT_EQ(call_json("history_remove", R"({"channel":"news"})")["error"]["code"], 108);
  EXPECT_EQ(call_json("history_remove", R"({"channel":"nope:x"})")["error"]["code"], 102);
}

TEST_F(Api, SessionMethodsWithoutANode) {
  EXPECT_EQ(call("subscribe", R"({"user":"u","channel":"news"})").body, R"({"result":{}})");
  EXPECT_EQ(call("unsubscribe", R"({"user":"u","channel":"news","client":"c"})").body,
            R"({"result":{}})");
  EXPECT_EQ(call("disconnect", R"({"user":"u","disconnect":{"code":4000,"reason":"bye"}})").body,
            R"({"result":{}})");
  EXPECT_EQ(call("disconnect", R"({"user":"u","whitelist":[]})").body, R"({"result":{}})");
  EXPECT_EQ(call_json("subscribe", R"({"user":"u","channel":"nope:x"})")["error"]["code"], 102);
}

TEST_F(Api, SessionMethodsGoThroughTheNode) {
  api_handler with_node(*hub_, &*node_, api_options{"k", false, "n", "v"});
  int replies = 0;
  auto expect_empty_result = [&](api_response r) {
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"result":{}})");
    ++replies;
  };
  with_node.handle("subscribe", R"({"user":"u","channel":"news"})", &ex0_, expect_empty_result);
  with_node.handle("unsubscribe", R"({"user":"u","channel":"news"})", &ex0_, expect_empty_result);
  with_node.handle("disconnect", R"({"user":"u","client":"c"})", &ex0_, expect_empty_result);
  EXPECT_EQ(replies, 0);  // each waits for every node shard
  run();
  EXPECT_EQ(replies, 3);
  std::optional<api_response> info;
  with_node.handle("info", "", nullptr, [&](api_response r) { info = std::move(r); });
  ASSERT_TRUE(info);
  EXPECT_EQ(json::parse(info->body)["result"]["nodes"][0]["num_clients"], 0);
}

TEST_F(Api, InfoDescribesThisNode) {
  auto& a = sub("a");
  subscribe(0, a, "news");
  subscribe(0, a, "chat:z");
  json r = call_json("info", "{}");
  ASSERT_EQ(r["result"]["nodes"].size(), 1u);
  const json& n = r["result"]["nodes"][0];
  EXPECT_EQ(n["name"], "node-1");
  EXPECT_EQ(n["version"], "1.2.3");
  EXPECT_EQ(n["num_channels"], 2);
  EXPECT_EQ(n["num_subs"], 2);
  EXPECT_EQ(n["num_clients"], 0);
  EXPECT_EQ(n["uid"].get<std::string>().size(), 36u);
}

TEST_F(Api, DoneRunsOnReplyOnAndNeverInline) {
  // Success, malformed JSON and a validation error: each reply is a task posted to ex1_.
  for (std::string_view body : {R"({"channel":"chat:q","data":1})", "{", R"({"channel":1})"}) {
    bool called = false;
    api_->handle("publish", body, &ex1_, [&](api_response) { called = true; });
    EXPECT_FALSE(called) << body;
    ex0_.run_pending();
    EXPECT_FALSE(called) << body;
    ex1_.run_pending();
    EXPECT_TRUE(called) << body;
  }
  bool called = false;
  api_->handle("nope", "", &ex0_, [&](api_response r) {
    EXPECT_EQ(r.status, 404);
    called = true;
  });
  EXPECT_FALSE(called);
  ex0_.run_pending();
  EXPECT_TRUE(called);
}

TEST_F(Api, StoredNonJsonDataIsShownAsAString) {
  // Other protocols may publish bytes that are not JSON (raw WebSocket text, binary).
  std::optional<hub::publish_result> done;
  hub_->publish({"chat:t", shared_payload::copy_of(std::string_view("plain \xff text")),
                 std::nullopt, {}, hub::credential::server},
                nullptr, [&](hub::publish_result r) { done = r; });
  run();
  ASSERT_TRUE(done);
  json h = call_json("history", R"({"channel":"chat:t","limit":1})");
  ASSERT_EQ(h["result"]["publications"].size(), 1u);
  EXPECT_EQ(h["result"]["publications"][0]["data"], "plain \xef\xbf\xbd text");
}

TEST_F(Api, MutatedBodiesNeverCrashAndAlwaysAnswerJson) {
  const std::vector<std::string> seeds = {
      R"({"channel":"chat:m","data":{"a":[1,2,{"b":"c"}]},"tags":{"k":"v"}})",
      R"({"channels":["chat:m","news"],"data":"x"})",
      R"({"channel":"chat:m","limit":3,"since":{"offset":1,"epoch":"e"},"reverse":true})",
      R"({"user":"u","channel":"news","client":"c","disconnect":{"code":3500,"reason":"r"}})",
      R"({"pattern":"ch*"})",
  };
  const std::array<std::string_view, 11> methods = {
      "publish", "broadcast", "subscribe", "unsubscribe", "disconnect", "presence",
      "presence_stats", "history", "history_remove", "channels", "info"};
  const std::string alphabet = "{}[]\",:\\ 0-1.eE\"nulltruefalse\x01\xc3\xa9";
  std::mt19937 rng(12345);
  for (int i = 0; i < 3000; ++i) {
    std::string body = seeds[rng() % seeds.size()];
    for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n && !body.empty(); ++k) {
      const std::size_t at = rng() % body.size();
      switch (rng() % 3) {
        case 0: body[at] = alphabet[rng() % alphabet.size()]; break;
        case 1: body.erase(at, 1 + rng() % 3); break;
        default: body.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
      }
    }
    api_response r = call(methods[rng() % methods.size()], body);
    ASSERT_TRUE(r.status == 200 || r.status == 400) << body << " -> " << r.body;
    ASSERT_TRUE(json::accept(r.body)) << body << " -> " << r.body;
  }
}

}  // namespace
}  // namespace duplex::service
