// Tests of centrifuge::session over a recording transport: one hub shard on a manual executor,
// the memory broker, a fake authenticator. Every step is deterministic (no threads, fake time).
#include "centrifuge/session.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "centrifuge/node.h"
#include "hub/memory_broker.h"
#include "support/manual_executor.h"

namespace duplex::centrifuge {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

class recording_transport final : public transport {
 public:
  void write_framed(const shared_payload& frame) override {
    // A WebSocket text frame from the server: 2- or 4-byte header, no mask.
    std::string_view f = frame.view();
    std::size_t len = static_cast<unsigned char>(f[1]) & 0x7f;
    std::size_t header = len == 126 ? 4 : 2;
    messages.emplace_back(f.substr(header));
  }
  void write_message(std::string_view json) override { messages.emplace_back(json); }
  std::size_t buffered() const override { return buffered_bytes; }
  void close(std::uint32_t code, std::string_view reason) override {
    closed_code = code;
    closed_reason = std::string(reason);
  }

  // Every JSON reply/push written so far (batches split on '\n'), then forgotten.
  std::vector<json> take() {
    std::vector<json> out;
    for (const auto& m : messages) {
      std::size_t start = 0;
      while (start <= m.size()) {
        std::size_t end = m.find('\n', start);
        if (end == std::string::npos) end = m.size();
        if (end > start) out.push_back(json::parse(m.substr(start, end - start)));
        start = end + 1;
      }
    }
    messages.clear();
    return out;
  }

  std::vector<std::string> messages;
  std::size_t buffered_bytes = 0;
  std::optional<std::uint32_t> closed_code;
  std::string closed_reason;
};

class fake_auth final : public authenticator {
 public:
  auth_status verify_connect(std::string_view token, connect_identity& out) const override {
    if (token == "expired") return auth_status::expired;
    if (token.starts_with("user:")) {
      out.user = std::string(token.substr(5));
      out.info_json = R"({"name":"x"})";
      return auth_status::ok;
    }
    if (token == "server-subs") {
      out.user = "42";
      out.channels = {"hist:a", "hist:b"};
      return auth_status::ok;
    }
    if (token == "short") {
      out.user = "7";
      out.expire_at = now + 30;
      return auth_status::ok;
    }
    return auth_status::invalid;
  }
  auth_status verify_subscribe(std::string_view token, std::string_view channel, std::string_view,
                               subscribe_grant&) const override {
    return token == std::string("sub:") + std::string(channel) ? auth_status::ok : auth_status::invalid;
  }
  std::int64_t now_unix() const override { return now; }
  std::int64_t now = 1'700'000'000;
};

class Session : public ::testing::Test {
 protected:
  Session() {
    hub::namespace_options def;
    def.subscribe = hub::access::anonymous;
    def.publish = hub::access::anonymous;
    def.presence_read = hub::access::anonymous;
    def.history_read = hub::access::anonymous;
    namespaces_.set_default(def);
    hub::namespace_options news = def;
    news.history_size = 1000;
    news.history_ttl = 600s;
    news.presence = true;
    news.join_leave = true;
    news.slow_policy = hub::slow_consumer_policy::drop;
    namespaces_.add("news", news);
    hub::namespace_options hist = news;  // history without presence and join/leave pushes
    hist.presence = false;
    hist.join_leave = false;
    namespaces_.add("hist", hist);
    hub::namespace_options priv = def;
    priv.subscribe = hub::access::token_only;
    namespaces_.add("priv", priv);
    hub::namespace_options slow = hist;
    slow.slow_policy = hub::slow_consumer_policy::disconnect;
    namespaces_.add("slow", slow);

    formats_ = node::register_formats(registry_);
    ex_.bind_to_this_thread();
    hub_.emplace(std::span<executor* const>(execs_), broker_, namespaces_, registry_);
    node_options o;
    o.ping_interval = 1000ms;
    o.pong_timeout = 300ms;
    o.stale_timeout = 500ms;
    o.max_output_bytes = 1000;
    o.max_channels_per_client = 4;
    node_.emplace(*hub_, formats_, &auth_, o);
  }

  ~Session() override {
    for (auto& c : clients_) c.s->on_closed();
    clients_.clear();
    ex_.run_pending();
  }

