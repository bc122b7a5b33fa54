#include "net/timer_wheel.h"

#include <algorithm>
#include <bit>
#include <utility>

#include "base/assert.h"

namespace duplex::net {

timer_wheel::timer_wheel(std::chrono::milliseconds tick, std::size_t slots, std::uint64_t start_ms)
    : tick_ms_(static_cast<std::uint64_t>(std::max<std::int64_t>(1, tick.count()))),
      current_tick_(start_ms / tick_ms_),
      slots_(std::bit_ceil(std::max<std::size_t>(1, slots))),
      mask_(slots_.size() - 1),
      occupied_((slots_.size() + 63) / 64, 0) {}

timer_id timer_wheel::add(std::uint64_t now_ms, std::chrono::milliseconds after, task fn) {
  std::uint32_t index;
  if (!free_.empty()) {
    index = free_.back();
    free_.pop_back();
  } else {
    DUPLEX_ASSERT(nodes_.size() < npos - 1);
    index = static_cast<std::uint32_t>(nodes_.size());
    nodes_.emplace_back();
  }
  node& n = nodes_[index];
  const std::uint64_t delay = static_cast<std::uint64_t>(std::max<std::int64_t>(0, after.count()));
  // Round the deadline up to a tick so a timer never fires early; and never on a tick that
  // has already been processed, or it would wait a whole revolution.
  const std::uint64_t due = (now_ms + delay + tick_ms_ - 1) / tick_ms_;
  n.due_tick = std::max(due, current_tick_ + 1);
  n.fn = std::move(fn);
  n.active = true;
  link(index);
  ++live_;
  return (static_cast<timer_id>(n.generation) << 32) | (index + 1);
}

bool timer_wheel::cancel(timer_id id) noexcept {
  const std::uint64_t low = id & 0xffffffffu;
  if (low == 0 || low > nodes_.size()) return false;
  const auto index = static_cast<std::uint32_t>(low - 1);
  node& n = nodes_[index];
  if (!n.active || n.generation != static_cast<std::uint32_t>(id >> 32)) return false;
  unlink(index);
  n.fn = nullptr;
  release(index);
  return true;
}

void timer_wheel::link(std::uint32_t index) noexcept {
  node& n = nodes_[index];
  const std::size_t si = slot_of(n.due_tick);
  slot& s = slots_[si];
  if (s.head == npos) occupied_[si >> 6] |= std::uint64_t{1} << (si & 63);
  n.prev = s.tail;
  n.next = npos;
  if (s.tail != npos) nodes_[s.tail].next = index; else s.head = index;
  s.tail = index;
}

void timer_wheel::unlink(std::uint32_t index) noexcept {
  node& n = nodes_[index];
  const std::size_t si = slot_of(n.due_tick);
  slot& s = slots_[si];
  if (n.prev != npos) nodes_[n.prev].next = n.next; else s.head = n.next;
  if (n.next != npos) nodes_[n.next].prev = n.prev; else s.tail = n.prev;
  n.prev = n.next = npos;
  if (s.head == npos) occupied_[si >> 6] &= ~(std::uint64_t{1} << (si & 63));
}

void timer_wheel::release(std::uint32_t index) noexcept {
  node& n = nodes_[index];
  n.active = false;
  ++n.generation;  // stale ids for this node no longer match
  --live_;
  free_.push_back(index);  // capacity reached by earlier pushes, or grows rarely
}

void timer_wheel::collect_due(std::size_t slot_index, std::uint64_t upto_tick) {
  std::uint32_t i = slots_[slot_index].head;
  while (i != npos) {
    const std::uint32_t next = nodes_[i].next;
    if (nodes_[i].due_tick <= upto_tick) {
      unlink(i);
      due_.push_back(std::move(nodes_[i].fn));
      nodes_[i].fn = nullptr;
      release(i);
    }
    i = next;
  }
}

std::size_t timer_wheel::advance(std::uint64_t now_ms) {
  const std::uint64_t now_tick = tick_of(now_ms);
  if (now_tick <= current_tick_) return 0;
  // Gather first, then run: callbacks may add or cancel timers, which touches the lists.
  if (live_ != 0) {
    // Each occupied slot of the elapsed ticks once (at most one revolution).
    const std::uint64_t span = std::min<std::uint64_t>(now_tick - current_tick_, slots_.size());
    const std::uint64_t end = current_tick_ + 1 + span;
    for (std::uint64_t t = current_tick_ + 1; t < end;) {
      const std::optional<std::uint64_t> hit = first_occupied(t, end - t);
      if (!hit) break;
      collect_due(slot_of(*hit), now_tick);
      t = *hit + 1;
    }
  }
  current_tick_ = now_tick;
  const std::size_t fired = due_.size();
  // Index loop, and swap out first: a callback may not advance(), but it may add timers, and
  // we keep due_'s capacity for the next turn.
  std::vector<task> run;
  run.swap(due_);
  for (auto& fn : run) {
    if (fn) fn();
  }
  run.clear();
  if (due_.empty()) due_.swap(run);
  return fired;
}

std::optional<std::uint64_t> timer_wheel::next_timeout(std::uint64_t now_ms) const noexcept {
  if (live_ == 0) return std::nullopt;
  const std::uint64_t now_tick = tick_of(now_ms);
  // The first occupied slot within one revolution. A timer in that slot may belong to a later
  // round; the loop then wakes early and asks again, which is harmless.
  const std::optional<std::uint64_t> t = first_occupied(current_tick_ + 1, slots_.size());
  if (!t) return std::nullopt;  // unreachable while live_ != 0
  if (*t <= now_tick) return 0;
  return *t * tick_ms_ - now_ms;
}

std::optional<std::uint64_t> timer_wheel::first_occupied(std::uint64_t from,
                                                         std::uint64_t count) const noexcept {
  const std::uint64_t end = from + count;
  for (std::uint64_t t = from; t < end;) {
    const std::size_t si = slot_of(t);
    const unsigned bit = static_cast<unsigned>(si & 63);
    const std::uint64_t word = occupied_[si >> 6] >> bit;  // this slot and the word's later ones
    if (word != 0) {
      const std::uint64_t hit = t + static_cast<std::uint64_t>(std::countr_zero(word));
      return hit < end ? std::optional<std::uint64_t>(hit) : std::nullopt;
    }
    // On to the next word, or to slot 0 when the wheel (fewer than 64 slots) ends first.
    t += std::min<std::uint64_t>(64 - bit, slots_.size() - si);
  }
  return std::nullopt;
}

}  // namespace duplex::net
