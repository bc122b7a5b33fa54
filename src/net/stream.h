// net::stream: one TCP connection (optionally TLS) on one loop.
//
// Lifetime: the loop owns every stream. A stream comes from a listener's accept callback or
// from net::connect(); it is destroyed by the loop after on_close() returned, at the end of
// the turn in which it closed (STYLE.md rule 15). Do not keep a stream* past on_close.
//
// Output: write() only queues. Everything queued during a turn goes out in one writev at the
// end of the turn (or earlier once loop_options::flush_threshold bytes are queued). What the
// kernel does not take stays queued, EPOLLOUT is armed, and on_drain() fires when the queue
// empties. buffered_amount() is the backpressure signal: callers apply their own limits.
//
// Input: on_data() gets a mutable view into the loop's receive buffer (plaintext for TLS),
// valid only during the call; copy what must be kept.
//
// Thread safety: loop thread only. Re-entrancy: every method may be called from any handler
// callback, including the stream's own; close()/abort() from inside on_data() stops delivery
// at once; on_close() is always deferred to the end of the turn, never called from inside
// another method of the stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "base/prefetch.h"
#include "base/shared_payload.h"
#include "net/loop.h"

namespace duplex::net {

class stream;
class tls_context;
class tls_session;

class stream_handler {
 public:
  virtual ~stream_handler() = default;
  // A mutable view into the loop buffer (lets ws unmask in place); borrowed for the call only.
  virtual void on_data(stream& s, std::span<std::byte> data) = 0;
  // Pending output that had to wait for the kernel (EPOLLOUT) is now fully written. Not called
  // for output that the end-of-turn flush wrote at once.
  virtual void on_drain(stream& s) {}
  // Exactly once per stream; see net/error.h for ec. The stream is destroyed after this
  // returns. Writes from here are ignored.
  virtual void on_close(stream& s, std::error_code ec) = 0;
  // Client streams only: TCP connected and, for TLS, handshake done (certificate verified).
  virtual void on_connect(stream& s) {}
};

class stream final : private detail::io_source {
 public:
  // Internal: streams are made by net::listener and net::connect(), which then adopt() them
  // into the loop and call start() to register the socket.
  stream(loop& l, int fd, std::unique_ptr<tls_session> tls, bool connecting) noexcept;
  void start() noexcept;
  ~stream();
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;

  // The handler receives all further events; nullptr drops input. Not owned.
  void set_handler(stream_handler* h) noexcept { handler_ = h; }
  stream_handler* handler() const noexcept { return handler_; }

  // Copies data into the output queue (coalescing small writes). Ignored after close/abort.
  // Inline fast path: a small write while the stream already has queued output this turn.
  void write(std::span<const std::byte> data) {
    if (out_ && !data.empty() && !(flags_ & (f_closing | f_closed)) && (flags_ & f_in_flush) &&
        !tls_ &&
        out_->size() + data.size() < loop_->options().flush_threshold &&
        out_->try_append_copy(data)) {
      return;  // already scheduled for the end-of-turn flush and below the early-flush mark
    }
    write_copy(data);
  }
  void write(std::string_view text) {
    write(std::as_bytes(std::span<const char>(text.data(), text.size())));
  }
  // Writes encoded in place (saves write()'s copy from a scratch buffer): at least n writable
  // bytes at the end of the output queue, for the caller to fill (e.g. a WebSocket frame
  // header and its small payload); commit_write(k) then queues the first k of them (k <= n;
  // 0 queues nothing). No other write may come in between. After close/abort the span is
  // empty and the write is ignored. The span is valid until commit_write.
  std::span<std::byte> prepare_write(std::size_t n) {
    if (out_ && !(flags_ & (f_closing | f_closed))) {
      const auto room = out_->try_prepare(n);
      if (!room.empty()) return room;
    }
    return prepare_write_slow(n);
  }
  void commit_write(std::size_t k) {
    if (k != 0 && out_ && (flags_ & (f_in_flush | f_closing | f_closed)) == f_in_flush && !tls_ &&
        out_->size() + k < loop_->options().flush_threshold) {
      out_->commit(k);  // already scheduled for the end-of-turn flush, below the early mark
      return;
    }
    commit_write_slow(k);
  }

  // Queues payload by reference (no copy, unless below output_queue::copy_below: then its
  // bytes are copied, through write()'s inline path, and its reference count is not touched).
  // Ignored after close/abort.
  void write(const shared_payload& payload) {
    if (payload.size() < output_queue::copy_below) return write(payload.bytes());
    write_ref(payload);
  }

  // A one-off write (a handshake's response): sent at once when nothing is queued, so it holds
  // no output chunk until the turn's end (a burst of handshakes in one turn would otherwise
  // hold an output chunk each, and the chunk pool keeps what it held: about 65 B per idle
  // connection at 10,000 with 16 KiB chunks). Same syscalls as write() unless more is
  // written in the same turn.
  // What the kernel does not take, and any write on a TLS, connecting, blocked or closing
  // stream, goes the way of write().
  void write_now(std::span<const std::byte> data);
  void write_now(std::string_view text) {
    write_now(std::as_bytes(std::span<const char>(text.data(), text.size())));
  }