  struct client {
    recording_transport t;
    std::shared_ptr<session> s;
  };

  client& open() {
    clients_.emplace_back();
    client& c = clients_.back();
    c.s = std::make_shared<session>(*node_, 0, c.t, formats_.websocket_json);
    c.s->start();
    return c;
  }

  // Sends one frame and runs everything it caused; returns what the client received.
  std::vector<json> send(client& c, std::string_view frame) {
    c.s->on_frame(frame);
    ex_.run_pending();
    return c.t.take();
  }

  client& connected(std::string_view token = "") {
    client& c = open();
    std::string cmd = token.empty() ? R"({"id":1,"connect":{}})"
                                    : R"({"id":1,"connect":{"token":")" + std::string(token) + "\"}}";
    auto r = send(c, cmd);
    EXPECT_EQ(r.size(), 1u);
    EXPECT_TRUE(r.at(0).contains("connect")) << r.at(0).dump();
    return c;
  }

  std::uint64_t publish(std::string channel, std::string data) {
    std::uint64_t offset = 0;
    hub::publish_request req;
    req.channel = channel;
    req.data = shared_payload::copy_of(data);
    req.cred = hub::credential::server;
    hub_->publish(std::move(req), &ex_, [&](hub::publish_result r) { offset = r.position.offset; });
    ex_.run_pending();
    return offset;
  }

  hub::namespace_table namespaces_;
  hub::format_registry registry_;
  formats formats_;
  hub::memory_broker broker_;
  test::manual_executor ex_;
  std::array<executor*, 1> execs_{&ex_};
  std::optional<hub::channel_hub> hub_;
  fake_auth auth_;
  std::optional<node> node_;
  std::list<client> clients_;
};

TEST_F(Session, AnonymousConnectGivesClientIdAndPingSettings) {
  client& c = open();
  auto r = send(c, R"({"id":1,"connect":{"name":"js"}})");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["id"], 1);
  const json& res = r[0]["connect"];
  EXPECT_EQ(res["client"].get<std::string>().size(), 36u);
  EXPECT_EQ(res["ping"], 1);
  EXPECT_EQ(res["pong"], true);
  EXPECT_EQ(res["version"], "duplex");
  EXPECT_TRUE(c.s->connected());
  EXPECT_EQ(node_->total(&shard_stats::connects), 1u);
}

TEST_F(Session, CommandBeforeConnectIsBadRequest) {
  client& c = open();
  send(c, R"({"id":1,"subscribe":{"channel":"a"}})");
  ASSERT_TRUE(c.t.closed_code);
  EXPECT_EQ(*c.t.closed_code, 3501u);
  EXPECT_EQ(c.t.closed_reason, "bad request");
}

TEST_F(Session, MalformedJsonAndUnknownCommandDisconnectWithBadRequest) {
  client& a = connected();
  send(a, R"({"id":2,"subscribe":{"channel":"a"})");
  ASSERT_TRUE(a.t.closed_code);
  EXPECT_EQ(*a.t.closed_code, 3501u);
  client& b = connected();
  send(b, R"({"id":2,"frobnicate":{}})");
  ASSERT_TRUE(b.t.closed_code);
  EXPECT_EQ(*b.t.closed_code, 3501u);
  // A second connect is a protocol violation too.
  client& c = connected();
  send(c, R"({"id":2,"connect":{}})");
  ASSERT_TRUE(c.t.closed_code);
  EXPECT_EQ(*c.t.closed_code, 3501u);
}

TEST_F(Session, TokensInvalidExpiredAndUser) {
  client& bad = open();
  send(bad, R"({"id":1,"connect":{"token":"garbage"}})");
  ASSERT_TRUE(bad.t.closed_code);
  EXPECT_EQ(*bad.t.closed_code, 3500u);

  client& exp = open();
  auto r = send(exp, R"({"id":1,"connect":{"token":"expired"}})");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["error"]["code"], 109);
  EXPECT_FALSE(exp.t.closed_code);

  client& u = connected("user:alice");
  EXPECT_EQ(u.s->user(), "alice");
}

