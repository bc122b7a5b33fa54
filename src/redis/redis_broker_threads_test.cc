// Cross-thread use of the Redis broker: callers on several threads, the broker on its loop
// thread, a second node receiving. Suite names end in "Threads" so CI's TSan stage runs them.
#include "redis/redis_broker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "redis/redis_test_util.h"

namespace duplex::redis {
namespace {

using namespace std::chrono_literals;
using hub::error;
using test::node;

class RedisBrokerThreads : public ::testing::Test {
 protected:
  void SetUp() override {
    DUPLEX_REQUIRE_REDIS_SERVER();
    std::string why;
    ASSERT_TRUE(server_.start(0, &why)) << why;
  }
  std::unique_ptr<node> start_node() {
    redis_broker_options o;
    o.where.host = "127.0.0.1";
    o.where.port = server_.port();
    o.prefix = "t";
    o.command_timeout = 5000ms;
    auto n = std::make_unique<node>(std::move(o));
    EXPECT_TRUE(n->wait_connected());
    return n;
  }
  long long numsub(const std::string& channel) {
    auto r = server_.command({"PUBSUB", "NUMSUB", "t:c:" + channel});
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) return -1;
    return r->element[1]->integer;
  }

  test::redis_server server_;
};

TEST_F(RedisBrokerThreads, ConcurrentPublishersGetDistinctOffsetsDeliveredInOrder) {
  auto a = start_node();
  auto b = start_node();
  ASSERT_TRUE(b->subscribe("ticker"));
  constexpr int threads = 4;
  constexpr int per_thread = 250;
  std::atomic<int> ok{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        hub::publication p;
        p.channel = "ticker";
        p.data = shared_payload::copy_of(test::numbered(test::numbered("", t) + ":", i));
        a->broker().publish(std::move(p), {2000, 60s}, nullptr, [&](hub::publish_result r) {
          if (r.err == error::ok) ok.fetch_add(1);
        });
      }
    });
  }
  for (auto& t : ts) t.join();
  constexpr int total = threads * per_thread;
  ASSERT_TRUE(b->events.wait_pubs(total, 20s));
  const auto got = b->events.pubs();
  ASSERT_EQ(got.size(), static_cast<std::size_t>(total));
  std::map<int, int> next;  // per publishing thread: the sequence number expected next
  for (int i = 0; i < total; ++i) {
    ASSERT_EQ(got[i].offset, static_cast<std::uint64_t>(i + 1)) << "gap or reorder at " << i;
    const std::string d(got[i].data.view());
    const int t = std::stoi(d.substr(0, d.find(':')));
    const int seq = std::stoi(d.substr(d.find(':') + 1));
    EXPECT_EQ(seq, next[t]++) << "thread " << t << "'s publications overtook each other";
  }
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (ok.load() != total && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(ok.load(), total);
}

TEST_F(RedisBrokerThreads, ConcurrentSubscribeAndUnsubscribeSettleOnTheLastState) {
  auto b = start_node();
  constexpr int threads = 4;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        const std::string ch = test::numbered("c", (t + i) % 8);
        b->broker().node_subscribe(ch);
        b->broker().node_unsubscribe(ch);
      }
      b->broker().node_subscribe(test::numbered("c", t));  // each keeps one reference
    });
  }
  for (auto& t : ts) t.join();
  ASSERT_TRUE(b->subscribe("sync"));
  for (int c = 0; c < 8; ++c) {
    EXPECT_EQ(numsub(test::numbered("c", c)), c < threads ? 1 : 0) << "c" << c;
  }
}

}  // namespace
}  // namespace duplex::redis
