// latency_histogram: log-linear histogram of nanosecond durations (64 sub-buckets per power of
// two, so any reported quantile is within 1.6% of the true value). Recording is one bit scan
// and one increment: cheap enough to run once per echoed message.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace duplex::bench {

class latency_histogram {
 public:
  void record(std::uint64_t ns) noexcept {
    ++counts_[index_of(ns)];
    ++total_;
  }
  std::uint64_t count() const noexcept { return total_; }
  void clear() noexcept {
    counts_.fill(0);
    total_ = 0;
  }
  // Upper bound of the bucket holding the q-quantile (0 < q <= 1); 0 when empty.
  std::uint64_t quantile(double q) const noexcept;

 private:
  static constexpr unsigned sub_bits = 6;  // 64 sub-buckets
  static constexpr unsigned sub_count = 1u << sub_bits;
  static constexpr unsigned max_exponent = 40;  // ~18 minutes in ns: more is clamped

  static unsigned index_of(std::uint64_t ns) noexcept {
    if (ns < sub_count) return static_cast<unsigned>(ns);
    unsigned exp = static_cast<unsigned>(std::bit_width(ns)) - sub_bits;  // >= 1
    if (exp > max_exponent) return (max_exponent + 1) * sub_count - 1;
    unsigned sub = static_cast<unsigned>(ns >> (exp - 1)) - sub_count;  // in [0, 64)
    return exp * sub_count + sub;
  }
  static std::uint64_t upper_of(unsigned index) noexcept {
    unsigned exp = index / sub_count, sub = index % sub_count;
    if (exp == 0) return sub;
    return ((std::uint64_t{sub_count} + sub + 1) << (exp - 1)) - 1;
  }

  std::array<std::uint64_t, (max_exponent + 1) * sub_count> counts_{};
  std::uint64_t total_ = 0;
};

inline std::uint64_t latency_histogram::quantile(double q) const noexcept {
  if (total_ == 0) return 0;
  auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total_));
  if (rank == 0) rank = 1;
  std::uint64_t seen = 0;
  for (unsigned i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) return upper_of(i);
  }
  return upper_of(static_cast<unsigned>(counts_.size() - 1));
}

}  // namespace duplex::bench
