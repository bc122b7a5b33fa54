// Engine.IO v4 server (socketio/socket.io docs/engine.io-protocol/v4-current.md): sessions over
// HTTP long-polling and WebSocket, the upgrade from one to the other, heartbeats, CORS, and
// session lookup from any loop thread (no sticky sessions).
//
// Routes at `path` (default "/socket.io/"): GET (handshake and polls), POST (packets from the
// client), OPTIONS (CORS preflight), and the WebSocket endpoint at the same path; PUT, DELETE
// and PATCH get Engine.IO's 400 (code 2 without a sid, 3 with one). Requests:
//   GET  ?EIO=4&transport=polling            handshake: 200 "0{open json}"
//   GET  ?EIO=4&transport=polling&sid=S      poll: held until packets are queued (a ping comes
//                                            every ping_interval), then the payload
//   POST ?EIO=4&transport=polling&sid=S      packets, '\x1e'-separated: 200 "ok"
//   WS   ?EIO=4&transport=websocket[&sid=S]  a WebSocket session, or the upgrade of S
// Errors are 400 (403 for a refused request) with Engine.IO's JSON body {"code","message"}:
// 0 transport unknown, 1 session ID unknown, 2 bad handshake method, 3 bad request,
// 4 forbidden, 5 unsupported protocol version. A POST over max_payload is 413 and ends the
// session. A second GET while one is held ends the session (the held one gets a close packet,
// the second 400); a held GET whose connection goes away ends it too; a malformed POST gets
// 400 and ends it; a second WebSocket for a session is closed.
//
// Threads: a session lives on the loop thread where its handshake arrived (its "owner"; the
// sid's last two characters name it). A poll or POST arriving on another thread is handed to
// the owner and answered back on its own thread; a WebSocket upgrade opened on another thread
// stays there and its frames cross over both ways. So polling clients behind a load balancer
// that spreads requests over connections keep their sessions. WebSocket-only sessions live on
// their connection's thread and never cross.
//
// Heartbeat: the server sends ping ("2") every ping_interval; no pong ("3") within
// ping_timeout of it ends the session ("ping timeout").
//
// Upgrade: the client opens the WebSocket with the sid and sends "2probe"; the server answers
// "3probe" and answers every held or new poll with noop ("6"); "5" completes the upgrade and
// what was queued goes over the WebSocket. After it, polls and POSTs for the session get 400
// (as they do for a session that started on a WebSocket).
//
// Known limit: sessions (and their Socket.IO sockets) still open when the server's loops stop
// are not freed (their frees are posted tasks that no longer run); a process exiting after
// stop() does not care, a long-lived process that stops and restarts servers would leak them.
//
// Thread safety: construct and add_to() before the server listens. Each engine_socket and its
// handler calls belong to the socket's owner thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "duplex/server.h"

