// Tests of the session settings the fallback transports use (session.h): the emulation
// session id and node in the connect result, unidirectional sessions that are pinged without
// awaiting pongs, and the per-transport connection counts of the node's stats.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "centrifuge/node.h"
#include "centrifuge/session.h"
#include "hub/memory_broker.h"
#include "support/manual_executor.h"

namespace duplex::centrifuge {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

class lines_transport final : public transport {
 public:
  void write_framed(const shared_payload& frame) override { framed.push_back(std::string(frame.view())); }
  void write_message(std::string_view m) override { messages.emplace_back(m); }
  std::size_t buffered() const override { return 0; }
  void close(std::uint32_t code, std::string_view) override { closed_code = code; }

  std::vector<std::string> framed;
  std::vector<std::string> messages;
  std::optional<std::uint32_t> closed_code;
};

class TransportModes : public ::testing::Test {
 protected:
  TransportModes() {
    hub::namespace_options def;
    def.subscribe = hub::access::anonymous;
    def.publish = hub::access::anonymous;
    namespaces_.set_default(def);
    formats_ = node::register_formats(registry_);
    ex_.bind_to_this_thread();
    hub_.emplace(std::span<executor* const>(execs_), broker_, namespaces_, registry_);
    node_options o;
    o.ping_interval = 1000ms;
    o.pong_timeout = 300ms;
    o.node_name = "node-1";
    node_.emplace(*hub_, formats_, nullptr, o);
  }
  ~TransportModes() override {
    for (auto& s : sessions_) s->on_closed();
    sessions_.clear();
    ex_.run_pending();
  }

  std::shared_ptr<session> open(lines_transport& t, hub::wire_format f, transport_kind k) {
    auto s = std::make_shared<session>(*node_, 0, t, f, k);
    sessions_.push_back(s);
    s->start();
    return s;
  }

  hub::namespace_table namespaces_;
  hub::format_registry registry_;
  formats formats_;
  hub::memory_broker broker_;
  test::manual_executor ex_;
  std::array<executor*, 1> execs_{&ex_};
  std::optional<hub::channel_hub> hub_;
  std::optional<node> node_;
  std::vector<std::shared_ptr<session>> sessions_;
};

TEST_F(TransportModes, EmulationConnectResultNamesSessionAndNode) {
  lines_transport t;
  auto s = open(t, formats_.http_stream_json, transport_kind::http_stream);
  s->set_session_id("abc.0");
  s->on_frame(R"({"id":1,"connect":{}})");
  ex_.run_pending();
  ASSERT_EQ(t.messages.size(), 1u);
  json r = json::parse(t.messages[0]);
  EXPECT_EQ(r["connect"]["session"], "abc.0");
  EXPECT_EQ(r["connect"]["node"], "node-1");
  EXPECT_EQ(r["connect"]["pong"], true);
}

TEST_F(TransportModes, UnidirectionalSessionIsPingedWithoutAwaitingPongs) {
  lines_transport t;
  auto s = open(t, formats_.uni_http_stream_json, transport_kind::uni_http_stream);
  s->set_pongs_expected(false);
  s->on_frame(R"({"id":1,"connect":{}})");
  ex_.run_pending();
  ASSERT_EQ(t.messages.size(), 1u);
  json r = json::parse(t.messages[0]);
  EXPECT_EQ(r["connect"]["ping"], 1);
  EXPECT_FALSE(r["connect"].contains("pong"));  // false is left out
  EXPECT_FALSE(r["connect"].contains("session"));
  // Three ping intervals, never answered: pings keep coming and the session stays.
  for (int i = 0; i < 3; ++i) {
    ex_.advance(1000ms);
    ex_.run_pending();
  }
  std::size_t pings = 0;
  for (const auto& m : t.messages) pings += m == "{}";
  EXPECT_EQ(pings, 3u);
  EXPECT_FALSE(t.closed_code.has_value());
  EXPECT_TRUE(s->connected());
}

TEST_F(TransportModes, BidirectionalSessionStillRequiresPongs) {
  lines_transport t;
  auto s = open(t, formats_.sse_json, transport_kind::sse);
  s->on_frame(R"({"id":1,"connect":{}})");
  ex_.advance(1000ms);
  ex_.run_pending();
  ex_.advance(300ms);
  ex_.run_pending();
  ASSERT_TRUE(t.closed_code.has_value());
  EXPECT_EQ(*t.closed_code, 3012u);
}

TEST_F(TransportModes, NodeCountsSessionsByTransport) {
  lines_transport a, b, c;
  auto s1 = open(a, formats_.sse_json, transport_kind::sse);
  auto s2 = open(b, formats_.sse_json, transport_kind::sse);
  auto s3 = open(c, formats_.uni_websocket_json, transport_kind::uni_websocket);
  EXPECT_EQ(node_->connections_of(transport_kind::sse), 2u);
  EXPECT_EQ(node_->connections_of(transport_kind::uni_websocket), 1u);
  EXPECT_EQ(node_->connections_of(transport_kind::websocket), 0u);
  s2->on_closed();
  sessions_.erase(sessions_.begin() + 1);
  s2.reset();
  EXPECT_EQ(node_->connections_of(transport_kind::sse), 1u);
}

}  // namespace
}  // namespace duplex::centrifuge
