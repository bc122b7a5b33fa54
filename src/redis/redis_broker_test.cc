// The Redis broker against a real redis-server (started per test on a free port).
#include "redis/redis_broker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "redis/envelope.h"
#include "redis/redis_test_util.h"

namespace duplex::redis {
namespace {

using namespace std::chrono_literals;
using hub::error;
using test::node;

class RedisBroker : public ::testing::Test {
 protected:
  void SetUp() override {
    DUPLEX_REQUIRE_REDIS_SERVER();
    std::string why;
    ASSERT_TRUE(server_.start(0, &why)) << why;
  }

  redis_broker_options options() const {
    redis_broker_options o;
    o.where.host = "127.0.0.1";
    o.where.port = server_.port();
    o.prefix = "t";
    o.connect_timeout = 500ms;
    o.command_timeout = 2000ms;
    o.reconnect_min = 20ms;
    o.reconnect_max = 200ms;
    return o;
  }
  std::unique_ptr<node> start_node(redis_broker_options o) {
    auto n = std::make_unique<node>(std::move(o));
    EXPECT_TRUE(n->wait_connected()) << "broker did not connect to 127.0.0.1:" << server_.port();
    return n;
  }
  std::unique_ptr<node> start_node() { return start_node(options()); }

  // Subscriber count of a channel's topic, as Redis sees it.
  long long numsub(const std::string& channel) {
    auto r = server_.command({"PUBSUB", "NUMSUB", "t:c:" + channel});
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) return -1;
    return r->element[1]->integer;
  }

  static bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }

  test::redis_server server_;
};

std::vector<std::uint64_t> offsets(const std::vector<hub::publication>& pubs) {
  std::vector<std::uint64_t> out;
  for (const auto& p : pubs) out.push_back(p.offset);
  return out;
}

std::vector<std::string> payloads(const std::vector<hub::publication>& pubs) {
  std::vector<std::string> out;
  for (const auto& p : pubs) out.emplace_back(p.data.view());
  return out;
}

TEST_F(RedisBroker, PublishAssignsOffsetsAndOneEpochPerStream) {
  auto a = start_node();
  auto b = start_node();
  auto r1 = a->publish("news", "1");
  auto r2 = b->publish("news", "2");  // another node continues the same stream
  auto r3 = a->publish("news", "3");
  ASSERT_TRUE(r1 && r2 && r3);
  EXPECT_EQ(r1->err, error::ok);
  EXPECT_EQ(r1->position.offset, 1u);
  EXPECT_EQ(r2->position.offset, 2u);
  EXPECT_EQ(r3->position.offset, 3u);
  EXPECT_EQ(r1->position.epoch.size(), 8u);
  EXPECT_EQ(r2->position.epoch, r1->position.epoch);
  EXPECT_EQ(r3->position.epoch, r1->position.epoch);

  auto other = a->publish("other", "x");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->position.offset, 1u);
  EXPECT_NE(other->position.epoch, r1->position.epoch);

  auto plain = a->publish("news", "no history", {0, 0ms});
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->err, error::ok);
  EXPECT_EQ(plain->position, hub::stream_position{});
  EXPECT_EQ(a->publish("news", "4")->position.offset, 4u) << "a plain publish takes no offset";
}

TEST_F(RedisBroker, SurvivesAFlushedScriptCache) {
  auto a = start_node();
  EXPECT_EQ(a->publish("news", "1")->position.offset, 1u);
  auto flushed = server_.command({"SCRIPT", "FLUSH"});
  ASSERT_TRUE(flushed);
  auto r = a->publish("news", "2");  // EVALSHA -> NOSCRIPT -> EVAL
  ASSERT_TRUE(r);
  EXPECT_EQ(r->err, error::ok);
  EXPECT_EQ(r->position.offset, 2u);
  auto h = a->history("news", {.limit = -1});
  ASSERT_TRUE(h);
  EXPECT_EQ(h->pubs.size(), 2u);
}

