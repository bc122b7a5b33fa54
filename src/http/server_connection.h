// http::server_connection: serves HTTP/1.1 on one accepted net::stream until it closes or a
// route takes the stream over (WebSocket upgrade).
//
// Per request: the head is parsed (request_parser, with the site's limits) and routed. A
// request without a body goes to its route_target at once; one with a body (Content-Length or
// chunked) is read whole first, within limits::max_body (over it: 413 from the error table),
// and the target gets the decoded body. For a body the head is copied (its views would point
// into receive buffers that are gone by the time the body is complete). An unrouted request
// (404/405) is answered from its head; its body is read and discarded. A routed request with
// a body and "Expect: 100-continue" gets "100 Continue" first (RFC 9110 §10.1.1).
//
// The target answers at once (into `out`), takes the stream (upgrade), or defers: it calls
// conn.defer() and returns kind::deferred, then answers later through the reply_handle. While a
// reply is deferred nothing else is parsed (pipelined bytes wait in the spill buffer; past
// one head's worth of them the stream stops reading), so replies leave in request order.
//
// Keep-alive and pipelining follow the parser; a parse error gets its status from the one error
// table (http/error.h) with Connection: close. Timers: a request (head and body) must be
// complete within request_timeout of its first byte (else 408 and close); an idle keep-alive
// connection is closed after keepalive_timeout; a deferred reply is waited for up to
// site::deferred_timeout (then 503 and close: the target should have answered long before).
//
// Lifetime: created by the accept path, deletes itself when the stream closes or after handing
// the stream to another handler (never inside a callback of someone else's stream).
// Thread safety: loop thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
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

// How a route_target answers a request after handle() returned kind::deferred. Cheap to copy
// (one shared pointer); every copy refers to the same pending reply.
//
// Thread safety: use it only on the loop thread that owns the connection (the thread handle()
// ran on; post there from elsewhere). Copies may be destroyed anywhere.
// Lifetime: it may outlive the connection: once the connection is gone (peer closed, deferred
// timeout, server stopped) send() does nothing and valid() is false.
class reply_handle {
 public:
  reply_handle() = default;

  // Writes `response` (one or more complete HTTP/1.1 responses, as bytes) and resumes serving
  // the connection: pipelined requests that waited are parsed now. With close_after the
  // connection closes once the bytes are written. Only the first send() of a handle (and its
  // copies) counts; later ones, and any on an empty handle or a dead connection, do nothing.
  void send(std::string response, bool close_after = false) const;
  // True while the connection still waits for this reply.
  bool valid() const noexcept { return state_ && state_->conn != nullptr; }
  // `fn` runs (on the loop thread) if the connection goes away before this reply was sent:
  // the peer closed or reset it, the deferred timeout passed, or the server stopped. For
  // long-polling, where an aborted request means something (Engine.IO ends the session).
  // Replaces an earlier fn; does nothing on an empty or dead handle.
  void on_gone(std::function<void()> fn) const;

 private:
  friend class server_connection;
  struct state {
    server_connection* conn = nullptr;  // cleared on send and by the connection's destructor
    std::function<void()> gone;         // see on_gone()
  };
  explicit reply_handle(std::shared_ptr<state> s) noexcept : state_(std::move(s)) {}
  std::shared_ptr<state> state_;
};

// What a route does with a request. Implemented by the layers above (ws/, server/).
class route_target {
 public:
  struct result {
    enum class kind : std::uint8_t {
      reply,            // a full reply was appended to `out`; keep serving
      reply_and_close,  // a full reply was appended; close after writing it
      upgraded,         // the stream now belongs to `next` (already set as its handler)
      deferred,         // conn.defer() was called: the reply comes later through its handle
    };
    kind what = kind::reply;
    net::stream_handler* next = nullptr;
  };
  virtual ~route_target() = default;
  // `rest` is the path after a prefix route's prefix (empty for exact routes). `body` is the
  // whole decoded body (empty when there is none). req, rest and body are valid only during
  // the call: a deferring target copies what it needs.
  // For `upgraded` the target writes its own reply to the stream and sets `next` as the
  // stream's handler; bytes that followed the head are then passed to next->on_data().
  // For `deferred` the target has called conn.defer() during this call and leaves `out`
  // empty; it may even answer through the handle before returning. A target that called
  // defer() but returns another kind cancels the handle (it becomes a no-op).
  virtual result handle(const request_head& req, std::string_view rest, std::string_view body,
                        net::stream& s, std::string& out, server_connection& conn) = 0;
};

// Everything the connections of one server share on one loop thread.
struct site {
  request_parser::limits limits;
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds keepalive_timeout{30000};
  // Longest wait for a deferred reply before the connection gets 503 and is closed. A bound
  // against targets that never answer, not a request timeout: targets time out on their own.
  std::chrono::milliseconds deferred_timeout{120000};
  router routes;
  std::vector<route_target*> targets;  // indexed by router handler id; not owned
};

struct server_counters {
  std::uint64_t requests = 0;
  std::uint64_t bad_requests = 0;  // parse errors answered 4xx/5xx
  std::uint64_t timeouts = 0;      // 408s and idle closes
  std::uint64_t upgrades = 0;
  std::uint64_t deferred = 0;  // replies deferred by a target
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

  // Only from inside route_target::handle() on this connection: the reply to the request
  // being handled will come later, through the returned handle (the target must then return
  // kind::deferred). Calling it again in the same handle() returns the same pending reply.
  reply_handle defer();

 private:
  friend class server_context;
  friend class reply_handle;
  struct held_request;
  enum class step : std::uint8_t { next, stop, closed };

  // Parses from `buf`; returns how many bytes were consumed. Sets upgraded_ when a target
  // took the stream (then buf's tail after the return value belongs to the new handler).
  std::size_t parse(std::span<std::byte> buf);
  // After parse(): hands the stream over, or keeps the unconsumed tail and re-arms timers.
  // May delete this (upgrade).
  void after_parse(std::span<std::byte> buf, std::size_t used, bool from_spill);
  // Calls the target; `next` to go on parsing, `stop` (upgraded or deferred), `closed`.
  step dispatch(const request_head& req, router::handler_id id, std::string_view rest,
                std::string_view body);
  // A deferred reply arrived (reply_handle::send). May delete this (a pipelined upgrade).
  void answer(std::string bytes, bool close_after);
  // Bytes that arrive while a reply is deferred.
  void hold(std::span<const std::byte> data);
  void fail(error e);
  void abandon_pending();
  void arm(std::chrono::milliseconds after);
  void on_timer();

  server_context& ctx_;
  net::stream* stream_;
  request_parser parser_;
  std::string spill_;  // unconsumed bytes kept between reads
  std::string out_;    // replies gathered during one on_data, written once
  std::unique_ptr<held_request> held_;           // a routed request whose body is being read
  std::shared_ptr<reply_handle::state> pending_;  // the deferred reply, while waited for
  timer_id timer_ = 0;
  std::size_t live_index_ = 0;
  bool in_request_ = false;
  bool dispatching_ = false;  // inside route_target::handle()
  bool answered_ = false;     // the deferred reply came during handle() itself
  bool awaiting_ = false;     // a deferred reply is pending: input is held, not parsed
  bool paused_ = false;       // reading paused while awaiting_ (spill_ is large enough)
  bool closing_ = false;
  bool close_after_ = false;  // Connection: close, HTTP/1.0, or shut() mid-request
  bool upgraded_ = false;
  net::stream_handler* next_ = nullptr;
};

}  // namespace duplex::http
