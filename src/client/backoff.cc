#include "client/backoff.h"

#include <algorithm>

namespace duplex::sdk {

backoff::backoff(std::chrono::milliseconds min, std::chrono::milliseconds max, std::uint64_t seed)
    : min_(std::max(min, std::chrono::milliseconds(1))), max_(std::max(max, min_)), rng_(seed) {}

std::chrono::milliseconds backoff::ceiling(unsigned n) const noexcept {
  // min * 2^n without overflow: stop doubling once past max.
  std::int64_t c = min_.count();
  for (unsigned i = 0; i < n && c < max_.count(); ++i) c *= 2;
  return std::chrono::milliseconds(std::min<std::int64_t>(c, max_.count()));
}

std::chrono::milliseconds backoff::next() {
  const auto hi = ceiling(attempt_);
  if (attempt_ < 64) ++attempt_;
  std::uniform_int_distribution<std::int64_t> d(min_.count(), hi.count());
  return std::chrono::milliseconds(d(rng_));
}

}  // namespace duplex::sdk
