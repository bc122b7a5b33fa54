// timer_wheel: a hashed timing wheel for coarse timeouts (STYLE.md rule 20).
//
// Time is passed in by the caller (milliseconds from any monotonic origin), so the wheel is
// deterministic and tested with a fake clock; net::loop feeds it clock::now_ms().
//
// Cost: add() and cancel() are O(1) (a slot list push / unlink; the node storage is a pooled
// vector with a free list, so steady-state timers allocate nothing beyond the std::function).
// A timer further away than slots*tick stays in its slot and is skipped `rounds` times.
// A bitmap of occupied slots makes next_timeout() and advance() skip empty slots 64 at a time
// (the loop asks next_timeout() on every turn; a linear scan of 4,096 slots cost a third of a
// Socket.IO server's instructions at a low message rate). Slots are rounded up to a power of
// two, so a tick's slot is a mask, not a division.
//
// Semantics: a timer added at time t with delay d fires on the first advance(now) with
// now >= t + d, rounded up to the tick. Timers due on the same tick fire in insertion order.
//
// Thread safety: none; one wheel belongs to one loop thread. Re-entrancy: callbacks run from
// advance() may add() and cancel() freely (including cancelling timers due on the same tick);
// they must not call advance().
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "base/executor.h"

namespace duplex::net {

class timer_wheel {
 public:
  using task = std::function<void()>;

  // tick: granularity (>= 1 ms). slots: wheel size; the horizon before timers take extra
  // rounds is slots*tick. start_ms: the current time.
  explicit timer_wheel(std::chrono::milliseconds tick = std::chrono::milliseconds(1),
                       std::size_t slots = 4096, std::uint64_t start_ms = 0);

  timer_wheel(const timer_wheel&) = delete;
  timer_wheel& operator=(const timer_wheel&) = delete;

  // Schedules fn to run after `after` (negative is treated as 0). Never returns 0.
  timer_id add(std::uint64_t now_ms, std::chrono::milliseconds after, task fn);

  // Cancels a pending timer; returns false for a fired, cancelled or unknown id.
  bool cancel(timer_id id) noexcept;

  // Runs every timer due at now_ms. Returns how many fired.
  std::size_t advance(std::uint64_t now_ms);

  // Milliseconds from now_ms until the next non-empty slot is due (a lower bound on the next
  // firing; 0 when something is already due), or nullopt when no timer is pending.
  std::optional<std::uint64_t> next_timeout(std::uint64_t now_ms) const noexcept;

  std::size_t size() const noexcept { return live_; }
  bool empty() const noexcept { return live_ == 0; }

 private:
  static constexpr std::uint32_t npos = 0xffffffffu;
  struct node {
    task fn;
    std::uint64_t due_tick = 0;
    std::uint32_t prev = npos;
    std::uint32_t next = npos;
    std::uint32_t generation = 0;
    bool active = false;
  };
  struct slot {
    std::uint32_t head = npos;
    std::uint32_t tail = npos;
  };

  std::uint64_t tick_of(std::uint64_t ms) const noexcept { return ms / tick_ms_; }
  void link(std::uint32_t index) noexcept;
  void unlink(std::uint32_t index) noexcept;
  void release(std::uint32_t index) noexcept;
  void collect_due(std::size_t slot_index, std::uint64_t upto_tick);
  // The first tick in [from, from + count) whose slot holds a timer, or nullopt.
  std::optional<std::uint64_t> first_occupied(std::uint64_t from, std::uint64_t count) const noexcept;
  std::size_t slot_of(std::uint64_t tick) const noexcept { return static_cast<std::size_t>(tick & mask_); }

  std::uint64_t tick_ms_;
  std::uint64_t current_tick_;  // every tick <= this has been processed
  std::vector<slot> slots_;
  std::uint64_t mask_;                   // slots_.size() - 1 (a power of two)
  std::vector<std::uint64_t> occupied_;  // bit i: slots_[i] is not empty
  std::vector<node> nodes_;
  std::vector<std::uint32_t> free_;
  std::vector<task> due_;  // reused between advance() calls: no allocation per firing
  std::size_t live_ = 0;
};

}  // namespace duplex::net
