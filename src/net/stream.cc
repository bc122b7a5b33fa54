#include "net/stream.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "base/assert.h"
#include "net/error.h"
#include "net/socket_ops.h"
#include "net/tls.h"

namespace duplex::net {

// An idle connection costs this struct: keep it from growing unnoticed (the linger deadline
// lives in former padding, the linger timer in the loop).
static_assert(sizeof(void*) != 8 || sizeof(stream) <= 72, "net::stream grew");

stream::stream(loop& l, int fd, std::unique_ptr<tls_session> tls, bool connecting) noexcept
    : loop_(&l), tls_(std::move(tls)), fd_(fd) {
  if (connecting) flags_ |= f_connecting | f_client;
  if (tls_) flags_ |= f_handshaking;
}

stream::~stream() {
  if (fd_ >= 0) ::close(fd_);
  if (out_) {
    out_->clear(loop_->chunks());
    loop_->give_queue(std::move(out_));
  }
}

void stream::start() noexcept {
  update_events();
  // A server-side TLS stream waits for the ClientHello; a client starts once connected.
}

// ---- output ----

output_queue& stream::out() {
  if (!out_) out_ = loop_->take_queue();
  return *out_;
}

void stream::release_out() noexcept {
  if (out_ && out_->empty()) loop_->give_queue(std::move(out_));
}

void stream::want_flush() {
  if (flags_ & f_in_flush) return;
  flags_ |= f_in_flush;
  loop_->schedule_flush(this);
}

void stream::write_copy(std::span<const std::byte> data) {
  if ((flags_ & (f_closing | f_closed)) || data.empty()) return;
  out().append_copy(data, loop_->chunks());
  after_write();
}

void stream::write_now(std::span<const std::byte> data) {
  if (tls_ || out_ || (flags_ & (f_connecting | f_blocked | f_closing | f_closed | f_lingering))) {
    return write_copy(data);
  }
  while (!data.empty()) {
    const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    ++loop_->counters().writev_calls;
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // EAGAIN, or an error that the flush of the queued rest will meet and report
    }
    loop_->counters().bytes_out += static_cast<std::uint64_t>(n);
    data = data.subspan(static_cast<std::size_t>(n));
  }
  if (!data.empty()) write_copy(data);
}

std::span<std::byte> stream::prepare_write_slow(std::size_t n) {
  if (flags_ & (f_closing | f_closed)) return {};
  return out().prepare(std::max<std::size_t>(n, 1), loop_->chunks());
}

void stream::commit_write_slow(std::size_t k) {
  if (flags_ & (f_closing | f_closed)) return;
  if (k == 0) {
    release_out();  // prepare_write may have taken a queue for nothing
    return;
  }
  DUPLEX_ASSERT(out_);
  out_->commit(k);
  after_write();
}

void stream::write_ref(const shared_payload& payload) {
  if ((flags_ & (f_closing | f_closed)) || payload.empty()) return;
  out().append(payload, loop_->chunks());
  after_write();
}

void stream::after_write() {
  want_flush();
  if (!(flags_ & (f_blocked | f_connecting | f_handshaking)) &&
      buffered_amount() >= loop_->options().flush_threshold) {
    flush(flush_reason::early);
  }
}

std::size_t stream::tls_wire_size() const noexcept { return tls_->wire().size(); }

bool stream::encrypt_pending() noexcept {
  if (!out_) return true;
  while (!out_->empty()) {
    const auto front = out_->front();
    if (!tls_->write(front)) {
      ++loop_->counters().tls_errors;
      fail(errc::tls_error);
      return false;
    }
    out_->consume(front.size(), loop_->chunks());
  }
  release_out();
  return true;
}

