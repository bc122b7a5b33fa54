// Tests of the --demo ticker: the price walk's JSON and bounds, and the publisher on a real hub
// (memory broker, manual executor with a fake clock): one tick per interval, seq without gaps,
// stop() ends it, a namespace that refuses the channel counts errors instead of crashing.
#include "server/demo_ticker.h"

#include <gtest/gtest.h>

#include <array>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "hub/hub_test_util.h"
#include "hub/memory_broker.h"
#include "support/manual_executor.h"

namespace duplex::service {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

TEST(PriceWalk, WritesSeqTimeAndEveryPriceAsJson) {
  price_walk w({"AAA", "BBB"}, 42);
  for (int i = 1; i <= 500; ++i) {
    json j = json::parse(w.next(1700000000000 + i));
    ASSERT_EQ(j["seq"], i);
    ASSERT_EQ(j["time"], 1700000000000 + i);
    ASSERT_EQ(j["prices"].size(), 2u);
    for (const char* s : {"AAA", "BBB"}) {
      ASSERT_TRUE(j["prices"][s].is_number()) << j.dump();
      EXPECT_GE(j["prices"][s].get<double>(), 1.0);
    }
  }
  EXPECT_EQ(w.seq(), 500u);
  // The walk moves: after 500 steps the prices are not still at their start.
  EXPECT_NE(w.cents()[0], 10000);
}

TEST(PriceWalk, SameSeedSameSeries) {
  price_walk a({"X"}, 7), b({"X"}, 7), c({"X"}, 8);
  std::string sa, sb, sc;
  for (int i = 0; i < 50; ++i) {
    sa += a.next(0);
    sb += b.next(0);
    sc += c.next(0);
  }
  EXPECT_EQ(sa, sb);
  EXPECT_NE(sa, sc);
}

TEST(PriceWalk, PricesStayAtLeastOneDollar) {
  price_walk w({"P"}, 1);
  for (int i = 0; i < 20000; ++i) {
    w.next(0);
    ASSERT_GE(w.cents()[0], 100);
  }
}

class DemoTicker : public ::testing::Test {
 protected:
  DemoTicker() {
    hub::namespace_options def;
    def.history_size = 1000;
    def.history_ttl = 600s;
    namespaces_.set_default(def);  // "locked:" stays unconfigured: publishing there fails
    json_ = formats_.add("json", hub::hub_test::counting_encoder{"json", &encodes_});
    hub_.emplace(std::span<executor* const>(execs_), broker_, namespaces_, formats_);
    ex_.bind_to_this_thread();
  }

  std::vector<json> history(const std::string& channel) {
    std::optional<hub::history_result> out;
    hub::history_query q;
    q.limit = -1;
    hub_->history(channel, q, hub::credential::server, &ex_,
                  [&](hub::history_result r) { out = std::move(r); });
    ex_.run_pending();
    EXPECT_TRUE(out);
    std::vector<json> pubs;
    if (out) {
      for (const auto& p : out->pubs) pubs.push_back(json::parse(p.data.view()));
    }
    return pubs;
  }

  duplex::test::manual_executor ex_;
  std::array<executor*, 1> execs_{&ex_};
  hub::namespace_table namespaces_;
  hub::format_registry formats_;
  std::atomic<int> encodes_{0};
  hub::wire_format json_{};
  std::uint64_t now_ = 1000;
  hub::memory_broker broker_{hub::memory_broker_options{[this] { return now_; }}};
  std::optional<hub::channel_hub> hub_;
};

TEST_F(DemoTicker, PublishesOneTickPerIntervalUntilStopped) {
  demo_ticker t(*hub_, ex_, {.channel = "ticker.prices", .interval = 100ms, .symbols = {"A"}, .seed = 3});
  t.start();
  ex_.run_pending();
  EXPECT_EQ(history("ticker.prices").size(), 1u);  // the first tick is immediate
  for (int i = 0; i < 9; ++i) ex_.advance(100ms);
  auto pubs = history("ticker.prices");
  ASSERT_EQ(pubs.size(), 10u);
  for (std::size_t i = 0; i < pubs.size(); ++i) EXPECT_EQ(pubs[i]["seq"], i + 1);
  EXPECT_EQ(t.published(), 10u);
  EXPECT_EQ(t.errors(), 0u);

  t.stop();
  ex_.advance(1000ms);
  EXPECT_EQ(history("ticker.prices").size(), 10u);
  t.start();  // restartable; seq continues
  ex_.run_pending();
  auto more = history("ticker.prices");
  ASSERT_EQ(more.size(), 11u);
  EXPECT_EQ(more.back()["seq"], 11);
  t.stop();
}

TEST_F(DemoTicker, RefusedChannelCountsErrorsAndKeepsTicking) {
  demo_ticker t(*hub_, ex_, {.channel = "locked:prices", .interval = 50ms, .symbols = {"A"}, .seed = 3});
  t.start();
  ex_.run_pending();
  for (int i = 0; i < 3; ++i) ex_.advance(50ms);
  EXPECT_EQ(t.errors(), 4u);
  t.stop();
}

}  // namespace
}  // namespace duplex::service
