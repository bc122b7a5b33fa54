// backoff: full jitter within [min, min(max, min * 2^n)], growing ranges, reset.
#include "client/backoff.h"

#include <gtest/gtest.h>

namespace duplex::sdk {
namespace {

using std::chrono::milliseconds;

TEST(SdkBackoff, DelaysStayWithinGrowingCeilings) {
  backoff b(milliseconds(100), milliseconds(3000), 42);
  EXPECT_EQ(b.ceiling(0), milliseconds(100));
  EXPECT_EQ(b.ceiling(1), milliseconds(200));
  EXPECT_EQ(b.ceiling(4), milliseconds(1600));
  EXPECT_EQ(b.ceiling(5), milliseconds(3000));
  EXPECT_EQ(b.ceiling(200), milliseconds(3000));  // no overflow
  for (unsigned n = 0; n < 40; ++n) {
    auto d = b.next();
    EXPECT_GE(d, milliseconds(100));
    EXPECT_LE(d, b.ceiling(n));
  }
}

TEST(SdkBackoff, JitterSpreadsAndResetRestarts) {
  // Many clients at attempt 6 (ceiling 6400 ms) must not all pick the same delay.
  std::vector<std::int64_t> seen;
  for (std::uint64_t seed = 1; seed <= 50; ++seed) {
    backoff b(milliseconds(100), milliseconds(20000), seed);
    for (int i = 0; i < 6; ++i) b.next();
    seen.push_back(b.next().count());
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_GT(seen.back() - seen.front(), 1000);
  backoff b(milliseconds(100), milliseconds(20000), 7);
  for (int i = 0; i < 10; ++i) b.next();
  b.reset();
  EXPECT_EQ(b.attempt(), 0u);
  EXPECT_LE(b.next(), milliseconds(100));
}

}  // namespace
}  // namespace duplex::sdk
