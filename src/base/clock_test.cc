#include "base/clock.h"

#include <gtest/gtest.h>

#include <thread>

namespace duplex::clock {
namespace {

TEST(Clock, MonotonicAndConsistentUnits) {
  const auto ms0 = now_ms();
  const auto us0 = now_us();
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  const auto ms1 = now_ms();
  const auto us1 = now_us();
  EXPECT_GE(ms1 - ms0, 3u);
  EXPECT_GE(us1 - us0, 3000u);
  EXPECT_LT(us1 - us0, 5'000'000u);
  // Same origin: microseconds / 1000 track milliseconds.
  EXPECT_LE(us0 / 1000, ms1);
  EXPECT_GE(us1 / 1000, ms0);
}

}  // namespace
}  // namespace duplex::clock
