#include "hub/memory_broker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "hub/recovery.h"
#include "support/manual_executor.h"

namespace duplex::hub {
namespace {

using namespace std::chrono_literals;

struct recorder final : broker_events {
  std::vector<publication> pubs;
  std::vector<std::string> events;
  void on_publication(const publication& p) override { pubs.push_back(p); }
  void on_join(const std::string& ch, const client_info& who) override {
    events.push_back("join " + ch + " " + who.client_id);
  }
  void on_leave(const std::string& ch, const client_info& who) override {
    events.push_back("leave " + ch + " " + who.client_id);
  }
};

class MemoryBroker : public ::testing::Test {
 protected:
  MemoryBroker() : broker_(memory_broker_options{[this] { return now_; }, 10s}) {
    broker_.set_events(&events_);
  }

  publish_result publish(const std::string& ch, const std::string& data,
                         publish_options opts = {5, 1000ms}) {
    publication p;
    p.channel = ch;
    p.data = shared_payload::copy_of(data);
    std::optional<publish_result> out;
    broker_.publish(std::move(p), opts, &ex_, [&](publish_result r) { out = std::move(r); });
    EXPECT_FALSE(out) << "callbacks are posted, never inline";
    ex_.run_pending();
    return *out;
  }
  history_result history(const std::string& ch, history_query q) {
    std::optional<history_result> out;
    broker_.history(ch, q, &ex_, [&](history_result r) { out = std::move(r); });
    ex_.run_pending();
    return *out;
  }
  recovery_result recover(const std::string& ch, const stream_position& since, std::size_t max = 100) {
    return judge_recovery(since, max, history(ch, recovery_query(since, max)));
  }

