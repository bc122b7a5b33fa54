// Single-threaded tests of channel_hub/shard: two shards whose manual executors are both
// driven by the test thread, so every step is deterministic.
#include "hub/channel_hub.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "hub/hub_test_util.h"
#include "hub/memory_broker.h"
#include "support/manual_executor.h"

namespace duplex::hub {
namespace {

using namespace std::chrono_literals;
using hub_test::recording_subscriber;

class ChannelHub : public ::testing::Test {
 protected:
  ChannelHub() {
    namespace_options def;
    def.subscribe = access::anonymous;
    def.publish = access::authenticated;
    namespaces_.set_default(def);

    namespace_options chat = def;
    chat.history_size = 10;
    chat.history_ttl = 60s;
    chat.presence = true;
    chat.join_leave = true;
    chat.slow_policy = slow_consumer_policy::drop;
    namespaces_.add("chat", chat);

    namespace_options vip = def;
    vip.subscribe = access::token_only;
    vip.max_subscribers = 2;
    namespaces_.add("vip", vip);

    json_ = formats_.add("json", hub_test::counting_encoder{"json", &json_calls_});
    sio_ = formats_.add("sio", hub_test::counting_encoder{"sio", &sio_calls_});
    hub_.emplace(std::span<executor* const>(execs_), broker_, namespaces_, formats_);
  }

  void run() {
    for (int i = 0; i < 10; ++i) {
      if (ex0_.run_pending() + ex1_.run_pending() == 0) return;
    }
  }

  subscribe_result subscribe(std::size_t shard, recording_subscriber& s, std::string_view ch,
                             credential cred = credential::anonymous,
                             std::optional<stream_position> since = std::nullopt) {
    std::optional<subscribe_result> out;
    subscribe_request req{ch, cred, {}, since};
    hub_->shard_at(shard).subscribe(s, req, [&](subscribe_result r) { out = std::move(r); });
    EXPECT_FALSE(out) << "done is never called inline";
    run();
    EXPECT_TRUE(out);
    return out ? std::move(*out) : subscribe_result{};
  }

  publish_result publish(std::string_view ch, std::string data,
                         credential cred = credential::server) {
    std::optional<publish_result> out;
    publish_request req{ch, shared_payload::copy_of(data), std::nullopt, {}, cred};
    hub_->publish(std::move(req), nullptr, [&](publish_result r) { out = std::move(r); });
    run();
    EXPECT_TRUE(out);
    return out ? *out : publish_result{};
  }

