// client_pool: the generator's event loop (epoll, edge-triggered, one thread) and its
// connections. Scenarios open connections through it, then drive them with poll().
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "client_connection.h"
#include "mask_source.h"
#include "payload_pattern.h"

namespace duplex::bench {

struct pool_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  // When non-zero, connection 0 connects to this port of `host` instead of `port`: the fan-out
  // publisher on one node while the subscribers are on another (cross-node fan-out).
  std::uint16_t first_port = 0;
  std::string path = "/";
  // Source addresses 127.0.0.1 .. 127.0.0.<sources>, used round-robin (bind before connect),
  // so one generator can exceed the ~28k ephemeral ports of a single address pair.
  unsigned sources = 1;
  std::size_t message_size = 32;
  bool binary = false;
  receive_mode mode = receive_mode::echo;
  // When set, the request target of connection `index` (0-based, in opening order) instead of
  // `path`: the raw fan-out dialect puts the channel in the URL.
  std::function<std::string(std::uint32_t index)> path_of;
  // When set and it returns a non-empty request for connection `index`: that connection is an
  // HTTP streaming client (client_connection::start_http) sending those bytes and reading the
  // response as `http_format`; when it returns "", a WebSocket client as above.
  std::function<std::string(std::uint32_t index)> http_request_of;
  stream_format http_format = stream_format::sse;
};

struct open_report {
  std::size_t opened = 0;
  std::size_t failed = 0;        // including those still pending at the timeout
  std::uint64_t elapsed_ns = 0;  // first connect() to the last validated 101
  std::string first_error;
};

class client_pool {
 public:
  // `h` receives every connection event; it must outlive the pool.
  client_pool(const pool_options& options, connection_handler& h);
  ~client_pool();
  client_pool(const client_pool&) = delete;
  client_pool& operator=(const client_pool&) = delete;

  // Opens `count` connections, at most `concurrency` handshakes in flight, and returns when
  // all are open or failed, or `timeout_ns` passed.
  open_report open(std::size_t count, std::size_t concurrency, std::uint64_t timeout_ns);

  // Waits up to `timeout_ns` for events and dispatches them; then closes the connections that
  // failed. Returns the number of events.
  int poll(std::uint64_t timeout_ns);

  // What to pass to client_connection::flush() so a failure is seen and reaped.
  connection_handler& events() noexcept;

  std::vector<std::unique_ptr<client_connection>>& connections() noexcept { return conns_; }
  std::size_t failures() const noexcept { return failures_; }
  void close_all() noexcept;

 private:
  class reaper;
  bool start_one(std::string& err);
  void reap() noexcept;

  pool_options options_;
  int epfd_ = -1;
  sockaddr_in target_{};
  sockaddr_in first_target_{};  // connection 0's (options.first_port, else target_)
  ws::client_options ws_options_;
  ws::client_options first_ws_options_;
  payload_pattern pattern_;
  mask_source masks_;
  std::vector<std::unique_ptr<client_connection>> conns_;
  std::vector<std::uint32_t> failed_;  // closed after each poll
  std::size_t failures_ = 0;
  std::unique_ptr<std::byte[]> rx_;
  std::unique_ptr<reaper> reaper_;
};

}  // namespace duplex::bench
