// A small Prometheus registry: counters, gauges and fixed-bucket histograms, rendered in the
// text exposition format (version 0.0.4) for GET /metrics. No external library.
//
// Threading contract (the point of this file):
// - Every metric value is sharded: one slot per loop thread plus one shared slot. A loop thread
//   calls metrics_registry::bind_thread(i) once at start (i = its loop index, < shards()); from
//   then on its updates touch only slot i with a relaxed load and store (no locked instruction,
//   no contended cache line: each shard's slots sit on their own cache lines). At most one
//   thread may be bound to a given index at a time.
// - A thread that is not bound (main thread, a helper) updates the shared slot with an atomic
//   fetch_add: always correct, slower under contention.
// - render() may run on any thread at any time; it sums the slots with relaxed loads. A scrape
//   sees each slot's latest value or a slightly older one; a histogram's _count always equals
//   its +Inf bucket (both are computed from the same bucket reads), its _sum may lag by the
//   observations in flight.
// - Registration (counter(), gauge(), histogram(), gauge_fn()) is NOT thread-safe: register
//   everything before loop threads start. Returned references stay valid for the registry's
//   life.
// Names and label names that break the exposition grammar, and duplicate series, are
// programming errors and abort (DUPLEX_ASSERT); they never come from network input.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace duplex::service {

// Label name/value pairs of one series, in the order they are rendered. Fixed at registration.
using metric_labels = std::vector<std::pair<std::string, std::string>>;

namespace detail {

// The calling thread's shard index (bind_thread); SIZE_MAX when unbound.
inline thread_local std::size_t bound_shard = static_cast<std::size_t>(-1);

// `values` uint64 slots for each of `shards` bound threads, plus one shared set.
class sharded_slots {
 public:
  sharded_slots(std::size_t shards, std::size_t values);

  void add(std::size_t i, std::uint64_t n) noexcept {
    std::size_t s = shard_for_this_thread();
    std::atomic<std::uint64_t>& a = slot(s, i);
    if (s < shards_) {
      a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    } else {
      a.fetch_add(n, std::memory_order_relaxed);
    }
  }
  // Sum over all shards (wraps modulo 2^64, so signed deltas sum correctly).
  std::uint64_t sum(std::size_t i) const noexcept;

 private:
  struct alignas(64) line {
    std::atomic<std::uint64_t> v[8];
  };
  std::size_t shard_for_this_thread() const noexcept {
    return bound_shard < shards_ ? bound_shard : shards_;
  }
  std::atomic<std::uint64_t>& slot(std::size_t shard, std::size_t i) const noexcept {
    return lines_[shard * lines_per_shard_ + i / 8].v[i % 8];
  }
  std::size_t shards_;
  std::size_t lines_per_shard_;
  std::unique_ptr<line[]> lines_;
};

}  // namespace detail

// Monotonic count. inc() is safe from any thread (see the contract above).
class counter {
 public:
  explicit counter(std::size_t shards) : slots_(shards, 1) {}
  void inc(std::uint64_t n = 1) noexcept { slots_.add(0, n); }
  std::uint64_t value() const noexcept { return slots_.sum(0); }

 private:
  detail::sharded_slots slots_;
};

// A value that goes up and down, e.g. open connections: each thread adds its own deltas, the
// scrape shows the sum. (There is no set(): a sharded gauge has no single value to overwrite;
// use gauge_fn for values owned elsewhere.)
class gauge {
 public:
  explicit gauge(std::size_t shards) : slots_(shards, 1) {}
  void add(std::int64_t d) noexcept { slots_.add(0, static_cast<std::uint64_t>(d)); }
  void inc() noexcept { add(1); }
  void dec() noexcept { add(-1); }
  std::int64_t value() const noexcept { return static_cast<std::int64_t>(slots_.sum(0)); }

 private:
  detail::sharded_slots slots_;
};

// Distribution over fixed buckets. Observations are integers in a unit chosen by the caller
// (e.g. microseconds); `unit_divisor` converts to the metric's base unit when rendering
// (1'000'000 for microseconds to seconds, as Prometheus names like *_seconds expect).
class histogram {
 public:
  // `upper_bounds` strictly ascending, in observation units; +Inf is implicit.
  histogram(std::size_t shards, std::vector<std::uint64_t> upper_bounds, std::uint64_t unit_divisor);
  // O(log buckets); the value lands in the first bucket whose bound is >= v (Prometheus `le`).
  void observe(std::uint64_t v) noexcept;

  const std::vector<std::uint64_t>& upper_bounds() const noexcept { return bounds_; }
  std::uint64_t unit_divisor() const noexcept { return divisor_; }
  // Per-bucket (not cumulative) counts, the last one for +Inf; and the sum, in observation units.
  std::vector<std::uint64_t> bucket_counts() const;
  std::uint64_t sum() const noexcept { return slots_.sum(bounds_.size() + 1); }

 private:
  std::vector<std::uint64_t> bounds_;
  std::uint64_t divisor_;
  detail::sharded_slots slots_;  // [0, n]: buckets (n = +Inf), n + 1: sum
};

class metrics_registry {
 public:
  // `shards`: the number of loop threads that will bind_thread() (indices 0 .. shards-1).
  explicit metrics_registry(std::size_t shards);
  ~metrics_registry();
  metrics_registry(const metrics_registry&) = delete;
  metrics_registry& operator=(const metrics_registry&) = delete;

  // Binds the calling thread to shard `index` for every registry (indices are loop indices,
  // shared by all registries). A registry with fewer shards treats it as unbound. Call with
  // SIZE_MAX to unbind (e.g. before the loop thread exits and its index is reused).
  static void bind_thread(std::size_t index) noexcept;

  // Registers one series. Calling again with the same name and other labels adds a series to
  // the same family (help and type must match); the same name and labels twice aborts.
  counter& add_counter(std::string_view name, std::string_view help, metric_labels labels = {});
  gauge& add_gauge(std::string_view name, std::string_view help, metric_labels labels = {});
  histogram& add_histogram(std::string_view name, std::string_view help,
                           std::vector<std::uint64_t> upper_bounds, std::uint64_t unit_divisor = 1,
                           metric_labels labels = {});
  // A gauge read at scrape time, on the scraping thread: `read` must be safe to call from there.
  void add_gauge_fn(std::string_view name, std::string_view help, std::function<double()> read,
                    metric_labels labels = {});

  // A counter read at scrape time (a monotonic value owned elsewhere, e.g. relaxed atomics of
  // another layer); same rules as add_gauge_fn.
  void add_counter_fn(std::string_view name, std::string_view help, std::function<double()> read,
                      metric_labels labels = {});
  // Appends the exposition text of every family, in registration order, to `out`.
  void render(std::string& out) const;

  std::size_t shards() const noexcept { return shards_; }

 private:
  struct family;
  struct series;
  series& add_series(std::string_view name, std::string_view help, int type, metric_labels labels);

  std::size_t shards_;
  std::vector<std::unique_ptr<family>> families_;
};

}  // namespace duplex::service