TEST_F(Session, AnonymousRefusedWhenNotAllowed) {
  node_options o = node_->options();
  o.anonymous_connect = false;
  node_.emplace(*hub_, formats_, &auth_, o);
  client& c = open();
  send(c, R"({"id":1,"connect":{}})");
  ASSERT_TRUE(c.t.closed_code);
  EXPECT_EQ(*c.t.closed_code, 3501u);
}

TEST_F(Session, SubscribePublishReceiveUnsubscribe) {
  client& a = connected();
  client& b = connected();
  auto r = send(a, R"({"id":2,"subscribe":{"channel":"hist:x"}})");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["id"], 2);
  EXPECT_EQ(r[0]["subscribe"]["recoverable"], true);
  EXPECT_EQ(r[0]["subscribe"]["positioned"], true);
  EXPECT_FALSE(r[0]["subscribe"]["epoch"].get<std::string>().empty());

  // b publishes in a batch together with a ping: two replies to b, one push to a.
  r = send(b, "{\"id\":2,\"publish\":{\"channel\":\"hist:x\",\"data\":{\"n\":1}}}\n{\"id\":3,\"ping\":{}}");
  ASSERT_EQ(r.size(), 2u);
  EXPECT_TRUE(r[0].contains("ping") || r[1].contains("ping"));
  EXPECT_TRUE(r[0].contains("publish") || r[1].contains("publish"));
  auto pushes = a.t.take();
  ASSERT_EQ(pushes.size(), 1u);
  EXPECT_EQ(pushes[0]["push"]["channel"], "hist:x");
  EXPECT_EQ(pushes[0]["push"]["pub"]["data"], json({{"n", 1}}));
  EXPECT_EQ(pushes[0]["push"]["pub"]["offset"], 1);
  EXPECT_EQ(pushes[0]["push"]["pub"]["info"]["client"], b.s->client_id());

  r = send(a, R"({"id":3,"unsubscribe":{"channel":"hist:x"}})");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].contains("unsubscribe"));
  publish("hist:x", "2");
  EXPECT_TRUE(a.t.take().empty());
}

TEST_F(Session, SubscribeErrors) {
  client& a = connected();
  send(a, R"({"id":2,"subscribe":{"channel":"hist:x"}})");
  auto r = send(a, R"({"id":3,"subscribe":{"channel":"hist:x"}})");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["error"]["code"], 105);
  r = send(a, R"({"id":4,"subscribe":{"channel":"nope:x"}})");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["error"]["code"], 102);
  r = send(a, R"({"id":5,"subscribe":{"channel":"priv:x"}})");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["error"]["code"], 103);
  r = send(a, R"({"id":6,"subscribe":{"channel":"priv:x","token":"sub:priv:x"}})");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].contains("subscribe")) << r[0].dump();
  r = send(a, R"({"id":7,"subscribe":{"channel":""}})");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["error"]["code"], 107);
  // Channel limit (4): hist:x, priv:x + two more, then refused.
  send(a, R"({"id":8,"subscribe":{"channel":"c1"}})");
  send(a, R"({"id":9,"subscribe":{"channel":"c2"}})");
  r = send(a, R"({"id":10,"subscribe":{"channel":"c3"}})");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["error"]["code"], 106);
  // An invalid subscription token ends the connection.
  client& b = connected();
  send(b, R"({"id":2,"subscribe":{"channel":"priv:y","token":"forged"}})");
  ASSERT_TRUE(b.t.closed_code);
  EXPECT_EQ(*b.t.closed_code, 3500u);
}

TEST_F(Session, RecoveryCompleteAndIncomplete) {
  client& a = connected();
  auto r = send(a, R"({"id":2,"subscribe":{"channel":"hist:r"}})");
  const std::string epoch = r.at(0)["subscribe"]["epoch"];
  for (int i = 1; i <= 5; ++i) publish("hist:r", std::to_string(i));
  ASSERT_EQ(a.t.take().size(), 5u);

  // A new connection recovers from offset 2: gets 3, 4, 5 in order.
  client& b = connected();
  r = send(b, R"({"id":2,"subscribe":{"channel":"hist:r","recover":true,"offset":2,"epoch":")" +
                  epoch + "\"}}");
  ASSERT_EQ(r.size(), 1u);
  const json& s = r[0]["subscribe"];
  EXPECT_EQ(s["was_recovering"], true);
  EXPECT_EQ(s["recovered"], true);
  ASSERT_EQ(s["publications"].size(), 3u);
  EXPECT_EQ(s["publications"][0]["offset"], 3);
  EXPECT_EQ(s["publications"][2]["data"], 5);
  EXPECT_EQ(s["offset"], 5);

  // Another epoch: not recovered.
  client& c = connected();
  r = send(c, R"({"id":2,"subscribe":{"channel":"hist:r","recover":true,"offset":2,"epoch":"zzz"}})");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["subscribe"]["recovered"].is_null() ? false : r[0]["subscribe"]["recovered"].get<bool>(), false);
  EXPECT_EQ(r[0]["subscribe"]["was_recovering"], true);
  EXPECT_EQ(node_->total(&shard_stats::recoveries), 1u);
  EXPECT_EQ(node_->total(&shard_stats::recoveries_failed), 1u);
}