  std::uint64_t now_ = 1'000'000;
  duplex::test::manual_executor ex_;
  recorder events_;
  memory_broker broker_;
};

TEST_F(MemoryBroker, OffsetsAreMonotonicPerChannel) {
  EXPECT_EQ(publish("a", "1").position.offset, 1u);
  EXPECT_EQ(publish("b", "1").position.offset, 1u);
  EXPECT_EQ(publish("a", "2").position.offset, 2u);
  const auto r = publish("a", "3");
  EXPECT_EQ(r.position.offset, 3u);
  EXPECT_EQ(r.position.epoch.size(), 8u);
  ASSERT_EQ(events_.pubs.size(), 4u);
  EXPECT_EQ(events_.pubs[3].offset, 3u);
  EXPECT_EQ(events_.pubs[3].epoch, r.position.epoch);
  EXPECT_EQ(events_.pubs[3].data.view(), "3");
}

TEST_F(MemoryBroker, NoHistoryMeansNoOffsetButStillDelivered) {
  const auto r = publish("a", "x", publish_options{});
  EXPECT_EQ(r.position.offset, 0u);
  EXPECT_TRUE(r.position.epoch.empty());
  ASSERT_EQ(events_.pubs.size(), 1u);
  EXPECT_EQ(events_.pubs[0].offset, 0u);
}

TEST_F(MemoryBroker, HistoryTtlUsesTheInjectedClock) {
  publish("a", "1");
  now_ += 600;
  publish("a", "2");
  history_query q;
  q.limit = -1;
  EXPECT_EQ(history("a", q).pubs.size(), 2u);
  now_ += 400;  // the first is 1000 ms old
  auto h = history("a", q);
  ASSERT_EQ(h.pubs.size(), 1u);
  EXPECT_EQ(h.pubs[0].offset, 2u);
  EXPECT_EQ(h.position.offset, 2u);
}

TEST_F(MemoryBroker, EpochChangesWhenHistoryIsLost) {
  const auto first = publish("a", "1").position;
  std::optional<error> removed;
  broker_.remove_history("a", &ex_, [&](error e) { removed = e; });
  ex_.run_pending();
  EXPECT_EQ(removed, error::ok);
  const auto second = publish("a", "2").position;
  EXPECT_NE(second.epoch, first.epoch);
  EXPECT_EQ(second.offset, 1u);

  now_ += 10'000;  // meta_ttl without publications: the stream's state is forgotten
  const auto third = publish("a", "3").position;
  EXPECT_NE(third.epoch, second.epoch);
  EXPECT_EQ(third.offset, 1u);

  now_ += 9'999;  // still within meta_ttl: same stream
  EXPECT_EQ(publish("a", "4").position, (stream_position{2, third.epoch}));
}

TEST_F(MemoryBroker, ANewBrokerIsANewEpoch) {
  const auto before = publish("a", "1").position;
  memory_broker restarted(memory_broker_options{[this] { return now_; }});
  std::optional<publish_result> out;
  publication p;
  p.channel = "a";
  restarted.publish(std::move(p), {5, 1000ms}, nullptr, [&](publish_result r) { out = r; });
  ASSERT_TRUE(out);  // reply_on == nullptr: completes on the calling thread
  EXPECT_NE(out->position.epoch, before.epoch);
}

TEST_F(MemoryBroker, SweepDropsIdleStreams) {
  publish("a", "1");
  EXPECT_EQ(broker_.sweep(), 0u);
  now_ += 10'000;
  EXPECT_EQ(broker_.sweep(), 1u);
}

TEST_F(MemoryBroker, RecoveryComplete) {
  const auto pos = publish("a", "1").position;
  publish("a", "2");
  publish("a", "3");
  auto r = recover("a", pos);
  EXPECT_TRUE(r.recovered);
  ASSERT_EQ(r.pubs.size(), 2u);
  EXPECT_EQ(r.pubs[0].offset, 2u);
  EXPECT_EQ(r.pubs[1].offset, 3u);
  EXPECT_EQ(r.position.offset, 3u);

  auto at_top = recover("a", r.position);
  EXPECT_TRUE(at_top.recovered);
  EXPECT_TRUE(at_top.pubs.empty());
}

TEST_F(MemoryBroker, RecoveryIncompleteWhenTrimmedOrEpochChangedOrTooMany) {
  const auto pos = publish("a", "1").position;
  for (int i = 0; i < 6; ++i) publish("a", "x");  // size 5 keeps 3..7; offset 2 is gone
  auto trimmed = recover("a", pos);
  EXPECT_FALSE(trimmed.recovered);
  EXPECT_EQ(trimmed.pubs.front().offset, 3u);  // the available tail is still offered

  auto many = recover("a", stream_position{3, pos.epoch}, 2);  // 4 missed, 2 allowed
  EXPECT_FALSE(many.recovered);
  EXPECT_EQ(many.pubs.size(), 2u);

  auto future = recover("a", stream_position{99, pos.epoch});
  EXPECT_FALSE(future.recovered);

  auto other = recover("a", stream_position{7, "otherEp"});
  EXPECT_FALSE(other.recovered);
  EXPECT_TRUE(other.pubs.empty());
  EXPECT_EQ(other.position.offset, 7u);
  EXPECT_EQ(other.err, error::ok);
}

TEST_F(MemoryBroker, PresenceAddRemoveListStats) {
  client_info c1{"c1", "alice", shared_payload::copy_of("{}"), {}};
  client_info c2{"c2", "alice", {}, {}};
  client_info c3{"c3", "bob", {}, {}};
  for (const auto* c : {&c1, &c2, &c3}) broker_.add_presence("room", *c, &ex_, {});
  broker_.add_presence("room", c1, &ex_, {});  // replaces, does not duplicate
  std::optional<presence_stats_result> stats;
  broker_.presence_stats("room", &ex_, [&](presence_stats_result r) { stats = r; });
  ex_.run_pending();
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->num_clients, 3u);
  EXPECT_EQ(stats->num_users, 2u);

  broker_.remove_presence("room", "c2", &ex_, {});
  std::optional<presence_result> list;
  broker_.presence("room", &ex_, [&](presence_result r) { list = r; });
  ex_.run_pending();
  ASSERT_TRUE(list);
  std::vector<std::string> ids;
  for (const auto& c : list->clients) ids.push_back(c.client_id);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"c1", "c3"}));
}

TEST_F(MemoryBroker, JoinLeaveReachTheEventHandler) {
  broker_.publish_join("room", client_info{"c1", "u", {}, {}});
  broker_.publish_leave("room", client_info{"c1", "u", {}, {}});
  EXPECT_EQ(events_.events, (std::vector<std::string>{"join room c1", "leave room c1"}));
}

}  // namespace
}  // namespace duplex::hub
