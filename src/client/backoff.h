// Reconnect delays: exponential backoff with full jitter (the "Full Jitter" strategy the
// Centrifugo SDK spec asks for): attempt n waits a uniformly random time in
// [min, min(max, min * 2^n)], so that many clients dropped at once do not come back at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace duplex::sdk {

class backoff {
 public:
  backoff(std::chrono::milliseconds min, std::chrono::milliseconds max, std::uint64_t seed);

  // The delay before the next attempt; each call counts one more attempt.
  std::chrono::milliseconds next();
  // After a stable connection: the next delay starts again from the smallest range.
  void reset() noexcept { attempt_ = 0; }
  unsigned attempt() const noexcept { return attempt_; }

  // Upper bound of attempt n's range: min(max, min * 2^n), never below min.
  std::chrono::milliseconds ceiling(unsigned n) const noexcept;

 private:
  std::chrono::milliseconds min_, max_;
  unsigned attempt_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace duplex::sdk
