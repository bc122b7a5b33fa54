// duplex::server — an HTTP/1.1 + WebSocket server on N loop threads.
//
//   duplex::server srv({.port = 9001});
//   srv.websocket("/echo", {}, {.on_message = [](duplex::websocket& ws, std::string_view m,
//                                                duplex::message_type t) { ws.send(m, t); }});
//   srv.listen();          // binds (port 0 picks one: see port())
//   srv.run();             // until stop()
//
// Configure routes before listen(). run() blocks the calling thread until stop() (safe from any
// thread and from a signal-handling thread) has closed every listener and connection.
//
// HTTP routes answer now or later:
//   srv.route("POST", "/api/publish", [](const duplex::http_request& req, duplex::http_responder r) {
//     r({.status = 200, .content_type = "application/json", .body = "{}"});
//   });
// A handler may keep the responder (copy it into a task) and call it later on the same loop
// thread; meanwhile that connection's later requests wait, so replies stay in order.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "duplex/websocket.h"

namespace duplex {

// The library's thread interface (src/base/executor.h: post a task to a thread, timers).
// Declared only: a public header names our own types without including internal headers.
class executor;
namespace http {
class route_target;  // src/http/server_connection.h; for internal_route()
}

struct server_options {
  std::string host = "0.0.0.0";  // "::" for dual-stack IPv6
  std::uint16_t port = 8000;     // 0 = pick a free port
  unsigned threads = 0;          // loop threads; 0 = one per core
  std::string tls_cert_file;     // both set -> https:// and wss:// only
  std::string tls_key_file;
  // HTTP limits; a request over them is answered 414/431/413 and the connection closed.
  std::size_t max_request_line = 8192;
  std::size_t max_header_bytes = 16384;
  std::size_t max_headers = 64;
  std::size_t max_body = 1u << 20;
  // A request head must arrive within this long (else 408); an idle keep-alive connection
  // is closed after keepalive_timeout.
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds keepalive_timeout{30000};
};

// A plain HTTP reply for `server::get` and `server::route` handlers. The server writes the
// status line, Date, Content-Type (unless content_type is empty), Content-Length (none for 204
// and 304) and the body (none for 204, 304 and HEAD requests). A status outside 200-599 or a
// header with an invalid name or value (CR, LF or NUL: response splitting) turns the reply into
// a 500. Entries of `headers` named Content-Length, Transfer-Encoding, Connection or Date are
// ignored: the server owns the framing.
struct http_reply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra response header fields
};

// One HTTP request, as handed to a `server::route` handler. Every view, and the object itself,
// is valid only during the handler call: copy what a later reply needs.
struct http_request {
  std::string_view method;  // "GET", "POST", ... (case-sensitive, as sent)
  std::string_view target;  // path and query as received (still percent-encoded)
  std::string_view path;    // target without the query
  std::string_view query;   // after '?'; empty when none
  std::string_view body;    // the whole decoded body (Content-Length or chunked); may be empty

  // First header field with this name (case-insensitive), or nullopt. The value is without
  // surrounding whitespace.
  std::optional<std::string_view> header(std::string_view name) const;
  // The peer as "ip:port" (one getpeername per call); empty when unknown.
  std::string remote_address() const;

  struct source;                   // library internal
  const source* source_ = nullptr;  // set by the library; null in a default-made request
};

// Answers one HTTP request, now or later. Copyable; every copy answers the same request.
// Call it once, on the loop thread the handler ran on (post there from elsewhere). Calls after
// the first, and calls once the connection is gone (peer closed, server stopped, or the
// 120 s bound on an unanswered request passed, which answered 503), do nothing.
class http_responder {
 public:
  http_responder() = default;
  void operator()(http_reply reply) const;
  // True while the connection still waits for this reply.
  bool valid() const;

  struct state;  // library internal
  explicit http_responder(std::shared_ptr<state> s) noexcept : state_(std::move(s)) {}

 private:
  std::shared_ptr<state> state_;
};

struct server_stats {
  std::uint64_t connections = 0;  // WebSocket connections opened since start
  websocket_stats ws;
};

