#include "net/listener.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

#include "net/error.h"
#include "net/socket_ops.h"
#include "net/stream.h"
#include "net/tls.h"

namespace duplex::net {

std::unique_ptr<listener> listener::open(loop& l, std::string_view address, std::uint16_t port,
                                         accept_fn on_accept, std::error_code& ec,
                                         const listen_options& opts) {
  ec.clear();
  sockaddr_storage ss;
  socklen_t len;
  if (!detail::parse_address(address, port, ss, len)) {
    ec = errc::invalid_address;
    return nullptr;
  }
  const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ec = detail::last_error();
    return nullptr;
  }
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (opts.reuse_port) ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (ss.ss_family == AF_INET6) {
    const int v6only = opts.v6_only ? 1 : 0;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, opts.backlog) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    ec = detail::last_error();
    ::close(fd);
    return nullptr;
  }
  const std::uint16_t bound = ntohs(ss.ss_family == AF_INET
                                        ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                        : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  auto lst = std::make_unique<listener>(key{}, l, fd, bound, std::move(on_accept), opts.tls);
  if (!l.watch(fd, loop::ev_read, lst.get())) {
    ec = detail::last_error();
    return nullptr;  // the destructor closes fd
  }
  return lst;
}

listener::listener(key, loop& l, int fd, std::uint16_t port, accept_fn fn,
                   tls_context* tls) noexcept
    : loop_(&l), fd_(fd), port_(port), on_accept_(std::move(fn)), tls_(tls) {}

listener::~listener() { close(); }

void listener::close() noexcept {
  if (resume_timer_) {
    loop_->cancel(resume_timer_);
    resume_timer_ = 0;
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

void listener::pause_after_error() {
  // The pending connection stays in the backlog, so a level-triggered epoll would report the
  // socket again at once: stop watching it for a moment and let descriptors free up.
  if (resume_timer_) return;
  loop_->rewatch(fd_, 0, this);
  resume_timer_ = loop_->run_after(std::chrono::milliseconds(100), [this] {
    resume_timer_ = 0;
    if (fd_ >= 0) loop_->rewatch(fd_, loop::ev_read, this);
  });
}

void listener::on_io(unsigned events) {
  // Bounded per turn so one busy listener cannot starve the loop's other streams.
  for (int i = 0; i < 256 && fd_ >= 0; ++i) {
    const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      const int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      if (err == EINTR || err == ECONNABORTED || err == EPROTO) continue;  // that one is gone
      ++loop_->counters().accept_errors;
      spdlog::warn("net::listener: accept on port {} failed: {}", port_, std::strerror(err));
      if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) pause_after_error();
      return;
    }
    detail::set_nodelay(fd);
    std::unique_ptr<tls_session> tls;
    if (tls_) {
      std::error_code ec;
      tls = tls_session::create(*tls_, {}, ec);
      if (!tls) {
        ++loop_->counters().accept_errors;
        ::close(fd);
        continue;
      }
    }
    stream* s = loop_->adopt(std::make_unique<stream>(*loop_, fd, std::move(tls), false));
    ++loop_->counters().accepted;
    s->start();
    if (on_accept_) on_accept_(*s);
    if (!s->handler()) s->abort();
  }
}

}  // namespace duplex::net
