#include "support/manual_executor.h"

#include <condition_variable>
#include <utility>

namespace duplex::test {

manual_executor::manual_executor() : owner_(std::this_thread::get_id()) {}

void manual_executor::post(task fn) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(fn));
  }
  cv_.notify_one();
}

timer_id manual_executor::run_after(std::chrono::milliseconds after, task fn) {
  const timer_id id = next_timer_++;
  const std::uint64_t at = now_ms_ + static_cast<std::uint64_t>(after.count());
  timers_.emplace(std::make_pair(at, id), std::move(fn));
  deadlines_.emplace(id, at);
  return id;
}

void manual_executor::cancel(timer_id id) {
  auto it = deadlines_.find(id);
  if (it == deadlines_.end()) return;
  timers_.erase({it->second, id});
  deadlines_.erase(it);
}

bool manual_executor::in_thread() const {
  std::lock_guard lock(mu_);
  return owner_ == std::this_thread::get_id();
}

void manual_executor::bind_to_this_thread() {
  std::lock_guard lock(mu_);
  owner_ = std::this_thread::get_id();
}

std::size_t manual_executor::run_pending() {
  bind_to_this_thread();
  std::size_t ran = 0;
  for (;;) {
    task fn;
    {
      std::lock_guard lock(mu_);
      if (queue_.empty()) return ran;
      fn = std::move(queue_.front());
      queue_.pop_front();
    }
    fn();
    ++ran;
  }
}

bool manual_executor::run_until(const std::function<bool()>& pred,
                                std::chrono::milliseconds timeout) {
  bind_to_this_thread();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    run_pending();
    if (pred()) return true;
    std::unique_lock lock(mu_);
    if (!cv_.wait_until(lock, deadline, [&] { return !queue_.empty(); })) {
      lock.unlock();
      return pred();
    }
  }
}

void manual_executor::advance(std::chrono::milliseconds by) {
  bind_to_this_thread();
  const std::uint64_t target = now_ms_ + static_cast<std::uint64_t>(by.count());
  run_pending();
  while (!timers_.empty() && timers_.begin()->first.first <= target) {
    auto node = timers_.extract(timers_.begin());
    deadlines_.erase(node.key().second);
    now_ms_ = node.key().first;
    node.mapped()();
    run_pending();
  }
  now_ms_ = target;
  run_pending();
}

std::size_t manual_executor::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

}  // namespace duplex::test
