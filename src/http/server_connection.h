// http::server_connection: serves HTTP/1.1 on one accepted net::stream until it closes or a
// route takes the stream over (WebSocket upgrade).
//
// Per request: the head is parsed (request_parser, with the site's limits), routed, and the
// route's target writes the reply; a body, if any, is read and discarded (no route takes bodies
// yet). Keep-alive and pipelining follow the parser; a parse error gets its status from the
// one error table (http/error.h) with Connection: close. Timers: a request head must be
// complete within request_timeout of its first byte (else 408 and close); an idle keep-alive
// connection is closed after keepalive_timeout.
//
// Lifetime: created by the accept path, deletes itself when the stream closes or after handing
// the stream to another handler (never inside a callback of someone else's stream).
// Thread safety: loop thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "http/message.h"
#include "http/request_parser.h"
#include "http/response.h"
#include "http/router.h"
#include "net/stream.h"

namespace duplex::http {

class server_connection;

// What a route does with a request. Implemented by the layers above (ws/, server/).
class route_target {
 public:
  struct result {
    enum class kind : std::uint8_t {
      reply,            // a full reply was appended to `out`; keep serving
      reply_and_close,  // a full reply was appended; close after writing it
      upgraded,         // the stream now belongs to `next` (already set as its handler)
    };
    kind what = kind::reply;
    net::stream_handler* next = nullptr;
  };
  virtual ~route_target() = default;
  // `rest` is the path after a prefix route's prefix (empty for exact routes). For `upgraded`
  // the target writes its own reply to the stream and sets `next` as the stream's handler;
  // bytes that followed the head are then passed to next->on_data().
  virtual result handle(const request_head& req, std::string_view rest, net::stream& s,
                        std::string& out) = 0;
};

// Everything the connections of one server share on one loop thread.
struct site {
  request_parser::limits limits;
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds keepalive_timeout{30000};
  router routes;
  std::vector<route_target*> targets;  // indexed by router handler id; not owned
};

struct server_counters {
  std::uint64_t requests = 0;
  std::uint64_t bad_requests = 0;  // parse errors answered 4xx/5xx
  std::uint64_t timeouts = 0;      // 408s and idle closes
  std::uint64_t upgrades = 0;
};

// Per-loop state: the site (read-only after start), a date cache, live connections.
class server_context {
 public:
  explicit server_context(const site& s) : site_(s) {}
  ~server_context();
  // Creates a connection for a freshly accepted stream.
  void accept(net::stream& s);
  // Closes every HTTP connection that is idle between requests now, and the others after
  // their current reply. Upgraded streams are no longer ours.
  void close_all();
  const site& get_site() const noexcept { return site_; }
  std::string_view date() { return dates_.get(std::chrono::system_clock::now()); }
  server_counters& counters() noexcept { return counters_; }
  std::size_t connections() const noexcept { return live_.size(); }

 private:
  friend class server_connection;
  const site& site_;
  date_cache dates_;
  server_counters counters_;
  std::vector<server_connection*> live_;  // unordered; removal by swap
};

class server_connection final : public net::stream_handler {
 public:
  server_connection(server_context& ctx, net::stream& s);
  ~server_connection() override;

  void on_data(net::stream& s, std::span<std::byte> data) override;
  void on_close(net::stream& s, std::error_code ec) override;

  // Ends the connection after the reply in progress (or now when idle).
  void shut();

 private:
  friend class server_context;
  // Parses from `buf`; returns how many bytes were consumed. Sets upgraded_ when a target
  // took the stream (then buf's tail after the return value belongs to the new handler).
  std::size_t parse(std::span<std::byte> buf);
  void fail(error e);
  void arm(std::chrono::milliseconds after);
  void on_timer();

  server_context& ctx_;
  net::stream* stream_;
  request_parser parser_;
  std::string spill_;  // unconsumed bytes kept between reads
  std::string out_;    // replies gathered during one on_data, written once
  timer_id timer_ = 0;
  std::size_t live_index_ = 0;
  bool in_request_ = false;
  bool closing_ = false;
  bool close_after_ = false;  // Connection: close, HTTP/1.0, or shut() mid-request
  bool upgraded_ = false;
  net::stream_handler* next_ = nullptr;
};

}  // namespace duplex::http