  // Bytes queued and not yet taken by the kernel (TLS: plaintext plus pending ciphertext).
  // Cache prefetch for a coming small write, one pointer hop per stage: 0 this object, 1 the
  // output queue, 2 where the next bytes go (hub::subscriber::prefetch).
  void prefetch_output(unsigned stage) const noexcept {
    if (stage == 0) {
      prefetch_object(this);
    } else if (out_) {
      out_->prefetch(stage - 1);
    }
  }
  // The same for a coming flush (loop::flush_pending): 0 this object, 1 the output queue, 2
  // what the queue's gather reads.
  void prefetch_for_flush(unsigned stage) const noexcept {
    if (stage == 0) {
      prefetch_object(this);
    } else if (out_) {
      if (stage == 1) {
        out_->prefetch(0);
      } else {
        out_->prefetch_for_flush();
      }
    }
  }
  std::size_t buffered_amount() const noexcept {
    return (out_ ? out_->size() : 0) + (tls_ ? tls_wire_size() : 0);
  }

  // Graceful, lingering close (RFC 6455 §7.1.1: the server closes TCP first, cleanly): stop
  // delivering input, flush what is queued (TLS: then close_notify), shutdown(SHUT_WR), then
  // read and discard whatever the peer still sends until it closes its side (EOF), a read
  // error, or loop_options::close_linger passes; only then close the fd. on_close({}) follows
  // at that point, once; no on_data meanwhile. Lingering matters because closing a socket with
  // unread input makes the kernel send RST, which can destroy our last bytes (e.g. a close
  // frame) still on their way to the peer. Idempotent.
  void close() noexcept;
  // Immediate close: drop queued output, reset the connection; on_close(operation_canceled)
  // follows at the end of the turn. Idempotent, and a no-op after the stream closed. Also ends
  // a lingering close at once.
  void abort() noexcept;

  // Stop/resume on_data (the kernel buffers, then TCP flow control pushes back on the peer).
  void pause_reading() noexcept;
  void resume_reading() noexcept;

  // "ip:port", or "[ipv6]:port"; empty when unknown. Not cached: one getpeername() per call.
  std::string remote_address() const;

  void* user_data() const noexcept { return user_data_; }
  void set_user_data(void* p) noexcept { user_data_ = p; }
  bool is_tls() const noexcept { return tls_ != nullptr; }
  bool is_open() const noexcept { return !(flags_ & (f_closing | f_closed)); }
  loop& owner() const noexcept { return *loop_; }

 private:
  friend class loop;
  friend stream* connect(loop&, std::string_view, std::uint16_t, tls_context*, std::string_view,
                         stream_handler*, std::error_code&);

  enum : std::uint16_t {
    f_connecting = 1 << 0,   // client: TCP connect in progress
    f_handshaking = 1 << 1,  // TLS handshake not finished
    f_closing = 1 << 2,      // close() requested: flushing, then shutdown
    f_closed = 1 << 3,       // fd closed, awaiting reap
    f_paused = 1 << 4,
    f_in_flush = 1 << 5,     // in the loop's flush list
    f_blocked = 1 << 6,      // kernel refused output: EPOLLOUT armed, on_drain when empty
    f_reg_read = 1 << 7,     // currently registered events
    f_reg_write = 1 << 8,
    f_client = 1 << 9,
    f_tls_shutdown = 1 << 10,  // close_notify queued
    f_registered = 1 << 11,    // fd is in the epoll set
    f_tls_backlog = 1 << 12,   // decrypted input held back by pause_reading()
    f_lingering = 1 << 13,     // close(): output done, SHUT_WR sent, discarding input until EOF
  };
  enum class flush_reason { turn_end, early, writable };

  void on_io(unsigned events) override;
  void on_connected() noexcept;
  void read_ready() noexcept;
  void deliver_tls(std::span<std::byte> cipher) noexcept;
  void handshake_step() noexcept;
  // Writes queued output; returns false if the stream closed.
  bool flush(flush_reason why) noexcept;
  void want_flush();
  void write_copy(std::span<const std::byte> data);
  void write_ref(const shared_payload& payload);
  std::span<std::byte> prepare_write_slow(std::size_t n);
  void commit_write_slow(std::size_t k);
  std::size_t tls_wire_size() const noexcept;
  bool encrypt_pending() noexcept;
  void after_write();
  void finish_close() noexcept;
  // Lingering: reads and drops a bounded amount of input; ends the close on EOF or error.
  void discard_input() noexcept;
  void fail(std::error_code ec) noexcept;
  void update_events() noexcept;
  output_queue& out();
  void release_out() noexcept;

  // Kept small: an idle connection is this struct plus the kernel socket (no buffers).
  loop* loop_;
  stream_handler* handler_ = nullptr;
  void* user_data_ = nullptr;
  std::unique_ptr<output_queue> out_;  // null while nothing is queued
  std::unique_ptr<tls_session> tls_;
  stream* prev_ = nullptr;  // loop's list of owned streams (the lingering list while f_lingering)
  stream* next_ = nullptr;
  int fd_;
  std::uint16_t flags_ = 0;
  // While f_lingering: the linger deadline, loop milliseconds modulo 2^16 (fills what would
  // be padding; loop_options::close_linger is capped well below 2^15 ms so the wrap-around
  // compare in loop::sweep_linger() is exact).
  std::uint16_t linger_deadline_ = 0;
};

using stream_ptr = std::unique_ptr<stream>;

}  // namespace duplex::net
