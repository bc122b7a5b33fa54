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
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "duplex/websocket.h"

namespace duplex {

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

// A plain HTTP reply for `server::get` handlers.
struct http_reply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
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

  // WebSocket endpoint at exactly `path` (the query string is ignored for matching).
  server& websocket(std::string path, websocket_options options, websocket_handlers handlers);
  // Files under `root` served at `prefix` ("/" serves root/index.html at "/").
  server& static_files(std::string prefix, std::string root);
  // GET (and HEAD) handler for exactly `path`; runs on a loop thread.
  server& get(std::string path, std::function<http_reply(std::string_view target)> handler);

  // Opens the listeners; returns an error (address in use, bad TLS files) instead of throwing.
  std::error_code listen();
  // The bound port, valid after a successful listen().
  std::uint16_t port() const;
  // Serves until stop(). Returns when every loop thread has ended.
  void run();
  // Graceful stop: close listeners, send 1001 to every WebSocket, wait up to close_timeout.
  // Thread-safe; idempotent.
  void stop();
  // Totals over all threads. Exact only after run() returned.
  server_stats stats() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace duplex
