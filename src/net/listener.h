// net::listener: a listening TCP socket on one loop.
//
// Each loop thread opens its own listener on the same address and port (SO_REUSEPORT): the
// kernel spreads connections across them, and a connection stays on the loop that accepted it.
// Open the first with port 0 to get a free port, then the others with port().
//
// Accepted connections are registered with the loop (and start their TLS handshake when the
// listener has a tls_context) before the accept callback runs; the callback sets the stream's
// handler. A stream left without a handler is aborted.
//
// Out of descriptors (EMFILE/ENFILE) or memory: the error is logged and counted
// (loop_stats::accept_errors), and accepting pauses briefly instead of spinning on the ready
// socket.
//
// Thread safety: loop thread only, including destruction (or after the loop stopped).
// Destroy a listener from a posted task or a timer, not from an I/O callback of the same turn
// (its epoll event may still be pending); close() is safe anywhere.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <system_error>

#include "net/loop.h"

namespace duplex::net {

class stream;
class tls_context;

struct listen_options {
  int backlog = 1024;
  bool reuse_port = true;
  bool v6_only = false;  // for "::": false also accepts IPv4 (mapped) connections
  tls_context* tls = nullptr;  // not owned; must outlive the listener and its streams
};

class listener final : private detail::io_source {
 public:
  using accept_fn = std::function<void(stream&)>;

  // Binds a numeric address ("127.0.0.1", "::1", "0.0.0.0", "::") and port (0 picks one).
  // Returns nullptr and sets ec on failure (e.g. EADDRINUSE, errc::invalid_address).
  static std::unique_ptr<listener> open(loop& l, std::string_view address, std::uint16_t port,
                                        accept_fn on_accept, std::error_code& ec,
                                        const listen_options& opts = {});
  ~listener();
  listener(const listener&) = delete;
  listener& operator=(const listener&) = delete;

  // The bound port (useful after binding port 0).
  std::uint16_t port() const noexcept { return port_; }
  // Stops accepting and releases the port; streams already accepted are unaffected.
  void close() noexcept;
  bool is_open() const noexcept { return fd_ >= 0; }

 private:
  struct key {};

 public:
  listener(key, loop& l, int fd, std::uint16_t port, accept_fn fn, tls_context* tls) noexcept;

 private:
  void on_io(unsigned events) override;
  void pause_after_error();

  loop* loop_;
  int fd_;
  std::uint16_t port_;
  accept_fn on_accept_;
  tls_context* tls_;
  timer_id resume_timer_ = 0;
};

using listener_ptr = std::unique_ptr<listener>;

}  // namespace duplex::net