TEST_F(RedisBroker, PublicationReachesAnotherNodeOnlyWhileItIsSubscribed) {
  auto a = start_node();
  auto b = start_node();
  ASSERT_TRUE(b->subscribe("sync"));

  ASSERT_EQ(a->publish("news", "before")->err, error::ok);
  ASSERT_EQ(a->publish("sync", "s1", {0, 0ms})->err, error::ok);
  // Redis writes to B's link in publish order: once s1 is here, "before" would be too.
  ASSERT_TRUE(b->events.wait_pubs(1));
  EXPECT_EQ(b->events.data_of("sync"), std::vector<std::string>{"s1"});
  EXPECT_TRUE(b->events.data_of("news").empty());

  ASSERT_TRUE(b->subscribe("news"));
  ASSERT_EQ(a->publish("news", "after")->err, error::ok);
  ASSERT_TRUE(b->events.wait_pubs(2));
  const auto got = b->events.pubs();
  EXPECT_EQ(got.back().channel, "news");
  EXPECT_EQ(std::string(got.back().data.view()), "after");
  EXPECT_EQ(got.back().offset, 2u);
  EXPECT_EQ(got.back().published_us, 0u) << "arrived from Redis, not accepted here";

  b->broker().node_unsubscribe("news");
  ASSERT_TRUE(b->subscribe("sync2"));  // confirmed after the UNSUBSCRIBE on the same link
  ASSERT_EQ(a->publish("news", "gone")->err, error::ok);
  ASSERT_EQ(a->publish("sync2", "s2", {0, 0ms})->err, error::ok);
  ASSERT_TRUE(b->events.wait_pubs(3));
  EXPECT_EQ(b->events.data_of("news"), std::vector<std::string>{"after"});
}

TEST_F(RedisBroker, SubscriptionsAreCountedAndBatched) {
  auto b = start_node();
  const auto before = b->broker().stats();

  // Hold the loop so that every call below lands before the flush runs.
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  b->loop().post([released] { released.wait(); });
  for (int i = 0; i < 50; ++i) b->broker().node_subscribe(test::numbered("ch", i));
  b->broker().node_subscribe("dup");
  b->broker().node_subscribe("dup");  // second local reference: no second SUBSCRIBE
  release.set_value();

  auto h = b->history("ch49", {});  // returns once the SUBSCRIBE is confirmed
  ASSERT_TRUE(h);
  EXPECT_EQ(h->err, error::ok);
  const auto after = b->broker().stats();
  EXPECT_EQ(after.subscribe_commands - before.subscribe_commands, 1u) << "one for 51 channels";
  for (int i = 0; i < 50; ++i) EXPECT_EQ(numsub(test::numbered("ch", i)), 1) << i;
  EXPECT_EQ(numsub("dup"), 1);

  b->broker().node_unsubscribe("dup");
  ASSERT_TRUE(b->subscribe("sync2"));
  EXPECT_EQ(numsub("dup"), 1) << "one local reference left";
  const auto before_unsub = b->broker().stats().unsubscribe_commands;
  std::promise<void> release2;
  std::shared_future<void> released2 = release2.get_future().share();
  b->loop().post([released2] { released2.wait(); });
  b->broker().node_unsubscribe("dup");
  for (int i = 0; i < 50; ++i) b->broker().node_unsubscribe(test::numbered("ch", i));
  release2.set_value();
  ASSERT_TRUE(b->subscribe("sync3"));
  EXPECT_EQ(numsub("dup"), 0);
  EXPECT_EQ(numsub("ch7"), 0);
  EXPECT_EQ(b->broker().stats().unsubscribe_commands - before_unsub, 1u) << "one for 51";
}

TEST_F(RedisBroker, AnotherNodeReceivesPublicationsInOffsetOrder) {
  auto a = start_node();
  auto b = start_node();
  ASSERT_TRUE(b->subscribe("ticker"));
  constexpr int n = 500;
  std::atomic<int> ok{0};
  for (int i = 1; i <= n; ++i) {
    hub::publication p;
    p.channel = "ticker";
    p.data = shared_payload::copy_of(std::to_string(i));
    a->broker().publish(std::move(p), {1000, 60s}, nullptr, [&](hub::publish_result r) {
      if (r.err == error::ok) ok.fetch_add(1);
    });
  }
  ASSERT_TRUE(b->events.wait_pubs(n, 10s));
  const auto got = b->events.pubs();
  ASSERT_EQ(got.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(got[i].offset, static_cast<std::uint64_t>(i + 1));
    // One caller thread: the broker keeps its order, so data follows the offsets.
    EXPECT_EQ(std::string(got[i].data.view()), std::to_string(i + 1));
  }
  EXPECT_TRUE(wait_for([&] { return ok.load() == n; }));
}

