// net::loop: one epoll reactor per thread (ARCHITECTURE.md "Threads and the hot path").
//
// A turn of the loop:
//   1. run posted tasks (from any thread, FIFO),
//   2. flush every stream with pending output: one writev per stream per turn (corking,
//      STYLE.md rule 18),
//   3. reap streams closed during the turn: on_close runs here, then the stream is destroyed,
//      never inside its own callbacks (STYLE.md rule 15),
//   4. epoll_wait (timeout 0 when steps 1-3 left work, else until the next timer),
//   5. dispatch I/O events, then run due timers.
//
// Receive path: every stream on the loop reads into one loop-wide buffer; handlers get a view
// into it, valid only during the callback (STYLE.md rules 16-17).
//
// Thread safety: post() and stop() may be called from any thread. Everything else, including
// every stream and listener on this loop, is used only on the loop's thread (in_thread()).
// A loop is not movable; it must outlive its streams and listeners. Streams still open when the
// loop is destroyed are closed without callbacks: close them first if handlers must know.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "base/executor.h"
#include "net/output_queue.h"
#include "net/timer_wheel.h"

namespace duplex::net {

class stream;
class listener;

namespace detail {
// Something registered with the loop's epoll set. Events use the loop::ev_* bits.
class io_source {
 public:
  virtual void on_io(unsigned events) = 0;

 protected:
  ~io_source() = default;
};
}  // namespace detail

struct loop_options {
  std::chrono::milliseconds timer_tick{1};  // timer granularity
  std::size_t timer_slots = 4096;           // wheel size (horizon = slots * tick)
  std::size_t recv_buffer_size = 512 * 1024;
  // A stream whose queued output reaches this many bytes is flushed at once rather than at
  // the end of the turn, bounding memory for a handler that writes a lot in one callback.
  std::size_t flush_threshold = 64 * 1024;
  // A stream whose on_data left at least this many bytes queued is flushed right after the
  // call instead of at the end of the turn: still one send for that read, but made while the
  // reply is hot in cache and before the next stream reuses the pooled chunks (deferring would
  // hold every stream's large reply at once: 100 streams x 40 KiB of echo overflow L2). Below
  // it, output waits for the end of the turn, where the rest of the turn's writes (fan-out to
  // this stream) join it in the same send. 0 disables.
  std::size_t flush_after_read = 16 * 1024;
  // How long stream::close() keeps reading (and discarding) after SHUT_WR, waiting for the
  // peer's EOF, before closing the fd anyway. 0 closes right after the shutdown. Capped at
  // max_close_linger.
  std::chrono::milliseconds close_linger{2000};
  static constexpr std::chrono::milliseconds max_close_linger{30000};
  // Bytes a lingering stream may read and discard per readiness event, so that one peer that
  // keeps sending cannot monopolise the loop (epoll is level-triggered: the rest waits for the
  // next turn).
  std::size_t close_linger_read_budget = 256 * 1024;
};

// Per-loop counters. Plain integers written only by the loop thread: read them on that thread,
// or after the loop stopped (no locks, no atomics on the hot path).
struct loop_stats {
  std::uint64_t accepted = 0;
  std::uint64_t accept_errors = 0;  // EMFILE/ENFILE/ENOBUFS/ENOMEM and other accept failures
  std::uint64_t connects = 0;       // outgoing connections established
  std::uint64_t connect_errors = 0;
  std::uint64_t closed = 0;  // streams whose on_close ran
  std::uint64_t tls_errors = 0;
  std::uint64_t bytes_in = 0;   // bytes read from sockets (ciphertext for TLS)
  std::uint64_t bytes_out = 0;  // bytes written to sockets
  std::uint64_t read_calls = 0;
  std::uint64_t writev_calls = 0;  // gathered writes (send/sendmsg), one per flush attempt
  std::uint64_t turns = 0;
};

class loop final : public executor {
 public:
  // Event bits passed to detail::io_source::on_io.
  static constexpr unsigned ev_read = 1, ev_write = 2, ev_error = 4, ev_hangup = 8;
  // Bytes after every view handed to on_data that may be read or written as scratch (e.g. by
  // word-at-a-time unmasking); never part of the data.
  static constexpr std::size_t recv_padding = 64;