bool stream::flush(flush_reason why) noexcept {
  if (flags_ & f_lingering) return false;  // all output is out; only discarding input now
  if (flags_ & (f_closed | f_connecting)) return !(flags_ & f_closed);
  if (tls_ && (flags_ & f_tls_backlog) && !(flags_ & f_paused) && why == flush_reason::turn_end) {
    flags_ &= ~f_tls_backlog;
    deliver_tls({});
    if (flags_ & f_closed) return false;
  }
  // While blocked, only EPOLLOUT makes progress; writing earlier would just get EAGAIN.
  if ((flags_ & f_blocked) && why != flush_reason::writable) return true;
  if (tls_) {
    if ((flags_ & (f_closing | f_handshaking)) == (f_closing | f_handshaking) && out_) {
      out_->clear(loop_->chunks());  // closed before the session was up: nothing to protect
      release_out();
    }
    if (!(flags_ & f_handshaking)) {
      if (!encrypt_pending()) return false;
      if ((flags_ & f_closing) && !(flags_ & f_tls_shutdown)) {
        tls_->shutdown();  // close_notify, RFC 8446 §6.1
        flags_ |= f_tls_shutdown;
      }
    }
    tls_->take_output(loop_->chunks());
  }
  output_queue* q = tls_ ? &tls_->wire() : out_.get();
  bool blocked = false;
  while (q && !q->empty()) {
    iovec iov[128];
    const std::size_t count = q->gather(iov, std::size(iov));
    std::size_t total = 0;
    for (std::size_t i = 0; i < count; ++i) total += iov[i].iov_len;
    // sendmsg/send rather than writev: the socket's own path (writev goes through the VFS
    // write path first), and MSG_NOSIGNAL turns a write to a reset connection into EPIPE
    // instead of a process-killing SIGPIPE. One iovec, the usual case, takes plain send().
    ssize_t n;
    if (count == 1) {
      n = ::send(fd_, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
    } else {
      msghdr msg{};
      msg.msg_iov = iov;
      msg.msg_iovlen = count;
      n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    }
    ++loop_->counters().writev_calls;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        blocked = true;
        break;
      }
      fail(detail::last_error());
      return false;
    }
    loop_->counters().bytes_out += static_cast<std::uint64_t>(n);
    q->consume(static_cast<std::size_t>(n), loop_->chunks());
    if (static_cast<std::size_t>(n) < total) {
      blocked = true;
      break;
    }
  }
  if (!tls_) release_out();
  if (blocked) {
    if (!(flags_ & f_blocked)) {
      flags_ |= f_blocked;
      update_events();
    }
    return true;
  }
  const bool was_blocked = flags_ & f_blocked;
  if (was_blocked) {
    flags_ &= ~f_blocked;
    update_events();
  }
  if (buffered_amount() != 0) return true;  // plaintext waiting for the TLS handshake
  if (flags_ & f_closing) {
    if (!tls_ || (flags_ & (f_handshaking | f_tls_shutdown))) finish_close();
    return false;
  }
  if (was_blocked && handler_) {
    handler_->on_drain(*this);
    if (flags_ & f_closed) return false;
  }
  return true;
}

// ---- close ----

void stream::close() noexcept {
  if (flags_ & (f_closing | f_closed)) return;
  flags_ |= f_closing;
  update_events();  // no more reading
  want_flush();
}

void stream::abort() noexcept {
  if (flags_ & f_closed) return;
  if (fd_ >= 0) {
    // Linger 0: close() sends RST and drops unsent data, which is what abort means.
    linger lg{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  }
  fail(std::make_error_code(std::errc::operation_canceled));
}

void stream::finish_close() noexcept {
  // Our output (and TLS close_notify) is fully written: send FIN, then linger. Closing the fd
  // now while the peer is still sending would leave unread input, so the kernel would answer
  // with RST, and an RST can make the peer's stack discard our last bytes (a close frame,
  // RFC 6455 §7.1.1) before its application read them. So read and drop until the peer's EOF.
  const bool shut = ::shutdown(fd_, SHUT_WR) == 0;
  if (!shut || loop_->options().close_linger.count() <= 0) {
    // No lingering (disabled, or the connection is already gone): drop what is here already.
    auto buf = loop_->recv_buffer();
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), MSG_DONTWAIT | MSG_TRUNC);
    if (n > 0) loop_->counters().bytes_in += static_cast<std::uint64_t>(n);
    fail({});
    return;
  }
  loop_->begin_linger(this);
  update_events();  // register for reading again, whatever pause_reading() said
  if (flags_ & f_closed) return;
  discard_input();  // the peer may have sent its FIN already
}