TEST_F(Session, PresenceJoinLeaveAndHistory) {
  client& a = connected("user:alice");
  send(a, R"({"id":2,"subscribe":{"channel":"news:p"}})");
  client& b = connected("user:bob");
  send(b, R"({"id":2,"subscribe":{"channel":"news:p"}})");
  auto pushes = a.t.take();
  ASSERT_EQ(pushes.size(), 1u);
  EXPECT_EQ(pushes[0]["push"]["join"]["info"]["user"], "bob");

  auto r = send(a, R"({"id":3,"presence":{"channel":"news:p"}})");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["presence"]["presence"].size(), 2u);
  r = send(a, R"({"id":4,"presence_stats":{"channel":"news:p"}})");
  EXPECT_EQ(r.at(0)["presence_stats"]["num_users"], 2);

  publish("news:p", "\"one\"");
  publish("news:p", "\"two\"");
  a.t.take();
  r = send(a, R"({"id":5,"history":{"channel":"news:p","limit":-1}})");
  ASSERT_EQ(r.size(), 1u);
  ASSERT_EQ(r[0]["history"]["publications"].size(), 2u);
  EXPECT_EQ(r[0]["history"]["publications"][1]["data"], "two");
  EXPECT_EQ(r[0]["history"]["offset"], 2);
  r = send(a, R"({"id":6,"history":{"channel":"plain","limit":-1}})");
  EXPECT_EQ(r.at(0)["error"]["code"], 108);

  send(b, R"({"id":3,"unsubscribe":{"channel":"news:p"}})");
  pushes = a.t.take();
  ASSERT_EQ(pushes.size(), 1u);
  EXPECT_EQ(pushes[0]["push"]["leave"]["info"]["user"], "bob");
}

TEST_F(Session, RpcHasNoHandlerAndInvalidFieldsGetBadRequest) {
  client& a = connected();
  auto r = send(a, R"({"id":2,"rpc":{"method":"x","data":{}}})");
  EXPECT_EQ(r.at(0)["error"]["code"], 104);
  r = send(a, R"({"id":3,"publish":{"channel":"hist:x"}})");
  EXPECT_EQ(r.at(0)["error"]["code"], 107);
  EXPECT_FALSE(a.t.closed_code);
}

TEST_F(Session, PingPongAndNoPong) {
  client& a = connected();
  ex_.advance(1000ms);
  auto r = a.t.take();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0], json::object());
  send(a, "{}");  // pong
  ex_.advance(300ms);
  EXPECT_FALSE(a.t.closed_code);
  ex_.advance(700ms);
  ASSERT_EQ(a.t.take().size(), 1u);  // the next ping
  ex_.advance(300ms);                 // unanswered
  ASSERT_TRUE(a.t.closed_code);
  EXPECT_EQ(*a.t.closed_code, 3012u);
}

TEST_F(Session, StaleConnectionWithoutConnectIsClosed) {
  client& c = open();
  ex_.advance(500ms);
  ASSERT_TRUE(c.t.closed_code);
  EXPECT_EQ(*c.t.closed_code, 3502u);
}

