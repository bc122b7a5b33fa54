#include "net/loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "support/net_test_util.h"

namespace duplex::net {
namespace {

using namespace std::chrono_literals;

TEST(Loop, PostFromOwnThreadRunsLaterNeverInline) {
  loop l;
  std::vector<int> order;
  l.post([&] {
    EXPECT_EQ(loop::current(), &l);
    EXPECT_TRUE(l.in_thread());
    l.post([&] { order.push_back(2); l.stop(); });
    order.push_back(1);
  });
  l.run();
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_EQ(loop::current(), nullptr);
}

TEST(Loop, RunAfterFiresAfterDelayAndCancelStopsIt) {
  loop l;
  const auto t0 = clock::now_ms();
  std::uint64_t fired_at = 0;
  bool cancelled_fired = false;
  l.post([&] {
    const timer_id victim = l.run_after(5ms, [&] { cancelled_fired = true; });
    l.run_after(20ms, [&] {
      fired_at = clock::now_ms();
      l.stop();
    });
    l.cancel(victim);
    l.cancel(victim);  // unknown/cancelled ids are ignored
  });
  l.run();
  EXPECT_FALSE(cancelled_fired);
  EXPECT_GE(fired_at - t0, 20u);
  EXPECT_LT(fired_at - t0, 2000u);
}

TEST(Loop, TimerOrderFollowsDeadlines) {
  loop l;
  std::vector<int> order;
  l.post([&] {
    l.run_after(6ms, [&] { order.push_back(6); l.stop(); });
    l.run_after(2ms, [&] { order.push_back(2); });
    l.run_after(4ms, [&] { order.push_back(4); });
  });
  l.run();
  EXPECT_EQ(order, (std::vector<int>{2, 4, 6}));
}

TEST(Loop, StopBeforeRunReturnsAfterOneTurnAndLoopRunsAgain) {
  loop l;
  l.stop();
  l.run();  // must return
  bool ran = false;
  l.post([&] { ran = true; l.stop(); });
  l.run();
  EXPECT_TRUE(ran);
}

TEST(LoopThreads, PostFromOtherThreads) {
  loop l;
  constexpr int per_thread = 2000;
  int count = 0;  // loop thread only
  std::atomic<bool> in_thread_ok{true};
  std::vector<std::thread> posters;
  for (int t = 0; t < 3; ++t) {
    posters.emplace_back([&] {
      EXPECT_FALSE(l.in_thread());
      for (int i = 0; i < per_thread; ++i) {
        l.post([&] {
          if (!l.in_thread()) in_thread_ok = false;
          if (++count == 3 * per_thread) l.stop();
        });
      }
    });
  }
  std::thread runner([&] { l.run(); });
  for (auto& p : posters) p.join();
  runner.join();
  EXPECT_EQ(count, 3 * per_thread);
  EXPECT_TRUE(in_thread_ok);
}

TEST(LoopThreads, PostPreservesFifoPerThread) {
  loop l;
  std::vector<int> seen;
  std::thread poster([&] {
    for (int i = 0; i < 1000; ++i) l.post([&seen, i] { seen.push_back(i); });
    l.post([&] { l.stop(); });
  });
  l.run();
  poster.join();
  ASSERT_EQ(seen.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(seen[static_cast<std::size_t>(i)], i);
}

TEST(LoopThreads, StopFromOtherThreadWakesIdleLoop) {
  loop l;
  std::atomic<bool> running{false};
  std::thread runner([&] {
    l.post([&] { running = true; });
    l.run();
  });
  while (!running) std::this_thread::sleep_for(1ms);
  const auto t0 = clock::now_ms();
  l.stop();
  runner.join();
  EXPECT_LT(clock::now_ms() - t0, 1000u);
}

TEST(Loop, RunUntilHelperTimesOut) {
  loop l;
  EXPECT_FALSE(test::run_until(l, [] { return false; }, 20ms));
  int n = 0;
  l.post([&] { ++n; });
  EXPECT_TRUE(test::run_until(l, [&] { return n == 1; }));
}

}  // namespace
}  // namespace duplex::net