namespace duplex::sio {

// What the handshake request showed, kept for the life of the session (Socket.IO's
// `socket.handshake`). Only these fields are kept, not every header: per-session memory.
struct engine_handshake {
  std::string query;    // raw query string of the first request
  std::string address;  // peer "ip:port"
  std::string origin;   // Origin header, if any
  std::string user_agent;
  std::string cookie;
  std::string authorization;
  std::chrono::system_clock::time_point time;
};

// The answer to a forwarded request: status, content type, body. Called once, on any thread.
using forwarded_reply = std::function<void(int status, std::string content_type, std::string body)>;

struct engine_options {
  std::string path = "/socket.io/";
  std::chrono::milliseconds ping_interval{25000};
  std::chrono::milliseconds ping_timeout{20000};
  // Largest POST body and WebSocket message (bytes); announced as maxPayload. Engine.IO's
  // maxHttpBufferSize.
  std::size_t max_payload = 1000000;
  bool allow_polling = true;    // Engine.IO's `transports` option
  bool allow_websocket = true;
  bool allow_upgrades = true;
  bool permessage_deflate = false;
  // CORS for polling from other origins: allowed origins (empty = any; a refused Origin gets
  // 403 on polling and on the WebSocket handshake) and whether credentials are allowed.
  std::vector<std::string> cors_origins;
  bool cors_credentials = false;
  // Engine.IO's allowRequest: called for each handshake (polling or WebSocket, on its loop
  // thread) with what the request showed; a returned message refuses it with 403
  // {"code":4,"message":"Forbidden"} (the message is logged).
  std::function<std::optional<std::string>(const engine_handshake&)> allow_request;
  // Unsent WebSocket output past which the session is closed (slow consumer).
  std::size_t max_ws_backpressure = 4u << 20;
  // Polling: packets queued for a session that does not poll, past which it is closed.
  std::size_t max_polling_buffer = 4u << 20;
  // Several nodes behind one address without sticky sessions (issue 7): every sid carries
  // `node_tag` (up to 32 of [A-Za-z0-9_-]; empty: one node), and a poll or POST whose sid names
  // another node is handed to `forward` with that node's tag; its answer goes to the client
  // (status 0: the owner could not be reached, answered 400 "Session ID unknown"). The owner
  // serves it with engine_server::serve_forwarded. A WebSocket upgrade for another node's sid
  // is refused (400), so such a client stays on polling; its WebSocket-first reconnects work
  // anywhere. A forwarded poll whose client goes away is not noticed by the owner (the
  // heartbeat ends the session).
  std::string node_tag;
  std::function<void(std::string node_tag, bool post, std::string sid, std::string body,
                     forwarded_reply done)>
      forward;
};


class engine_socket {
 public:
  virtual ~engine_socket() = default;
  virtual const std::string& id() const noexcept = 0;
  // "polling" or "websocket" (the current transport).
  virtual std::string_view transport() const noexcept = 0;
  virtual const engine_handshake& handshake() const noexcept = 0;
  // Loop index of the owner thread.
  virtual std::size_t owner() const noexcept = 0;
  // Queues one message packet (text must be UTF-8). Dropped after close.
  virtual void send(std::string_view data, bool binary = false) = 0;
  // Ends the session: the client gets a close packet ("1"); on_close follows.
  virtual void close() = 0;
  // Bytes queued and not yet written (polling buffer, or the WebSocket's unsent output when it
  // lives on this thread).
  virtual std::size_t buffered() const noexcept = 0;

  void* user_data = nullptr;  // the layer above's
};

class engine_handler {
 public:
  virtual ~engine_handler() = default;
  // A session opened (its open packet is queued).
  virtual void on_open(engine_socket& s) = 0;
  virtual void on_message(engine_socket& s, std::string_view data, bool binary) = 0;
  // The session ended; `s` is destroyed after this returns. Reasons as Engine.IO names them:
  // "transport close", "transport error", "ping timeout", "parse error", "forced close",
  // "server shutting down".
  virtual void on_close(engine_socket& s, std::string_view reason) = 0;
};

struct engine_stats {
  std::size_t sessions = 0;            // open now, all threads
  std::uint64_t handshakes = 0;        // total
  std::uint64_t upgrades = 0;          // polling -> websocket completed
  std::uint64_t bad_requests = 0;      // 4xx answered
  std::uint64_t cross_thread = 0;      // requests handed to another thread's session
  std::uint64_t forwarded_out = 0;     // polls/POSTs handed to another node (options.forward)
  std::uint64_t forwarded_in = 0;      // polls/POSTs served for another node
};

class engine_server {
 public:
  // `handler` must outlive the server's run().
  engine_server(engine_options options, engine_handler& handler);
  ~engine_server();
  engine_server(const engine_server&) = delete;
  engine_server& operator=(const engine_server&) = delete;

  // Adds the routes and a stop hook (every session closed with "server shutting down"). Call
  // after srv.prepare() (the engine keeps per-thread state for srv.threads() loops).
  void add_to(duplex::server& srv);

  // A poll (post = false) or POST that another node received for a session of this one
  // (engine_options::forward on that node). Answers through `done` exactly once, like the
  // request would have been answered here (a poll may be held until packets are queued). Any
  // thread, after add_to().
  void serve_forwarded(bool post, std::string sid, std::string body, forwarded_reply done);

  const engine_options& options() const noexcept;
  // Safe from any thread; counters are relaxed.
  engine_stats stats() const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace duplex::sio
