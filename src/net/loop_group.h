// net::loop_group: N threads, each running one net::loop (ARCHITECTURE.md: one loop per core,
// each with its own SO_REUSEPORT listener; a connection never changes thread).
//
// Usage: construct, start(init) where init opens the listeners for loop i on that loop's
// thread, ... stop(). Graceful shutdown is the caller's sequence: post to each loop a task that
// closes its listeners and asks its streams to close, wait as long as wanted, then stop().
//
// Thread safety: start() and stop() from one controlling thread (not a loop thread). at(i)
// returns a loop whose thread-safe members (post, stop) may be used from anywhere.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "net/loop.h"

namespace duplex::net {

class loop_group {
 public:
  using init_fn = std::function<void(loop&, std::size_t index)>;

  // threads == 0: std::thread::hardware_concurrency() (at least 1).
  explicit loop_group(std::size_t threads = 0, const loop_options& opts = {});
  ~loop_group();  // stop()
  loop_group(const loop_group&) = delete;
  loop_group& operator=(const loop_group&) = delete;

  // Starts the threads. init(loop, i) runs on loop i's thread before it serves anything; the
  // inits run one after another in index order (so loop 0 may bind port 0 and the others
  // reuse the port it got), and start() returns once all of them finished.
  void start(init_fn init);
  // Stops every loop and joins the threads. Idempotent. Streams still open are closed
  // without callbacks when the group is destroyed.
  void stop();

  loop& at(std::size_t i) { return *loops_.at(i); }
  std::size_t size() const noexcept { return loops_.size(); }
  bool running() const noexcept { return !threads_.empty(); }

 private:
  std::vector<std::unique_ptr<loop>> loops_;
  std::vector<std::thread> threads_;
};

}  // namespace duplex::net