TEST_F(RedisBroker, HistoryForwardReverseLimitAndSince) {
  auto a = start_node();
  // A fresh channel already has an epoch (a subscriber can be positioned before any publish).
  auto empty = a->history("h", {});
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->err, error::ok);
  EXPECT_EQ(empty->position.offset, 0u);
  const std::string epoch = empty->position.epoch;
  ASSERT_EQ(epoch.size(), 8u);

  for (int i = 1; i <= 10; ++i) {
    hub::publication p;
    p.channel = "h";
    p.data = shared_payload::copy_of(test::numbered("m", i));
    if (i == 1) {
      p.info = hub::client_info{"c1", "u1", shared_payload::copy_of("ci"), {}};
      p.tags = {{"k", "v"}};
    }
    auto r = test::await<hub::publish_result>([&](hub::callback<hub::publish_result> cb) {
      a->broker().publish(std::move(p), {100, 60s}, nullptr, std::move(cb));
    });
    ASSERT_TRUE(r);
    ASSERT_EQ(r->position, (hub::stream_position{static_cast<std::uint64_t>(i), epoch}));
  }
  const hub::stream_position top{10, epoch};

  auto all = a->history("h", {.limit = -1});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->position, top);
  EXPECT_EQ(offsets(all->pubs), (std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
  ASSERT_TRUE(all->pubs[0].info);
  EXPECT_EQ(all->pubs[0].info->client_id, "c1");
  EXPECT_EQ(all->pubs[0].info->conn_info.view(), "ci");
  EXPECT_EQ(all->pubs[0].tags, (std::vector<std::pair<std::string, std::string>>{{"k", "v"}}));
  EXPECT_EQ(all->pubs[0].channel, "h");
  EXPECT_EQ(all->pubs[0].epoch, epoch);
  EXPECT_EQ(payloads(all->pubs)[9], "m10");

  EXPECT_EQ(offsets(a->history("h", {.limit = 3})->pubs), (std::vector<std::uint64_t>{1, 2, 3}));
  hub::stream_position at4{4, epoch};
  EXPECT_EQ(offsets(a->history("h", {.since = at4, .limit = -1})->pubs),
            (std::vector<std::uint64_t>{5, 6, 7, 8, 9, 10}));
  EXPECT_EQ(offsets(a->history("h", {.since = at4, .limit = 2})->pubs),
            (std::vector<std::uint64_t>{5, 6}));
  EXPECT_EQ(offsets(a->history("h", {.limit = 3, .reverse = true})->pubs),
            (std::vector<std::uint64_t>{10, 9, 8}));
  EXPECT_EQ(offsets(a->history("h", {.since = at4, .limit = -1, .reverse = true})->pubs),
            (std::vector<std::uint64_t>{3, 2, 1}));
  EXPECT_TRUE(a->history("h", {.since = top, .limit = -1})->pubs.empty());

  auto pos = a->history("h", {.since = at4});  // limit 0: position only
  EXPECT_EQ(pos->err, error::ok);
  EXPECT_TRUE(pos->pubs.empty());
  EXPECT_EQ(pos->position, top);

  auto stale = a->history("h", {.since = hub::stream_position{4, "oldepoch"}, .limit = -1});
  ASSERT_TRUE(stale);
  EXPECT_EQ(stale->err, error::unrecoverable_position);
  EXPECT_TRUE(stale->pubs.empty());
  EXPECT_EQ(stale->position, top);
}

TEST_F(RedisBroker, HistoryKeepsTheLatestSizeEntries) {
  auto a = start_node();
  for (int i = 1; i <= 10; ++i) ASSERT_EQ(a->publish("h", std::to_string(i), {3, 60s})->err, error::ok);
  auto h = a->history("h", {.limit = -1});
  ASSERT_TRUE(h);
  EXPECT_EQ(offsets(h->pubs), (std::vector<std::uint64_t>{8, 9, 10}));
  EXPECT_EQ(offsets(a->history("h", {.limit = -1, .reverse = true})->pubs),
            (std::vector<std::uint64_t>{10, 9, 8}));
}

TEST_F(RedisBroker, HistoryEntriesExpireButThePositionStays) {
  auto a = start_node();
  ASSERT_EQ(a->publish("h", "old", {10, 300ms})->err, error::ok);
  std::this_thread::sleep_for(200ms);
  ASSERT_EQ(a->publish("h", "new", {10, 300ms})->err, error::ok);
  std::this_thread::sleep_for(150ms);  // "old" expired, "new" not yet
  auto h = a->history("h", {.limit = -1});
  ASSERT_TRUE(h);
  EXPECT_EQ(payloads(h->pubs), std::vector<std::string>{"new"});
  EXPECT_EQ(payloads(a->history("h", {.limit = -1, .reverse = true})->pubs),
            std::vector<std::string>{"new"});
  std::this_thread::sleep_for(250ms);
  h = a->history("h", {.limit = -1});
  EXPECT_TRUE(h->pubs.empty());
  EXPECT_EQ(h->position.offset, 2u) << "the stream's state outlives its entries";
}

TEST_F(RedisBroker, RemoveHistoryStartsANewEpoch) {
  auto a = start_node();
  auto first = a->publish("h", "1");
  ASSERT_EQ(a->publish("h", "2")->position.offset, 2u);
  auto removed = test::await<error>([&](hub::callback<error> cb) {
    a->broker().remove_history("h", nullptr, std::move(cb));
  });
  ASSERT_TRUE(removed);
  EXPECT_EQ(*removed, error::ok);
  auto next = a->publish("h", "3");
  EXPECT_EQ(next->position.offset, 1u);
  EXPECT_NE(next->position.epoch, first->position.epoch);
  auto h = a->history("h", {.since = first->position, .limit = -1});
  EXPECT_EQ(h->err, error::unrecoverable_position);
  EXPECT_EQ(payloads(a->history("h", {.limit = -1})->pubs), std::vector<std::string>{"3"});
}

TEST_F(RedisBroker, ExpiredStreamStateStartsANewEpoch) {
  auto o = options();
  o.meta_ttl = 300ms;
  auto a = start_node(o);
  auto first = a->publish("h", "1", {10, 100ms});
  ASSERT_EQ(first->position.offset, 1u);
  std::this_thread::sleep_for(500ms);
  auto next = a->publish("h", "2", {10, 100ms});
  EXPECT_EQ(next->position.offset, 1u);
  EXPECT_NE(next->position.epoch, first->position.epoch);
}

TEST_F(RedisBroker, PresenceIsSharedBetweenNodes) {
  auto a = start_node();
  auto b = start_node();
  ASSERT_EQ(a->add_presence("room", {"c1", "u1", shared_payload::copy_of("{\"n\":1}"), {}}), error::ok);
  ASSERT_EQ(a->add_presence("room", {"c2", "u1", {}, shared_payload::copy_of("ch")}), error::ok);
  ASSERT_EQ(b->add_presence("room", {"c3", "u2", {}, {}}), error::ok);
  ASSERT_EQ(b->add_presence("room", {"c3", "u2", {}, {}}), error::ok) << "re-adding replaces";

  auto p = b->presence("room");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->err, error::ok);
  ASSERT_EQ(p->clients.size(), 3u);
  std::map<std::string, hub::client_info> by_id;
  for (auto& c : p->clients) by_id[c.client_id] = c;
  EXPECT_EQ(by_id["c1"].user_id, "u1");
  EXPECT_EQ(by_id["c1"].conn_info.view(), "{\"n\":1}");
  EXPECT_EQ(by_id["c2"].chan_info.view(), "ch");

  auto s = a->presence_stats("room");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->num_clients, 3u);
  EXPECT_EQ(s->num_users, 2u);

  ASSERT_EQ(a->remove_presence("room", "c2"), error::ok);
  s = b->presence_stats("room");
  EXPECT_EQ(s->num_clients, 2u);
  EXPECT_EQ(s->num_users, 2u);
  EXPECT_TRUE(a->presence("empty")->clients.empty());
}

