#include "net/loop_group.h"

#include <algorithm>
#include <future>

namespace duplex::net {

loop_group::loop_group(std::size_t threads, const loop_options& opts) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  loops_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) loops_.push_back(std::make_unique<loop>(opts));
}

loop_group::~loop_group() { stop(); }

void loop_group::start(init_fn init) {
  if (!threads_.empty()) return;
  threads_.reserve(loops_.size());
  for (std::size_t i = 0; i < loops_.size(); ++i) {
    std::promise<void> ready;
    auto done = ready.get_future();
    loop* l = loops_[i].get();
    // init is posted, so it runs inside run() on the loop's own thread (in_thread() is true,
    // loop::current() is set), before the first epoll_wait.
    l->post([l, i, &init, &ready] {
      if (init) init(*l, i);
      ready.set_value();
    });
    threads_.emplace_back([l] { l->run(); });
    done.wait();
  }
}

void loop_group::stop() {
  for (auto& l : loops_) l->stop();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

}  // namespace duplex::net
