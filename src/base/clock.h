// Monotonic time helpers. Timers, timeouts and rate measurements use these, never the wall
// clock, so that NTP steps cannot fire or starve them. Wall time (for logs, JWT expiry) is
// std::chrono::system_clock and is not wrapped here.
#pragma once

#include <chrono>
#include <cstdint>

namespace duplex::clock {

using steady = std::chrono::steady_clock;

// Milliseconds / microseconds since an unspecified fixed origin (the steady clock's epoch).
// Only differences are meaningful. Cheap: one vDSO clock_gettime(CLOCK_MONOTONIC).
inline std::uint64_t now_ms() noexcept {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(steady::now().time_since_epoch())
          .count());
}
inline std::uint64_t now_us() noexcept {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(steady::now().time_since_epoch())
          .count());
}

}  // namespace duplex::clock