TEST_F(RedisBroker, PresenceExpiresWhenItsNodeStopsRefreshing) {
  auto o = options();
  o.presence_ttl = 400ms;  // refreshed every ~133 ms while the node lives
  auto a = start_node(o);
  auto b = start_node(o);
  ASSERT_EQ(a->add_presence("room", {"c1", "u1", {}, {}}), error::ok);
  std::this_thread::sleep_for(1000ms);
  EXPECT_EQ(b->presence("room")->clients.size(), 1u) << "kept alive by a's refresh";

  a->stop();  // a dies without removing its client
  std::this_thread::sleep_for(600ms);
  auto p = b->presence("room");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->err, error::ok);
  EXPECT_TRUE(p->clients.empty());
}

TEST_F(RedisBroker, JoinAndLeaveReachSubscribedNodes) {
  auto a = start_node();
  auto b = start_node();
  ASSERT_TRUE(b->subscribe("room"));
  a->broker().publish_join("room", {"c1", "u1", {}, {}});
  a->broker().publish_leave("room", {"c1", "u1", {}, {}});
  a->broker().publish_join("elsewhere", {"c2", "u2", {}, {}});
  ASSERT_TRUE(b->events.wait([](const auto&, const auto& ev) { return ev.size() >= 2; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(b->events.events(), (std::vector<std::string>{"join room c1", "leave room c1"}));
}

TEST_F(RedisBroker, FailsFastWhileRedisIsDown) {
  auto a = start_node();
  server_.stop();
  ASSERT_TRUE(wait_for([&] { return !a->broker().connected(); }));

  const auto t0 = std::chrono::steady_clock::now();
  auto r = a->publish("news", "x");
  ASSERT_TRUE(r) << "publish must not hang";
  EXPECT_EQ(r->err, error::broker_unavailable);
  EXPECT_EQ(a->history("news", {.limit = -1})->err, error::broker_unavailable);
  EXPECT_EQ(a->presence("room")->err, error::broker_unavailable);
  EXPECT_EQ(a->presence_stats("room")->err, error::broker_unavailable);
  EXPECT_EQ(a->add_presence("room", {"c1", "u1", {}, {}}), error::broker_unavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_GE(a->broker().stats().failures, 5u);
}

TEST_F(RedisBroker, NeverHangsOnAStalledRedis) {
  auto o = options();
  o.command_timeout = 400ms;
  auto a = start_node(o);
  server_.pause();
  const auto t0 = std::chrono::steady_clock::now();
  auto r = a->publish("news", "x");
  const auto took = std::chrono::steady_clock::now() - t0;
  server_.resume();
  ASSERT_TRUE(r) << "publish must complete even though Redis never answers";
  EXPECT_EQ(r->err, error::broker_unavailable);
  EXPECT_LT(took, 2s);
  ASSERT_TRUE(a->wait_connected());
  ASSERT_TRUE(wait_for([&] { return a->publish("news", "y")->err == error::ok; }));
}

TEST_F(RedisBroker, ReconnectsAndResubscribesAfterARedisRestart) {
  std::atomic<int> restored{0};
  auto o = options();
  o.on_pubsub_restored = [&] { restored.fetch_add(1); };
  auto a = start_node();
  auto b = start_node(o);
  ASSERT_TRUE(b->subscribe("news"));
  auto first = a->publish("news", "1");
  ASSERT_TRUE(b->events.wait_pubs(1));

  const std::uint16_t port = server_.port();
  server_.stop();
  ASSERT_TRUE(wait_for([&] { return !a->broker().connected() && !b->broker().connected(); }));
  EXPECT_EQ(a->publish("news", "lost")->err, error::broker_unavailable);

  std::string why;
  ASSERT_TRUE(server_.start(port, &why)) << why;
  ASSERT_TRUE(a->wait_connected(5s));
  ASSERT_TRUE(b->wait_connected(5s));
  EXPECT_TRUE(wait_for([&] { return restored.load() == 1; }));
  // history() waits for the resubscription to be confirmed, like a new subscriber would.
  auto h = b->history("news", {});
  ASSERT_TRUE(h);
  EXPECT_NE(h->position.epoch, first->position.epoch) << "Redis lost the stream: new epoch";

  auto next = a->publish("news", "2");
  ASSERT_EQ(next->err, error::ok);
  EXPECT_EQ(next->position.epoch, h->position.epoch);
  EXPECT_EQ(next->position.offset, 1u);
  ASSERT_TRUE(b->events.wait_pubs(2));
  EXPECT_EQ(b->events.data_of("news"), (std::vector<std::string>{"1", "2"}));
  EXPECT_GE(b->broker().stats().reconnects, 2u);  // both of b's links
}

// The command and subscriber links back off independently; the first one up makes the other
// try at once, so a node does not publish without receiving (or the reverse) for a backoff step.
// (Without that, the two would come back within 300 ms of each other about one time in four.)
TEST_F(RedisBroker, ItsTwoLinksComeBackTogetherAfterARestart) {
  auto o = options();
  o.reconnect_min = 4s;  // each link alone retries 2-4 s after the loss
  o.reconnect_max = 4s;
  auto a = start_node(o);
  const std::uint16_t port = server_.port();
  server_.stop();
  ASSERT_TRUE(wait_for([&] { return !a->broker().connected(); }));
  std::string why;
  ASSERT_TRUE(server_.start(port, &why)) << why;
  ASSERT_TRUE(wait_for([&] { return a->broker().stats().reconnects >= 1; }, 6s));
  const auto first = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_for([&] { return a->broker().stats().reconnects >= 2; }, 6s));
  EXPECT_LT(std::chrono::steady_clock::now() - first, 300ms);
  EXPECT_TRUE(a->broker().connected());
}

TEST_F(RedisBroker, MalformedPubSubPayloadsAreCountedAndIgnored) {
  auto a = start_node();
  auto b = start_node();
  ASSERT_TRUE(b->subscribe("news"));
  hub::publication wrong;
  wrong.channel = "other";
  wrong.data = shared_payload::copy_of("x");
  const std::string bad[] = {
      "garbage",
      "D1p1:0",                                     // truncated
      encode_publication(wrong),                    // names another channel
      encode_client({"c1", "u1", {}, {}}),          // a presence entry
      encode_join("other", {"c1", "u1", {}, {}}),   // join for another channel
      std::string("D1p1:00:1:c0:-1:0\0", 18),       // trailing byte
  };
  for (const std::string& m : bad) {
    auto r = server_.command({"PUBLISH", "t:c:news", m});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->integer, 1) << "b is subscribed";
  }
  ASSERT_EQ(a->publish("news", "good")->err, error::ok);
  ASSERT_TRUE(b->events.wait_pubs(1));
  EXPECT_EQ(b->events.data_of("news"), std::vector<std::string>{"good"});
  EXPECT_EQ(b->broker().stats().malformed, std::size(bad));
  EXPECT_TRUE(b->events.events().empty());
}

// Measurement, reported by the test (not a pass/fail threshold): publications per second
// from node A to node B through Redis, and Redis commands per publication.
TEST_F(RedisBroker, MeasureThroughputToOneSubscriberNode) {
  auto a = start_node();
  auto b = start_node();
  ASSERT_TRUE(b->subscribe("bench"));
  constexpr int n = 20000;
  const auto before = a->broker().stats();
  const std::string payload(100, 'x');
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    hub::publication p;
    p.channel = "bench";
    p.data = shared_payload::copy_of(payload);
    a->broker().publish(std::move(p), {1000, 60s}, nullptr, {});
  }
  ASSERT_TRUE(b->events.wait_pubs(n, 60s));
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto after = a->broker().stats();
  const auto got = b->events.pubs();
  for (int i = 0; i < n; ++i) ASSERT_EQ(got[i].offset, static_cast<std::uint64_t>(i + 1));
  const double per_pub =
      static_cast<double>(after.commands - before.commands) / static_cast<double>(n);
  std::printf("[ measure  ] %d publications (history on, 100 B) A->Redis->B in %.3f s: "
              "%.0f pub/s; %.2f commands per publication\n",
              n, secs, n / secs, per_pub);
  RecordProperty("publications_per_second", static_cast<int>(n / secs));
  EXPECT_EQ(after.commands - before.commands, static_cast<std::uint64_t>(n));

  // The same without history: one PUBLISH each, no script.
  ASSERT_TRUE(b->subscribe("plain"));
  const auto t1 = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) {
    hub::publication p;
    p.channel = "plain";
    p.data = shared_payload::copy_of(payload);
    a->broker().publish(std::move(p), {0, 0ms}, nullptr, {});
  }
  ASSERT_TRUE(b->events.wait_pubs(2 * n, 60s));
  const double secs2 = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  std::printf("[ measure  ] %d publications (no history, 100 B) A->Redis->B in %.3f s: %.0f pub/s\n",
              n, secs2, n / secs2);
}

}  // namespace
}  // namespace duplex::redis
