// manual_executor: an `executor` driven by hand, for tests of code that reaches threads and
// timers only through duplex::executor (hub, sessions).
//
// Tasks posted from any thread queue up; they run only inside run_pending() / run_until() /
// advance(), on the thread that calls them (that thread becomes the executor's thread for
// in_thread()). Timers use a fake clock that moves only through advance(), so TTL and timeout
// tests are deterministic and never sleep.
//
// Thread safety: post() may be called from any thread. run_*(), advance(), run_after(),
// cancel() and now() belong to the one thread that drives the executor.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "base/executor.h"

namespace duplex::test {

class manual_executor final : public executor {
 public:
  manual_executor();

  void post(task fn) override;
  timer_id run_after(std::chrono::milliseconds after, task fn) override;
  void cancel(timer_id id) override;
  bool in_thread() const override;

  // Makes the calling thread this executor's thread (run_* do this too).
  void bind_to_this_thread();

  // Runs the tasks queued so far and those they post, until the queue is empty. Returns how
  // many ran.
  std::size_t run_pending();

  // Runs queued tasks until pred() holds or `timeout` of real time passes, waiting on posts
  // from other threads in between (no busy sleep). Returns pred().
  bool run_until(const std::function<bool()>& pred,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Moves the fake clock forward, firing due timers in deadline order, then runs pending posts.
  void advance(std::chrono::milliseconds by);
  std::uint64_t now_ms() const noexcept { return now_ms_; }

  std::size_t queued() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<task> queue_;
  std::map<std::pair<std::uint64_t, timer_id>, task> timers_;  // (deadline, id) -> fn
  std::map<timer_id, std::uint64_t> deadlines_;
  timer_id next_timer_ = 1;
  std::uint64_t now_ms_ = 0;
  std::thread::id owner_;
};

}  // namespace duplex::test