  loop();
  explicit loop(const loop_options& opts);
  ~loop() override;
  loop(const loop&) = delete;
  loop& operator=(const loop&) = delete;

  // Runs turns on the calling thread until stop(). May be called again after it returns.
  void run();
  // Makes run() return after the current turn. Thread-safe; a stop() before run() makes the
  // next run() return after one turn.
  void stop() noexcept;

  // The loop running on this thread (inside run()), or nullptr.
  static loop* current() noexcept;

  // executor
  void post(task fn) override;
  timer_id run_after(std::chrono::milliseconds after, task fn) override;
  void cancel(timer_id id) override;
  bool in_thread() const override;

  const loop_stats& stats() const noexcept { return stats_; }
  std::size_t stream_count() const noexcept { return stream_count_; }
  // Calls fn for every stream the loop owns that is not in a lingering close (loop thread
  // only); fn may close or abort the stream it is given, not another.
  void for_each_stream(const std::function<void(stream&)>& fn);
  // Monotonic time sampled once per turn (after epoll_wait).
  std::uint64_t now_ms() const noexcept { return now_ms_; }
  const loop_options& options() const noexcept { return opts_; }

  // ---- net/ internals (streams, listeners, connect) ----
  bool watch(int fd, unsigned events, detail::io_source* src) noexcept;
  bool rewatch(int fd, unsigned events, detail::io_source* src) noexcept;
  void unwatch(int fd) noexcept;
  // The loop-wide receive buffer (recv_padding bytes follow it).
  std::span<std::byte> recv_buffer() noexcept { return {recv_buf_.get(), opts_.recv_buffer_size}; }
  loop_stats& counters() noexcept { return stats_; }
  chunk_pool& chunks() noexcept { return chunks_; }
  std::unique_ptr<output_queue> take_queue();
  void give_queue(std::unique_ptr<output_queue> q) noexcept;
  // Takes ownership; the stream lives until reaped after its on_close.
  stream* adopt(std::unique_ptr<stream> s) noexcept;
  void schedule_flush(stream* s);
  void schedule_reap(stream* s, std::error_code ec);
  // Moves s from the owned list to the lingering list (FIFO = deadline order, since every
  // stream lingers for the same close_linger) and sets its deadline; one loop-owned timer
  // serves the whole list, so a stream needs no timer of its own.
  void begin_linger(stream* s) noexcept;
  // Moves s back to the owned list (its close ended by EOF, error, abort or the deadline).
  void end_linger(stream* s) noexcept;

 private:
  void run_posted();
  void flush_pending();
  void reap_closed();
  int compute_timeout() noexcept;
  void destroy(stream* s) noexcept;
  void unlink(stream* s) noexcept;
  void arm_linger_timer(std::chrono::milliseconds after);
  void sweep_linger();

  loop_options opts_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<std::thread::id> owner_;

  std::mutex post_mu_;
  std::vector<task> posted_;    // guarded by post_mu_
  std::vector<task> draining_;  // loop thread only; swapped with posted_
  std::atomic<bool> has_posted_{false};

  timer_wheel wheel_;
  std::uint64_t now_ms_ = 0;

  std::unique_ptr<std::byte[]> recv_buf_;
  chunk_pool chunks_;
  std::vector<std::unique_ptr<output_queue>> queue_pool_;

  stream* streams_ = nullptr;  // intrusive list of owned streams
  stream* lingering_ = nullptr;       // streams in a lingering close, oldest first; also owned
  stream* lingering_tail_ = nullptr;
  timer_id linger_timer_ = 0;  // armed for lingering_'s deadline while the list is non-empty
  std::size_t stream_count_ = 0;
  std::vector<stream*> flush_list_;
  std::vector<std::pair<stream*, std::error_code>> reap_list_;
  loop_stats stats_;
};

}  // namespace duplex::net