  duplex::test::manual_executor ex0_, ex1_;
  std::array<executor*, 2> execs_{&ex0_, &ex1_};
  namespace_table namespaces_;
  format_registry formats_;
  std::atomic<int> json_calls_{0}, sio_calls_{0};
  wire_format json_{}, sio_{};
  std::uint64_t now_ = 5000;
  memory_broker broker_{memory_broker_options{[this] { return now_; }}};
  std::optional<channel_hub> hub_;
};

TEST_F(ChannelHub, FanOutToBothShardsEncodesOncePerFormat) {
  recording_subscriber a(json_, "a"), b(json_, "b"), c(sio_, "c");
  EXPECT_EQ(subscribe(0, a, "news").err, error::ok);
  EXPECT_EQ(subscribe(1, b, "news").err, error::ok);
  EXPECT_EQ(subscribe(1, c, "news").err, error::ok);
  EXPECT_EQ(hub_->subscribers("news"), 3u);

  EXPECT_EQ(publish("news", "hello").err, error::ok);
  ASSERT_EQ(a.got.size(), 1u);
  ASSERT_EQ(b.got.size(), 1u);
  ASSERT_EQ(c.got.size(), 1u);
  EXPECT_EQ(a.got[0].frame_text, "json|pub|news|0|hello");
  EXPECT_EQ(c.got[0].frame_text, "sio|pub|news|0|hello");
  EXPECT_EQ(a.got[0].frame, b.got[0].frame);  // same shared bytes across shards
  EXPECT_EQ(json_calls_.load(), 1);
  EXPECT_EQ(sio_calls_.load(), 1);
  EXPECT_EQ(hub_->shard_at(1).counters().deliveries, 2u);
  EXPECT_EQ(hub_->shard_at(1).counters().publications, 1u);
}

TEST_F(ChannelHub, UnsubscribeStopsDeliveryAndCleansTheDirectory) {
  recording_subscriber a(json_, "a"), b(json_, "b");
  subscribe(0, a, "news");
  subscribe(1, b, "news");
  EXPECT_EQ(hub_->shard_at(0).unsubscribe(a, "news"), error::ok);
  EXPECT_EQ(hub_->shard_at(0).unsubscribe(a, "news"), error::not_subscribed);
  publish("news", "x");
  EXPECT_TRUE(a.got.empty());
  EXPECT_EQ(b.got.size(), 1u);
  EXPECT_EQ(hub_->shard_at(1).unsubscribe(b, "news"), error::ok);
  EXPECT_EQ(hub_->subscribers("news"), 0u);
  EXPECT_TRUE(hub_->channels().empty());
  EXPECT_EQ(hub_->shard_at(1).counters().subscriptions, 0u);
  EXPECT_EQ(hub_->shard_at(1).counters().unsubscribes, 1u);
}

TEST_F(ChannelHub, SubscribeErrors) {
  recording_subscriber a(json_, "a"), b(json_, "b"), c(json_, "c");
  auto bad = subscribe(0, a, "no spaces");
  EXPECT_EQ(bad.err, error::bad_channel);
  EXPECT_EQ(bad.why, channel_error::bad_char);
  EXPECT_EQ(subscribe(0, a, "nope:x").err, error::unknown_namespace);
  EXPECT_EQ(subscribe(0, a, "vip:x").err, error::permission_denied);
  EXPECT_EQ(subscribe(0, a, "vip:x", credential::subscription_token).err, error::ok);
  EXPECT_EQ(subscribe(0, a, "vip:x", credential::subscription_token).err,
            error::already_subscribed);
  EXPECT_EQ(subscribe(1, b, "vip:x", credential::server).err, error::ok);
  EXPECT_EQ(subscribe(1, c, "vip:x", credential::server).err, error::too_many_subscribers);
  EXPECT_EQ(hub_->subscribers("vip:x"), 2u);
}

TEST_F(ChannelHub, PublishPermissionAndValidation) {
  EXPECT_EQ(publish("news", "x", credential::anonymous).err, error::permission_denied);
  EXPECT_EQ(publish("news", "x", credential::authenticated).err, error::ok);
  EXPECT_EQ(publish("", "x").err, error::bad_channel);
}

TEST_F(ChannelHub, OffsetsAndRecoveryOnSubscribe) {
  recording_subscriber a(json_, "a");
  auto first = subscribe(0, a, "chat:1");
  ASSERT_EQ(first.err, error::ok);
  EXPECT_EQ(first.position.offset, 0u);
  EXPECT_FALSE(first.position.epoch.empty());  // positioned before the first publication
  for (int i = 1; i <= 3; ++i) {
    auto p = publish("chat:1", "m" + std::to_string(i));
    EXPECT_EQ(p.position.offset, static_cast<std::uint64_t>(i));
    EXPECT_EQ(p.position.epoch, first.position.epoch);
  }
  ASSERT_EQ(a.got.size(), 4u);  // own join + 3 publications
  const stream_position last{a.got.back().offset, first.position.epoch};
  hub_->shard_at(0).unsubscribe(a, "chat:1");

  publish("chat:1", "m4");
  publish("chat:1", "m5");
  recording_subscriber again(json_, "a2");
  auto r = subscribe(1, again, "chat:1", credential::anonymous, last);
  EXPECT_EQ(r.err, error::ok);
  EXPECT_TRUE(r.recovered);
  ASSERT_EQ(r.publications.size(), 2u);
  EXPECT_EQ(r.publications[0].data.view(), "m4");
  EXPECT_EQ(r.position.offset, 5u);

  recording_subscriber lost(json_, "a3");
  auto bad = subscribe(1, lost, "chat:2", credential::anonymous, last);  // another stream
  EXPECT_EQ(bad.err, error::ok);
  EXPECT_FALSE(bad.recovered);
  EXPECT_TRUE(bad.publications.empty());
}

TEST_F(ChannelHub, PublicationsDuringSubscribeAreHeldAndDeduplicated) {
  recording_subscriber a(json_, "a");
  publish("chat:1", "m1");
  std::optional<subscribe_result> out;
  hub_->shard_at(0).subscribe(a, subscribe_request{"chat:1", credential::anonymous, {},
                                                   stream_position{0, ""}},
                              [&](subscribe_result r) { out = std::move(r); });
  // m2 races the subscribe: it reaches the shard while the subscribe is in flight (held), but
  // the reply's position already covers it, so it is not delivered; m3 comes after the reply.
  publish_request req{"chat:1", shared_payload::copy_of("m2"), std::nullopt, {}, credential::server};
  hub_->publish(std::move(req), nullptr, {});
  ex0_.run_pending();
  ASSERT_TRUE(out);
  publish("chat:1", "m3");
  std::vector<std::uint64_t> offsets;
  for (const auto& g : a.got) {
    if (g.kind == push_kind::publication) offsets.push_back(g.offset);
  }
  EXPECT_EQ(out->position.offset, 2u);
  EXPECT_EQ(offsets, (std::vector<std::uint64_t>{3}));  // 2 is covered by the reply
}

// A broker may hand a live publication over after its history reply already covered it (the
// Redis broker reads the reply and the live message on two connections, in either order). The
// subscriber is fenced until live delivery passes the position: the late copy is dropped.
TEST_F(ChannelHub, LateLivePublicationsCoveredByTheReplyAreDropped) {
  recording_subscriber a(json_, "a"), b(json_, "b");
  EXPECT_EQ(subscribe(0, b, "chat:1").err, error::ok);  // already live: never fenced
  publish("chat:1", "m1");
  const std::string epoch = publish("chat:1", "m2").position.epoch;
  const subscribe_result r = subscribe(0, a, "chat:1", credential::anonymous, stream_position{1, epoch});
  ASSERT_EQ(r.err, error::ok);
  ASSERT_EQ(r.position.offset, 2u);
  ASSERT_EQ(r.publications.size(), 1u);  // m2 recovered
  auto late = [&](std::uint64_t offset, std::string epoch) {
    publication pub;
    pub.channel = "chat:1";
    pub.data = shared_payload::copy_of("late");
    pub.offset = offset;
    pub.epoch = std::move(epoch);
    hub_->shard_at(0).dispatch(std::make_shared<const delivery>(push_kind::publication, pub, formats_));
  };
  auto offsets = [](const recording_subscriber& s) {
    std::vector<std::uint64_t> out;
    for (const auto& g : s.got) {
      if (g.kind == push_kind::publication) out.push_back(g.offset);
    }
    return out;
  };
  late(2, r.position.epoch);     // m2 again, after the reply: covered, dropped for a
  late(1, r.position.epoch);
  publish("chat:1", "m3");       // beyond the position: delivered, the fence comes down
  late(2, r.position.epoch);     // no fence any more: a (misbehaving) broker's copy goes through
  EXPECT_TRUE(r.recovered);
  EXPECT_EQ(offsets(a), (std::vector<std::uint64_t>{3, 2}));
  EXPECT_EQ(offsets(b), (std::vector<std::uint64_t>{1, 2, 2, 1, 3, 2}));

  // A publication of another epoch (history lost meanwhile) lowers the fence at once.
  recording_subscriber c(json_, "c");
  const subscribe_result rc = subscribe(1, c, "chat:1");
  ASSERT_EQ(rc.position.offset, 3u);
  publication pub;
  pub.channel = "chat:1";
  pub.data = shared_payload::copy_of("new epoch");
  pub.offset = 1;
  pub.epoch = "other";
  hub_->shard_at(1).dispatch(std::make_shared<const delivery>(push_kind::publication, pub, formats_));
  EXPECT_EQ(offsets(c), (std::vector<std::uint64_t>{1}));
  // Unsubscribing while fenced leaves nothing behind.
  recording_subscriber d(json_, "d");
  ASSERT_EQ(subscribe(1, d, "chat:1").err, error::ok);
  EXPECT_EQ(hub_->shard_at(1).unsubscribe(d, "chat:1"), error::ok);
  EXPECT_EQ(hub_->shard_at(1).unsubscribe(d, "chat:1"), error::not_subscribed);
}

TEST_F(ChannelHub, UnsubscribeBeforeCompletionDropsTheCallback) {
  recording_subscriber a(json_, "a");
  bool called = false;
  hub_->shard_at(0).subscribe(a, subscribe_request{"chat:1"}, [&](subscribe_result) { called = true; });
  EXPECT_EQ(hub_->shard_at(0).unsubscribe(a, "chat:1"), error::ok);
  run();
  EXPECT_FALSE(called);
  EXPECT_EQ(hub_->subscribers("chat:1"), 0u);
}

TEST_F(ChannelHub, PresenceAndJoinLeave) {
  recording_subscriber a(json_, "a", "alice"), b(json_, "b", "bob"), c(json_, "c", "alice");
  subscribe(0, a, "chat:room");
  subscribe(1, b, "chat:room");
  subscribe(1, c, "chat:room");
  std::optional<presence_stats_result> stats;
  hub_->presence_stats("chat:room", credential::authenticated, nullptr,
                       [&](presence_stats_result r) { stats = r; });
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->num_clients, 3u);
  EXPECT_EQ(stats->num_users, 2u);

