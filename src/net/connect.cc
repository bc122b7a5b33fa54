#include "net/connect.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "net/error.h"
#include "net/socket_ops.h"
#include "net/stream.h"
#include "net/tls.h"

namespace duplex::net {

stream* connect(loop& l, std::string_view host, std::uint16_t port, tls_context* tls,
                std::string_view server_name, stream_handler* handler, std::error_code& ec) {
  ec.clear();
  sockaddr_storage ss;
  socklen_t len;
  if (!detail::parse_address(host, port, ss, len)) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
    addrinfo* res = nullptr;
    const std::string h(host), p = std::to_string(port);
    if (::getaddrinfo(h.c_str(), p.c_str(), &hints, &res) != 0 || !res) {
      ec = errc::resolve_failed;
      return nullptr;
    }
    std::memcpy(&ss, res->ai_addr, res->ai_addrlen);
    len = res->ai_addrlen;
    ::freeaddrinfo(res);
  }
  std::unique_ptr<tls_session> session;
  if (tls) {
    session = tls_session::create(*tls, server_name.empty() ? host : server_name, ec);
    if (!session) return nullptr;
  }
  const int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ec = detail::last_error();
    return nullptr;
  }
  stream* s = l.adopt(std::make_unique<stream>(l, fd, std::move(session), true));
  s->set_handler(handler);
  const int r = ::connect(fd, reinterpret_cast<sockaddr*>(&ss), len);
  const int err = r == 0 ? 0 : errno;
  // Registering for EPOLLOUT reports completion; an immediate result (success or refusal on
  // loopback) is reported the same way, from the loop, never from inside this call.
  s->start();
  if (err != 0 && err != EINPROGRESS) {
    ++l.counters().connect_errors;
    s->fail({err, std::system_category()});
  }
  return s;
}

}  // namespace duplex::net