void stream::discard_input() noexcept {
  // Bounded per call: level-triggered epoll reports the rest next turn, so a peer streaming a
  // large message at us cannot keep the loop here.
  auto buf = loop_->recv_buffer();
  std::size_t budget = std::max<std::size_t>(loop_->options().close_linger_read_budget, 1);
  while (budget > 0) {
    // MSG_TRUNC: Linux TCP drops the bytes without copying them out (tcp(7)).
    const ssize_t n =
        ::recv(fd_, buf.data(), std::min(budget, buf.size()), MSG_DONTWAIT | MSG_TRUNC);
    ++loop_->counters().read_calls;
    if (n > 0) {
      loop_->counters().bytes_in += static_cast<std::uint64_t>(n);
      budget -= std::min(budget, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    // EOF: the clean end. An error (e.g. the peer reset): everything of ours was written and
    // there is nothing left to protect. Either way the close is complete.
    fail({});
    return;
  }
}

void stream::fail(std::error_code ec) noexcept {
  if (flags_ & f_closed) return;
  flags_ |= f_closed;
  flags_ &= ~f_closing;
  if (flags_ & f_lingering) loop_->end_linger(this);
  if (fd_ >= 0) {
    ::close(fd_);  // also removes it from the epoll set
    fd_ = -1;
  }
  if (out_) out_->clear(loop_->chunks());
  release_out();
  if (tls_) tls_->wire().clear(loop_->chunks());
  loop_->schedule_reap(this, ec);
}

// ---- input ----

void stream::pause_reading() noexcept {
  if (flags_ & f_paused) return;
  flags_ |= f_paused;
  update_events();
}

void stream::resume_reading() noexcept {
  if (!(flags_ & f_paused)) return;
  flags_ &= ~f_paused;
  update_events();
  if (flags_ & f_tls_backlog) want_flush();
}

void stream::update_events() noexcept {
  if (flags_ & f_closed) return;
  unsigned want = 0;
  if (flags_ & f_connecting) {
    want = loop::ev_write;
  } else if (flags_ & f_lingering) {
    want = loop::ev_read;  // discard until EOF; nothing left to write
  } else {
    if (!(flags_ & (f_paused | f_closing))) want |= loop::ev_read;
    if (flags_ & f_blocked) want |= loop::ev_write;
  }
  const unsigned have = ((flags_ & f_reg_read) ? loop::ev_read : 0u) |
                        ((flags_ & f_reg_write) ? loop::ev_write : 0u);
  if ((flags_ & f_registered) && want == have) return;
  const bool ok = (flags_ & f_registered) ? loop_->rewatch(fd_, want, this)
                                          : loop_->watch(fd_, want, this);
  if (!ok) {
    fail(detail::last_error());
    return;
  }
  flags_ |= f_registered;
  flags_ = static_cast<std::uint16_t>((flags_ & ~(f_reg_read | f_reg_write)) |
                                      ((want & loop::ev_read) ? f_reg_read : 0) |
                                      ((want & loop::ev_write) ? f_reg_write : 0));
}

void stream::on_io(unsigned events) {
  if (flags_ & f_closed) return;  // closed earlier in this turn; the event is stale
  if (flags_ & f_lingering) {
    // EOF, errors and hang-ups all surface through the read.
    if (events & (loop::ev_read | loop::ev_error | loop::ev_hangup)) discard_input();
    return;
  }
  if (flags_ & f_connecting) {
    on_connected();
    return;
  }
  if (events & loop::ev_read) {
    read_ready();
    if (flags_ & f_closed) return;
  }
  if ((events & loop::ev_write) && (flags_ & f_blocked)) {
    if (!flush(flush_reason::writable)) return;
  }
  if ((events & (loop::ev_error | loop::ev_hangup)) && !(events & loop::ev_read)) {
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    fail(err ? std::error_code(err, std::system_category()) : make_error_code(errc::eof));
  }
}

void stream::on_connected() noexcept {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err != 0) {
    ++loop_->counters().connect_errors;
    fail({err, std::system_category()});
    return;
  }
  flags_ &= ~f_connecting;
  ++loop_->counters().connects;
  detail::set_nodelay(fd_);
  update_events();
  if (flags_ & f_closed) return;
  if (flags_ & f_closing) {  // close() before the connection was up: no on_connect, just close
    want_flush();
    return;
  }
  if (tls_) {
    handshake_step();  // sends the ClientHello
    return;
  }
  if (out_ && !out_->empty()) want_flush();
  if (handler_) handler_->on_connect(*this);
}

void stream::handshake_step() noexcept {
  const auto st = tls_->handshake();
  if (tls_->has_output()) want_flush();
  if (st == tls_session::status::error) {
    ++loop_->counters().tls_errors;
    fail(errc::tls_handshake_failed);
    return;
  }
  if (st != tls_session::status::ok) return;
  flags_ &= ~f_handshaking;
  if (out_ && !out_->empty()) want_flush();
  if ((flags_ & f_client) && handler_) handler_->on_connect(*this);
}

void stream::deliver_tls(std::span<std::byte> cipher) noexcept {
  if (!cipher.empty() && !tls_->feed(cipher)) {
    ++loop_->counters().tls_errors;
    fail(errc::tls_error);
    return;
  }
  if (flags_ & f_handshaking) {
    handshake_step();
    if (flags_ & (f_closed | f_handshaking)) return;
  }
  // The ciphertext now sits in the read BIO, so the loop buffer is free for plaintext.
  auto buf = loop_->recv_buffer();
  for (;;) {
    if (flags_ & (f_paused | f_closing | f_closed)) {
      if (flags_ & f_paused) flags_ |= f_tls_backlog;
      break;
    }
    std::size_t filled = 0;
    auto st = tls_session::status::ok;
    while (filled < buf.size()) {
      std::size_t n = 0;
      st = tls_->read(buf.subspan(filled), n);
      if (st != tls_session::status::ok) break;
      filled += n;
    }
    if (filled != 0 && handler_) handler_->on_data(*this, buf.first(filled));
    if (flags_ & f_closed) return;
    if (st == tls_session::status::ok) continue;  // buffer was full: more may be ready
    if (st == tls_session::status::peer_closed) {
      fail(errc::eof);
      return;
    }
    if (st == tls_session::status::error) {
      ++loop_->counters().tls_errors;
      fail(errc::tls_error);
      return;
    }
    break;  // want_input
  }
  if (tls_->has_output()) want_flush();  // session tickets, key updates, alerts
}

void stream::read_ready() noexcept {
  auto buf = loop_->recv_buffer();
  for (;;) {
    const ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
    ++loop_->counters().read_calls;
    if (n > 0) {
      loop_->counters().bytes_in += static_cast<std::uint64_t>(n);
      const auto got = buf.first(static_cast<std::size_t>(n));
      if (tls_) {
        deliver_tls(got);
      } else if (handler_) {
        handler_->on_data(*this, got);
      }
      if (flags_ & (f_closed | f_closing | f_paused)) return;
      if (out_ && loop_->options().flush_after_read != 0 &&
          out_->size() >= loop_->options().flush_after_read && !(flags_ & f_blocked)) {
        if (!flush(flush_reason::early)) return;
      }
      // A full buffer means the kernel likely holds more: read again now rather than wait
      // for the next epoll_wait.
      if (static_cast<std::size_t>(n) < buf.size()) return;
      continue;
    }
    if (n == 0) {
      fail(errc::eof);
      return;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) fail(detail::last_error());
    return;
  }
}

std::string stream::remote_address() const {
  if (fd_ < 0) return {};
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
  return detail::format_address(reinterpret_cast<sockaddr*>(&ss), len);
}

}  // namespace duplex::net
