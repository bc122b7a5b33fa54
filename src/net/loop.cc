#include "net/loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "base/assert.h"
#include "base/prefetch.h"
#include "base/clock.h"
#include "net/stream.h"

namespace duplex::net {
namespace {

thread_local loop* current_loop = nullptr;

std::uint32_t to_epoll(unsigned ev) noexcept {
  std::uint32_t e = 0;
  if (ev & loop::ev_read) e |= EPOLLIN;
  if (ev & loop::ev_write) e |= EPOLLOUT;
  return e;
}

unsigned from_epoll(std::uint32_t e) noexcept {
  unsigned ev = 0;
  if (e & EPOLLIN) ev |= loop::ev_read;
  if (e & EPOLLOUT) ev |= loop::ev_write;
  if (e & EPOLLERR) ev |= loop::ev_error;
  if (e & EPOLLHUP) ev |= loop::ev_hangup;
  return ev;
}

}  // namespace

loop::loop() : loop(loop_options{}) {}

loop::loop(const loop_options& opts)
    : opts_(opts),
      owner_(std::this_thread::get_id()),
      wheel_(opts.timer_tick, opts.timer_slots, clock::now_ms()),
      now_ms_(clock::now_ms()),
      recv_buf_(std::make_unique_for_overwrite<std::byte[]>(opts.recv_buffer_size + recv_padding)) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    // Out of descriptors at start-up: nothing sensible can run without a reactor.
    spdlog::critical("net::loop: epoll/eventfd creation failed: {}", std::strerror(errno));
    DUPLEX_ASSERT(epoll_fd_ >= 0 && wake_fd_ >= 0);
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // nullptr marks the wake-up eventfd
  DUPLEX_ASSERT(::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev) == 0);
  flush_list_.reserve(64);
  reap_list_.reserve(16);
}

loop::~loop() {
  while (streams_) destroy(streams_);
  while (lingering_) destroy(lingering_);
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

loop* loop::current() noexcept { return current_loop; }

bool loop::in_thread() const { return owner_.load(std::memory_order_relaxed) == std::this_thread::get_id(); }

void loop::post(task fn) {
  bool wake;
  {
    std::lock_guard lock(post_mu_);
    wake = posted_.empty();
    posted_.push_back(std::move(fn));
    has_posted_.store(true, std::memory_order_relaxed);
  }
  // Only the first post after a drain needs to wake the loop; later ones find it awake.
  if (wake) {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto r = ::write(wake_fd_, &one, sizeof one);
  }
}

timer_id loop::run_after(std::chrono::milliseconds after, task fn) {
  DUPLEX_ASSERT(in_thread());  // the wheel has no lock: post() to reach a loop from outside
  return wheel_.add(clock::now_ms(), after, std::move(fn));
}

void loop::cancel(timer_id id) {
  DUPLEX_ASSERT(in_thread());
  wheel_.cancel(id);
}

void loop::stop() noexcept {
  stop_.store(true, std::memory_order_release);
  const std::uint64_t one = 1;
  [[maybe_unused]] auto r = ::write(wake_fd_, &one, sizeof one);
}

bool loop::watch(int fd, unsigned events, detail::io_source* src) noexcept {
  epoll_event ev{};
  ev.events = to_epoll(events);
  ev.data.ptr = src;
  return ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool loop::rewatch(int fd, unsigned events, detail::io_source* src) noexcept {
  epoll_event ev{};
  ev.events = to_epoll(events);
  ev.data.ptr = src;
  return ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev) == 0;
}

void loop::unwatch(int fd) noexcept { ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr); }

std::unique_ptr<output_queue> loop::take_queue() {
  if (queue_pool_.empty()) return std::make_unique<output_queue>();
  auto q = std::move(queue_pool_.back());
  queue_pool_.pop_back();
  return q;
}

void loop::give_queue(std::unique_ptr<output_queue> q) noexcept {
  // Keep enough for the streams active in a turn; idle streams hold none.
  if (queue_pool_.size() < 1024) queue_pool_.push_back(std::move(q));
}

stream* loop::adopt(std::unique_ptr<stream> s) noexcept {
  stream* p = s.release();  // owned through the intrusive list until destroy()
  p->next_ = streams_;
  if (streams_) streams_->prev_ = p;
  streams_ = p;
  ++stream_count_;
  return p;
}

void loop::for_each_stream(const std::function<void(stream&)>& fn) {
  for (stream* s = streams_; s != nullptr;) {
    stream* next = s->next_;
    fn(*s);
    s = next;
  }
}

void loop::unlink(stream* s) noexcept {
  const bool lingering = s->flags_ & stream::f_lingering;
  stream*& head = lingering ? lingering_ : streams_;
  if (s->prev_) s->prev_->next_ = s->next_; else head = s->next_;
  if (s->next_) s->next_->prev_ = s->prev_;
  else if (lingering) lingering_tail_ = s->prev_;
  s->prev_ = s->next_ = nullptr;
}

void loop::destroy(stream* s) noexcept {
  unlink(s);
  --stream_count_;
  if (s->flags_ & stream::f_in_flush) {
    for (auto& f : flush_list_) {
      if (f == s) f = nullptr;
    }
  }
  std::unique_ptr<stream> owned(s);
}

