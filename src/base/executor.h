// executor: how code above base/ (the hub, sessions) reaches a thread and its timers without
// knowing about epoll. net::loop implements it; tests use a manual executor.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace duplex {

using timer_id = std::uint64_t;  // 0 is never a valid id

class executor {
 public:
  using task = std::function<void()>;
  virtual ~executor() = default;

  // Runs fn on this executor's thread, soon, in FIFO order with other posts. Safe to call from
  // any thread, including the executor's own (then fn runs on a later loop turn, never inline).
  virtual void post(task fn) = 0;

  // Runs fn once on this executor's thread after at least `after`. Call only from the
  // executor's own thread. Timers are coarse (see net::timer_wheel for the granularity).
  virtual timer_id run_after(std::chrono::milliseconds after, task fn) = 0;

  // Cancels a timer that has not fired yet; a fired or unknown id is ignored. Own thread only.
  virtual void cancel(timer_id id) = 0;

  // True when called from this executor's thread.
  virtual bool in_thread() const = 0;
};

}  // namespace duplex