TEST_F(Session, ServerSideSubscriptionsFromToken) {
  client& c = open();
  auto r = send(c, R"({"id":1,"connect":{"token":"server-subs"}})");
  ASSERT_EQ(r.size(), 1u);
  const json& subs = r[0]["connect"]["subs"];
  ASSERT_TRUE(subs.contains("hist:a"));
  ASSERT_TRUE(subs.contains("hist:b"));
  EXPECT_EQ(subs["hist:a"]["recoverable"], true);
  publish("hist:b", "1");
  auto p = c.t.take();
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0]["push"]["channel"], "hist:b");
}

TEST_F(Session, ConnectionExpiryAndRefresh) {
  client& c = open();
  auto r = send(c, R"({"id":1,"connect":{"token":"short"}})");
  EXPECT_EQ(r.at(0)["connect"]["expires"], true);
  EXPECT_EQ(r.at(0)["connect"]["ttl"], 30);
  // Seconds pass with the client answering pings.
  auto wait = [&](int seconds) {
    for (int i = 0; i < seconds; ++i) {
      ex_.advance(1000ms);
      send(c, "{}");
    }
  };
  wait(20);
  r = send(c, R"({"id":2,"refresh":{"token":"short"}})");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["refresh"]["expires"], true);
  EXPECT_EQ(r[0]["refresh"]["ttl"], 30);
  wait(25);  // 45 s after connect: alive thanks to the refresh
  EXPECT_FALSE(c.t.closed_code);
  wait(6);
  ASSERT_TRUE(c.t.closed_code);
  EXPECT_EQ(*c.t.closed_code, 3005u);
  // A refresh for another user is refused.
  client& d = open();
  send(d, R"({"id":1,"connect":{"token":"short"}})");
  send(d, R"({"id":2,"refresh":{"token":"user:mallory"}})");
  ASSERT_TRUE(d.t.closed_code);
  EXPECT_EQ(*d.t.closed_code, 3500u);
}

TEST_F(Session, SlowConsumerDropTellsClientToResubscribe) {
  client& a = connected();
  send(a, R"({"id":2,"subscribe":{"channel":"hist:s"}})");
  a.t.buffered_bytes = 5000;  // over max_output_bytes
  publish("hist:s", "1");
  auto r = a.t.take();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_TRUE(r[0]["push"].contains("pub"));
  EXPECT_EQ(r[1]["push"]["unsubscribe"]["code"], 2500);
  publish("hist:s", "2");
  EXPECT_TRUE(a.t.take().empty());
  EXPECT_FALSE(a.t.closed_code);
  EXPECT_EQ(node_->total(&shard_stats::slow_drops), 1u);
}

TEST_F(Session, SlowConsumerDisconnectPolicy) {
  client& a = connected();
  client& b = connected();
  send(a, R"({"id":2,"subscribe":{"channel":"slow:s"}})");
  send(b, R"({"id":2,"subscribe":{"channel":"slow:s"}})");
  a.t.buffered_bytes = 5000;
  publish("slow:s", "1");
  ASSERT_TRUE(a.t.closed_code);
  EXPECT_EQ(*a.t.closed_code, 3008u);
  // The other subscriber is unaffected.
  EXPECT_EQ(b.t.take().size(), 1u);
  EXPECT_FALSE(b.t.closed_code);
}

TEST_F(Session, ServerApiOperationsReachSessions) {
  client& a = connected("user:alice");
  std::optional<std::size_t> n;
  node_->subscribe_user("alice", "", "hist:api", &ex_, [&](std::size_t k) { n = k; });
  ex_.run_pending();
  ASSERT_EQ(n, 1u);
  auto p = a.t.take();
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0]["push"]["channel"], "hist:api");
  EXPECT_TRUE(p[0]["push"].contains("subscribe"));
  publish("hist:api", "1");
  EXPECT_EQ(a.t.take().size(), 1u);
  n.reset();
  node_->unsubscribe_user("alice", "", "hist:api", &ex_, [&](std::size_t k) { n = k; });
  ex_.run_pending();
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(a.t.take().at(0)["push"]["unsubscribe"]["code"], 2000);
  n.reset();
  node_->disconnect_user("alice", "", 3503, "force disconnect", &ex_, [&](std::size_t k) { n = k; });
  ex_.run_pending();
  EXPECT_EQ(n, 1u);
  ASSERT_TRUE(a.t.closed_code);
  EXPECT_EQ(*a.t.closed_code, 3503u);
}

}  // namespace
}  // namespace duplex::centrifuge