class server {
 public:
  explicit server(server_options options = {});
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // WebSocket endpoint at exactly `path` (the query string is ignored for matching). A GET
  // route (route(), get() or internal_route()) may share the path: requests asking for an
  // upgrade (Upgrade: websocket) come here, the others go to the route.
  server& websocket(std::string path, websocket_options options, websocket_handlers handlers);
  // Decides, after the handshake was validated and before the 101, whether it may proceed:
  // nullopt accepts; a reply refuses with it (and the connection closes). Runs on the loop
  // thread that will own the connection.
  using upgrade_check = std::function<std::optional<http_reply>(const http_request&)>;
  server& websocket(std::string path, websocket_options options, websocket_handlers handlers,
                    upgrade_check check);
  // Files under `root` served at `prefix` ("/" serves root/index.html at "/").
  server& static_files(std::string prefix, std::string root);
  // GET (and HEAD) handler for exactly `path`; runs on a loop thread.
  server& get(std::string path, std::function<http_reply(std::string_view target)> handler);
  // Handler for `method` ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH") at
  // exactly `path` (the query is ignored for matching); runs on a loop thread, after the whole
  // body arrived (within server_options::max_body, else 413). A GET route also serves HEAD
  // (the reply's body is then left out). Other paths get 404, other methods on this path 405.
  // A later route for the same method and path replaces the earlier one. Throws
  // std::invalid_argument for any other method name (a programming error, at set-up).
  server& route(std::string_view method, std::string path,
                std::function<void(const http_request&, http_responder)> handler);
  // OPTIONS at `path` for browsers on other origins (CORS preflight): an Origin in
  // `allowed_origins` (empty, or "*" listed: any) asking with Access-Control-Request-Method
  // gets 204 with Access-Control-Allow-Origin echoing it, Vary: Origin, Allow-Methods
  // `methods`, the asked-for Allow-Headers, Max-Age and, with `credentials`,
  // Access-Control-Allow-Credentials; another origin gets 403; a plain OPTIONS gets Allow.
  // The endpoint's own responses must carry the same fields (see http/cors.h).
  server& preflight(std::string path, std::vector<std::string> allowed_origins,
                    std::string methods, bool credentials = false);
  // For the library's own layers above the WebSocket core (SSE, Centrifugo transports, the
  // service): `method` at `path` (or every path under it when `prefix`) is served by an
  // http::route_target made once per loop thread by make(loop index), which may take the
  // stream over (long-lived responses). Applications use route() instead.
  using target_factory = std::function<std::unique_ptr<http::route_target>(std::size_t loop_index)>;
  server& internal_route(std::string_view method, std::string path, target_factory make,
                         bool prefix = false);
  // Runs once when graceful stop begins, on the thread running run(), before connections are
  // told to go away (e.g. to stop producers that would publish into closing connections).
  server& on_stop(std::function<void()> fn);

  // Starts the loop threads, without listeners yet, so that executors can be handed out before
  // connections arrive. Idempotent; listen() calls it when it was not called. Routes may still
  // be added until listen().
  std::error_code prepare();
  // After prepare(): the number of loop threads, and loop i's executor (i < threads()). The
  // executor lives until the server is destroyed.
  std::size_t threads() const;
  executor& thread_executor(std::size_t i);
  // The index of the calling loop thread (a duplex::server's), or SIZE_MAX when the caller is
  // not on a server loop thread.
  static std::size_t current_thread_index();

  // Opens the listeners; returns an error (address in use, bad TLS files) instead of throwing.
  std::error_code listen();
  // The bound port, valid after a successful listen().
  std::uint16_t port() const;
  // Serves until stop(). Returns when every loop thread has ended.
  void run();
  // Graceful stop: run the on_stop callbacks, close listeners, close every WebSocket with its
  // endpoint's websocket_options::shutdown_close_code (1001 by default), end idle HTTP
  // connections (busy ones after their reply), wait up to the longest close_timeout.
  // Thread-safe; idempotent.
  void stop();
  // Totals over all threads. Exact only after run() returned.
  server_stats stats() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace duplex
