#include "net/timer_wheel.h"

#include <gtest/gtest.h>

#include <vector>

namespace duplex::net {
namespace {

using std::chrono::milliseconds;

TEST(TimerWheel, FiresNotBeforeDeadline) {
  timer_wheel w(milliseconds(1), 64, 1000);
  int fired = 0;
  w.add(1000, milliseconds(10), [&] { ++fired; });
  EXPECT_EQ(w.advance(1009), 0u);
  EXPECT_EQ(fired, 0);
  EXPECT_EQ(w.advance(1010), 1u);
  EXPECT_EQ(fired, 1);
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(w.advance(2000), 0u);
  EXPECT_EQ(fired, 1);
}

TEST(TimerWheel, CoarseTickRoundsUp) {
  timer_wheel w(milliseconds(4), 16, 0);
  int fired = 0;
  w.add(1, milliseconds(5), [&] { ++fired; });  // due at 6 -> tick boundary 8
  w.advance(7);
  EXPECT_EQ(fired, 0);
  w.advance(8);
  EXPECT_EQ(fired, 1);
}

TEST(TimerWheel, ZeroDelayFiresOnNextAdvanceNotInline) {
  timer_wheel w(milliseconds(1), 8, 50);
  int fired = 0;
  w.add(50, milliseconds(0), [&] { ++fired; });
  EXPECT_EQ(fired, 0);
  w.advance(51);
  EXPECT_EQ(fired, 1);
}

TEST(TimerWheel, CancelPreventsFiringAndStaleIdsAreIgnored) {
  timer_wheel w(milliseconds(1), 32, 0);
  int a = 0, b = 0;
  const timer_id ia = w.add(0, milliseconds(5), [&] { ++a; });
  const timer_id ib = w.add(0, milliseconds(5), [&] { ++b; });
  EXPECT_NE(ia, 0u);
  EXPECT_TRUE(w.cancel(ia));
  EXPECT_FALSE(w.cancel(ia));
  EXPECT_EQ(w.size(), 1u);
  w.advance(5);
  EXPECT_EQ(a, 0);
  EXPECT_EQ(b, 1);
  EXPECT_FALSE(w.cancel(ib));  // already fired
  // The node is reused for a new timer; the old id must not cancel it.
  int c = 0;
  const timer_id ic = w.add(5, milliseconds(1), [&] { ++c; });
  EXPECT_FALSE(w.cancel(ia));
  EXPECT_FALSE(w.cancel(ib));
  EXPECT_FALSE(w.cancel(0));
  EXPECT_FALSE(w.cancel(12345));
  w.advance(6);
  EXPECT_EQ(c, 1);
  EXPECT_NE(ic, ib);
}

TEST(TimerWheel, TimersBeyondHorizonTakeExtraRounds) {
  timer_wheel w(milliseconds(1), 16, 0);
  std::vector<int> order;
  w.add(0, milliseconds(40), [&] { order.push_back(40); });
  w.add(0, milliseconds(8), [&] { order.push_back(8); });
  w.add(0, milliseconds(24), [&] { order.push_back(24); });  // same slot as 8 and 40
  for (std::uint64_t t = 1; t <= 39; ++t) w.advance(t);
  EXPECT_EQ(order, (std::vector<int>{8, 24}));
  w.advance(40);
  EXPECT_EQ(order, (std::vector<int>{8, 24, 40}));
}

TEST(TimerWheel, LargeTimeJumpFiresEverythingDue) {
  timer_wheel w(milliseconds(1), 16, 0);
  int fired = 0;
  for (int i = 1; i <= 100; ++i) w.add(0, milliseconds(i * 3), [&] { ++fired; });
  w.add(0, milliseconds(1000), [&] { fired += 1000; });
  EXPECT_EQ(w.advance(300), 100u);
  EXPECT_EQ(fired, 100);
  EXPECT_EQ(w.size(), 1u);
  w.advance(1000);
  EXPECT_EQ(fired, 1100);
}

TEST(TimerWheel, SameTickFiresInInsertionOrder) {
  timer_wheel w(milliseconds(1), 16, 0);
  std::vector<int> order;
  for (int i = 0; i < 5; ++i) w.add(0, milliseconds(3), [&order, i] { order.push_back(i); });
  w.advance(3);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(TimerWheel, CallbacksMayAddAndCancel) {
  timer_wheel w(milliseconds(1), 16, 0);
  int later = 0, victim = 0, rearmed = 0;
  timer_id victim_id = 0;
  w.add(0, milliseconds(2), [&] {
    EXPECT_TRUE(w.cancel(victim_id));
    w.add(2, milliseconds(0), [&] { ++rearmed; });
  });
  victim_id = w.add(0, milliseconds(5), [&] { ++victim; });
  w.add(0, milliseconds(3), [&] { ++later; });
  w.advance(2);
  EXPECT_EQ(rearmed, 0);  // added during advance(2): due on a later tick
  w.advance(10);
  EXPECT_EQ(later, 1);
  EXPECT_EQ(victim, 0);
  EXPECT_EQ(rearmed, 1);
  EXPECT_TRUE(w.empty());
}

TEST(TimerWheel, NextTimeout) {
  timer_wheel w(milliseconds(2), 64, 100);
  EXPECT_FALSE(w.next_timeout(100).has_value());
  w.add(100, milliseconds(10), [] {});
  ASSERT_TRUE(w.next_timeout(100).has_value());
  EXPECT_EQ(*w.next_timeout(100), 10u);
  EXPECT_EQ(*w.next_timeout(105), 5u);
  EXPECT_EQ(*w.next_timeout(111), 0u);  // overdue: wake now
  w.advance(110);
  EXPECT_FALSE(w.next_timeout(110).has_value());
}

TEST(TimerWheel, ManyTimersReuseNodes) {
  timer_wheel w(milliseconds(1), 128, 0);
  std::uint64_t now = 0;
  int fired = 0;
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 100; ++i) w.add(now, milliseconds(1 + i % 7), [&] { ++fired; });
    now += 10;
    w.advance(now);
  }
  EXPECT_EQ(fired, 5000);
  EXPECT_TRUE(w.empty());
}

}  // namespace
// Random adds, cancels and advances on wheels of several sizes (fewer than 64 slots, not a
// power of two, many), against a plain list of deadlines: every timer fires on the first
// advance at or past its deadline (never early), cancelled ones never, and next_timeout() is a
// lower bound on the earliest deadline that is never later than it (so the loop never sleeps
// past a timer) and 0 once one is overdue.
TEST(TimerWheel, MatchesAPlainListOfDeadlines) {
  for (std::size_t slots : {8u, 100u, 4096u}) {
    timer_wheel w(milliseconds(1), slots, 0);
    std::uint64_t seed = 12345 + slots;
    auto rnd = [&](std::uint64_t n) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      return (seed >> 33) % n;
    };
    struct pending { timer_id id; std::uint64_t due; };
    std::vector<pending> live;
    std::vector<std::uint64_t> fired_at;  // by index
    std::vector<std::uint64_t> due_of;
    std::vector<bool> cancelled;
    std::uint64_t now = 0;
    for (int step = 0; step < 3000; ++step) {
      const auto op = rnd(10);
      if (op < 5) {
        const std::uint64_t delay = rnd(4) == 0 ? rnd(20000) : rnd(50);
        const std::size_t k = due_of.size();
        // A deadline on a tick already processed moves to the next one (never inline).
        due_of.push_back(std::max(now + delay, now + 1));
        fired_at.push_back(0);
        cancelled.push_back(false);
        const timer_id id = w.add(now, milliseconds(delay), [&, k] { fired_at[k] = now; });
        live.push_back({id, k});
      } else if (op < 6 && !live.empty()) {
        const std::size_t i = rnd(live.size());
        if (fired_at[live[i].due] == 0 && w.cancel(live[i].id)) cancelled[live[i].due] = true;
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        // The earliest deadline still pending, for the next_timeout check.
        std::uint64_t earliest = UINT64_MAX;
        for (std::size_t k = 0; k < due_of.size(); ++k) {
          if (fired_at[k] == 0 && !cancelled[k]) earliest = std::min(earliest, due_of[k]);
        }
        const auto nt = w.next_timeout(now);
        if (earliest == UINT64_MAX) {
          EXPECT_FALSE(nt.has_value());
        } else {
          ASSERT_TRUE(nt.has_value());
          EXPECT_LE(now + *nt, std::max(earliest, now)) << "slots " << slots << " step " << step;
          if (earliest <= now) {
            EXPECT_EQ(*nt, 0u);
          }
        }
        now += rnd(5) == 0 ? rnd(9000) : rnd(30);
        w.advance(now);
        for (std::size_t k = 0; k < due_of.size(); ++k) {
          if (cancelled[k]) {
            EXPECT_EQ(fired_at[k], 0u);
          } else if (due_of[k] <= now) {
            EXPECT_NE(fired_at[k], 0u) << "slots " << slots << " timer " << k << " due " << due_of[k] << " now " << now;
            EXPECT_GE(fired_at[k], due_of[k]);
          } else {
            EXPECT_EQ(fired_at[k], 0u) << "fired early";
          }
        }
      }
    }
  }
}

}  // namespace duplex::net