  // a saw its own join and the two later ones.
  std::vector<std::string> seen;
  for (const auto& g : a.got) seen.push_back((g.kind == push_kind::join ? "join " : "? ") + g.who);
  EXPECT_EQ(seen, (std::vector<std::string>{"join a", "join b", "join c"}));

  hub_->shard_at(1).unsubscribe(b, "chat:room");
  run();
  ASSERT_FALSE(a.got.empty());
  EXPECT_EQ(a.got.back().kind, push_kind::leave);
  EXPECT_EQ(a.got.back().who, "b");
  EXPECT_EQ(a.got.back().frame_text, "json|leave|chat:room|0|");

  std::optional<presence_result> list;
  hub_->presence("chat:room", credential::authenticated, nullptr, [&](presence_result r) { list = r; });
  ASSERT_TRUE(list);
  EXPECT_EQ(list->clients.size(), 2u);

  // Namespaces without presence say so; anonymous readers are refused.
  std::optional<presence_result> off;
  hub_->presence("news", credential::authenticated, nullptr, [&](presence_result r) { off = r; });
  EXPECT_EQ(off->err, error::not_available);
  hub_->presence("chat:room", credential::anonymous, nullptr, [&](presence_result r) { off = r; });
  EXPECT_EQ(off->err, error::permission_denied);
}

TEST_F(ChannelHub, NoJoinLeaveWithoutTheOption) {
  recording_subscriber a(json_, "a"), b(json_, "b");
  subscribe(0, a, "news");
  subscribe(0, b, "news");
  hub_->shard_at(0).unsubscribe(b, "news");
  run();
  EXPECT_TRUE(a.got.empty());
}

TEST_F(ChannelHub, HistoryThroughTheHub) {
  publish("chat:h", "1");
  publish("chat:h", "2");
  std::optional<history_result> h;
  history_query q;
  q.limit = -1;
  q.reverse = true;
  hub_->history("chat:h", q, credential::authenticated, nullptr, [&](history_result r) { h = r; });
  ASSERT_TRUE(h);
  ASSERT_EQ(h->pubs.size(), 2u);
  EXPECT_EQ(h->pubs[0].data.view(), "2");
  hub_->history("news", q, credential::authenticated, nullptr, [&](history_result r) { h = r; });
  EXPECT_EQ(h->err, error::not_available);
}

TEST_F(ChannelHub, SlowConsumerPolicies) {
  recording_subscriber a(json_, "a"), b(json_, "b");
  subscribe(0, a, "chat:slow");  // chat: drop and mark gap
  subscribe(0, b, "news");       // default: disconnect
  hub_->shard_at(0).report_slow(a, "chat:slow");
  hub_->shard_at(0).report_slow(b, "news");
  hub_->shard_at(0).report_slow(b, "chat:slow");  // not subscribed there: ignored
  ASSERT_EQ(a.slow.size(), 1u);
  EXPECT_EQ(a.slow[0].first, "chat:slow");
  EXPECT_EQ(a.slow[0].second, slow_consumer_policy::drop);
  ASSERT_EQ(b.slow.size(), 1u);
  EXPECT_EQ(b.slow[0].second, slow_consumer_policy::disconnect);
  EXPECT_EQ(hub_->shard_at(0).counters().drops, 1u);
  EXPECT_EQ(hub_->shard_at(0).counters().slow_disconnects, 1u);
  // The channel keeps flowing for everyone else.
  publish("chat:slow", "after");
  EXPECT_EQ(a.got.back().data, "after");
}

TEST_F(ChannelHub, UnsubscribeFromInsideDeliver) {
  recording_subscriber a(json_, "a"), b(json_, "b"), c(json_, "c");
  subscribe(0, a, "news");
  subscribe(0, b, "news");
  subscribe(0, c, "news");
  // a drops itself and c while the shard is walking the list; a slow session might do this.
  a.on_deliver = [&](const delivery&) {
    hub_->shard_at(0).unsubscribe(a, "news");
    hub_->shard_at(0).unsubscribe(c, "news");
  };
  publish("news", "1");
  publish("news", "2");
  EXPECT_EQ(a.got.size(), 1u);
  EXPECT_EQ(b.got.size(), 2u);
  EXPECT_LE(c.got.size(), 1u);  // depends on list order; never after its unsubscribe
  EXPECT_EQ(hub_->shard_at(0).local_subscribers("news"), 1u);
  EXPECT_EQ(hub_->subscribers("news"), 1u);
}

}  // namespace
}  // namespace duplex::hub