void loop::begin_linger(stream* s) noexcept {
  unlink(s);
  s->flags_ |= stream::f_lingering;
  const auto linger = std::min(opts_.close_linger, loop_options::max_close_linger);
  // clock::now_ms() is monotonic, so appending keeps the list in deadline order.
  s->linger_deadline_ = static_cast<std::uint16_t>(clock::now_ms() + linger.count());
  s->prev_ = lingering_tail_;
  if (lingering_tail_) lingering_tail_->next_ = s; else lingering_ = s;
  lingering_tail_ = s;
  if (linger_timer_ == 0) arm_linger_timer(linger);
}

void loop::end_linger(stream* s) noexcept {
  unlink(s);
  s->flags_ &= ~stream::f_lingering;
  // The timer stays armed even if the list is now empty: it finds nothing and stops.
  s->next_ = streams_;
  if (streams_) streams_->prev_ = s;
  streams_ = s;
}

void loop::arm_linger_timer(std::chrono::milliseconds after) {
  linger_timer_ = run_after(after, [this] { sweep_linger(); });
}

void loop::sweep_linger() {
  linger_timer_ = 0;
  const auto now = static_cast<std::uint16_t>(now_ms_);
  while (lingering_) {
    // Exact because deadlines are at most max_close_linger (< 2^15 ms) ahead of now; more
    // than that means the deadline passed long ago (the loop was not run for a while).
    const auto left = static_cast<std::int16_t>(
        static_cast<std::uint16_t>(lingering_->linger_deadline_ - now));
    if (left > 0 && left <= loop_options::max_close_linger.count()) {
      arm_linger_timer(std::chrono::milliseconds(left));
      return;
    }
    lingering_->fail({});  // the peer never sent EOF: close anyway; this unlinks it
  }
}

void loop::schedule_flush(stream* s) { flush_list_.push_back(s); }

void loop::schedule_reap(stream* s, std::error_code ec) { reap_list_.emplace_back(s, ec); }

void loop::run_posted() {
  if (!has_posted_.load(std::memory_order_relaxed)) return;
  {
    std::lock_guard lock(post_mu_);
    draining_.swap(posted_);
    has_posted_.store(false, std::memory_order_relaxed);
  }
  std::uint64_t drained;
  [[maybe_unused]] auto r = ::read(wake_fd_, &drained, sizeof drained);
  for (auto& fn : draining_) fn();
  draining_.clear();
}

void loop::flush_pending() {
  // Index loop: a flush may run on_drain (or TLS on_data) callbacks that write to streams not
  // yet flushed this turn, which appends here; those go out in this same pass.
  // With thousands of streams to flush (a fan-out) each is cold: a prefetch pipeline, one
  // pointer hop per stage (stream::prefetch_for_flush), overlaps their cache misses.
  for (std::size_t i = 0; i < flush_list_.size(); ++i) {
    prefetch_pipeline(flush_list_, i, 2, 3, [](const stream* s, unsigned k) {
      if (s != nullptr) s->prefetch_for_flush(k);
    });
    stream* s = flush_list_[i];
    if (!s) continue;
    s->flags_ &= ~stream::f_in_flush;
    flush_list_[i] = nullptr;
    s->flush(stream::flush_reason::turn_end);
  }
  flush_list_.clear();
}

void loop::reap_closed() {
  if (reap_list_.empty()) return;
  // on_close may close other streams (appended here) or write to live ones (flushed next turn).
  for (std::size_t i = 0; i < reap_list_.size(); ++i) {
    auto [s, ec] = reap_list_[i];
    ++stats_.closed;
    if (stream_handler* h = s->handler_) h->on_close(*s, ec);
  }
  for (auto& [s, ec] : reap_list_) destroy(s);
  reap_list_.clear();
}

int loop::compute_timeout() noexcept {
  if (has_posted_.load(std::memory_order_relaxed) || !flush_list_.empty() || !reap_list_.empty())
    return 0;
  auto next = wheel_.next_timeout(clock::now_ms());
  if (!next) return -1;
  return static_cast<int>(std::min<std::uint64_t>(*next, INT_MAX));
}

void loop::run() {
  owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  loop* const outer = current_loop;
  current_loop = this;
  constexpr int max_events = 256;
  epoll_event events[max_events];
  for (;;) {
    run_posted();
    flush_pending();
    reap_closed();
    if (stop_.load(std::memory_order_acquire)) break;
    const int n = ::epoll_wait(epoll_fd_, events, max_events, compute_timeout());
    now_ms_ = clock::now_ms();
    ++stats_.turns;
    for (int i = 0; i < n; ++i) {
      auto* src = static_cast<detail::io_source*>(events[i].data.ptr);
      if (!src) {
        std::uint64_t drained;
        [[maybe_unused]] auto r = ::read(wake_fd_, &drained, sizeof drained);
        continue;
      }
      src->on_io(from_epoll(events[i].events));
    }
    wheel_.advance(now_ms_);
  }
  stop_.store(false, std::memory_order_relaxed);
  current_loop = outer;
}

}  // namespace duplex::net
