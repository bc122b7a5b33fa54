// duplex public API: a Socket.IO 4.x server (Engine.IO v4 + Socket.IO v5) for the clients
// people already have: socket.io-client in browsers and Node, the Swift, Java, Python and C++
// clients. Modelled on Socket.IO's own server API:
//
//   duplex::server srv({.port = 3000});
//   duplex::io::server io(srv);
//   io.of("/").use([](duplex::io::socket& s, duplex::io::next_fn next) {
//     if (s.handshake().auth.value("token", "") == "bad") return next(duplex::io::connect_error{"unauthorized"});
//     next(std::nullopt);
//   });
//   io.of("/").on_connection([&](duplex::io::socket& s) {
//     s.join("lobby");
//     s.on("chat", [](duplex::io::socket& s, const duplex::io::json& args, duplex::io::ack_fn ack) {
//       s.to("lobby").emit("chat", args);       // everyone in the room but the sender
//       if (ack) ack({"ok"});
//     });
//   });
//   srv.listen(); srv.run();
//
// Values are nlohmann::json; binary buffers are json::binary values anywhere inside the
// arguments (sent as Socket.IO binary attachments, received the same way).
//
// Threads: each client connection lives on one loop thread; its sockets' handlers, acks and
// middlewares run there, and a `socket&` may be used only there, only until its disconnect
// handlers have run. Broadcasts (namespace::to(...).emit, socket::to(...).emit) may be made
// from any thread: the packet is encoded once and each loop thread sends it to its own
// sockets in the rooms. Set-up (of(), use(), on_connection()) happens before srv.listen().
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

#include <nlohmann/json.hpp>

#include "duplex/server.h"

namespace duplex::hub {
class broker;  // src/hub/broker.h: memory or Redis (the `duplex` program's --broker)
}

namespace duplex::io {

using json = nlohmann::json;

// What the client showed when it connected to the namespace.
struct handshake {
  json auth = json::object();   // the CONNECT packet's payload
  json query = json::object();  // the Engine.IO handshake's query parameters, decoded
  std::string address;         // "ip:port"
  std::string origin, user_agent, cookie, authorization;
  std::chrono::system_clock::time_point time;
};

struct server_options {
  std::string path = "/socket.io/";
  std::chrono::milliseconds ping_interval{25000};
  std::chrono::milliseconds ping_timeout{20000};
  // A client must CONNECT to a namespace within this long after the Engine.IO handshake.
  std::chrono::milliseconds connect_timeout{45000};
  std::size_t max_http_buffer_size = 1000000;  // largest message / polling POST
  bool polling = true;                          // transports
  bool websocket = true;
  bool allow_upgrades = true;
  bool permessage_deflate = false;
  std::vector<std::string> cors_origins;  // empty = any origin
  bool cors_credentials = false;
  // Connection state recovery (Socket.IO 4.6+): a client that reconnects within this long
  // gets its socket id, rooms and data back, and the broadcasts it missed. 0 = off.
  std::chrono::milliseconds recovery_window{0};
  // The broadcasts kept per namespace for recovery (the hub's channel history): a client that
  // missed more than this many, or reconnects after the window, connects afresh.
  std::size_t recovery_history_size = 10000;
  // Where the kept broadcasts and dropped sessions live: a hub broker's channel history
  // (channels "_sio:b:<nsp>" and "_sio:s:<pid>"). Null: an in-memory broker of this server's
  // own. Not owned; must outlive the server.
  hub::broker* recovery_broker = nullptr;
  // Unsent output per connection past which it is closed (slow consumer).
  std::size_t max_output_bytes = 4u << 20;
  // Socket.IO's allowRequest: called for each Engine.IO handshake with what the request
  // showed (auth is still empty then); a returned message refuses it (403, "Forbidden").
  std::function<std::optional<std::string>(const handshake&)> allow_request;
  // Several servers behind one address without sticky sessions (`duplex serve` with Redis):
  // every session id carries `node_tag` (up to 32 of [A-Za-z0-9_-]), and a long-polling request
  // for another node's session is handed to `forward` with that node's tag, to be answered by
  // that node's server::serve_forwarded (status 0 = unreachable: the client is told "Session ID
  // unknown"). WebSocket upgrades of another node's session are refused: the client stays on
  // polling.
  std::string node_tag;
  std::function<void(std::string node_tag, bool post, std::string sid, std::string body,
                     std::function<void(int status, std::string content_type, std::string body)> done)>
      forward;
};


struct connect_error {
  std::string message;
  json data;  // null = none
};

class socket;
class namespace_;

// Answers an event that asked for an acknowledgement; args is a JSON array. Call at most once
// (later calls do nothing), on the socket's thread.
using ack_fn = std::function<void(json args)>;
// A reply to emit_with_ack: `err` is set ("operation has timed out", "socket has been
// disconnected") when no answer came; args is the answer's array.
using reply_fn = std::function<void(std::optional<std::string> err, json args)>;
// An event handler: args is the array of the event's arguments (without its name), the
// handler's to keep or move from (`ack(std::move(args))` echoes without a copy); ack is empty
// when the client did not ask for one. A handler taking `const json&` fits as well.
using event_handler = std::function<void(socket&, json& args, ack_fn ack)>;
using next_fn = std::function<void(std::optional<connect_error>)>;
using middleware = std::function<void(socket&, next_fn next)>;
using connection_handler = std::function<void(socket&)>;
// reason as Socket.IO names them: "client namespace disconnect", "server namespace disconnect",
// "transport close", "transport error", "ping timeout", "parse error", "forced close",
// "server shutting down".
using disconnect_handler = std::function<void(socket&, std::string_view reason)>;

namespace detail {
struct server_state;
struct socket_state;
struct namespace_state;
}  // namespace detail

// A socket as fetch_sockets() reports it: a copy, usable on any thread.
struct socket_info {
  std::string id;
  std::string nsp;
  std::vector<std::string> rooms;
  io::handshake handshake;
  json data;
};

// A selection of sockets of one namespace to emit to: rooms (none = all), minus excepted
// rooms and, for socket::broadcast()/to(), the sender. Cheap to copy; usable from any thread.
class broadcast {
 public:
  broadcast to(std::string room) const;
  broadcast in(std::string room) const { return to(std::move(room)); }
  broadcast except(std::string room) const;
  // Dropped for a socket whose connection is not ready to write (Socket.IO's volatile).
  broadcast volatile_() const;
  broadcast compress(bool on) const;  // accepted for API parity; frames are not compressed
  void emit(std::string_view event, json args = json::array()) const;
  // Emits asking every selected socket for an acknowledgement; `done` runs once with the
  // answers (one array of arguments per socket that answered, in no particular order), and
  // err "operation has timed out" when not every socket answered within `timeout`. It runs on
  // the calling loop thread (loop 0 when called from elsewhere).
  void emit_with_ack(std::string_view event, json args, std::chrono::milliseconds timeout,
                     std::function<void(std::optional<std::string> err, std::vector<json> answers)> done) const;
  // The selected sockets, from every loop thread; `done` runs as for emit_with_ack.
  void fetch_sockets(std::function<void(std::vector<socket_info>)> done) const;
  // Every selected socket joins / leaves `room`, or is disconnected.
  void sockets_join(std::string room) const;
  void sockets_leave(std::string room) const;
  void disconnect_sockets(bool close = false) const;

  struct selection;  // library internal
  explicit broadcast(std::shared_ptr<const selection> s) noexcept : sel_(std::move(s)) {}

 private:
  std::shared_ptr<const selection> sel_;
};

class socket {
 public:
  const std::string& id() const noexcept;
  const std::string& nsp() const noexcept;
  const io::handshake& handshake() const noexcept;
  std::string_view transport() const noexcept;  // "polling" or "websocket"
  bool recovered() const noexcept;               // restored by connection state recovery
  std::vector<std::string> rooms() const;        // its own room (its id) included
  bool connected() const noexcept;

  socket& on(std::string event, event_handler h);
  // Runs for every event before its handler; call next(nullopt) to go on, or next(error) to
  // stop it (the client's ack, if any, is not answered). Socket.IO's socket.use().
  socket& use(std::function<void(const json& event_and_args, next_fn next)> mw);
  socket& on_disconnect(disconnect_handler h);

  void emit(std::string_view event, json args = json::array());
  // Emits asking for an acknowledgement; `reply` runs once, with the client's answer or an
  // error after `timeout` (0 = wait until the socket disconnects).
  void emit_with_ack(std::string_view event, json args, std::chrono::milliseconds timeout,
                     reply_fn reply);
  void join(std::string room);
  void leave(const std::string& room);
  // Its namespace (to broadcast to rooms including this socket: ns().to(room)).
  namespace_& ns() const noexcept;
  // To the room's sockets (or all the namespace's), except this one.
  broadcast to(std::string room) const;
  broadcast except(std::string room) const;
  broadcast broadcast_() const;
  // Leaves the namespace (the client gets a DISCONNECT packet); with close, ends the whole
  // connection too.
  void disconnect(bool close = false);
  // Ends the underlying connection without a DISCONNECT packet: the client sees a transport
  // close and reconnects by itself (Socket.IO's socket.conn.close()).
  void close_transport();

  json data;  // the application's, restored by connection state recovery

  explicit socket(detail::socket_state& st) noexcept : st_(st) {}
  detail::socket_state& state() noexcept { return st_; }

 private:
  detail::socket_state& st_;
};

class namespace_ {
 public:
  const std::string& name() const noexcept;
  namespace_& use(middleware mw);
  namespace_& on_connection(connection_handler h);
  // A handler for `event` from every socket of the namespace (a socket's own on() for the
  // same event wins). Costs nothing per socket, unlike socket::on() in on_connection.
  namespace_& on(std::string event, event_handler h);
  broadcast to(std::string room) const;
  broadcast except(std::string room) const;
  broadcast all() const;
  void emit(std::string_view event, json args = json::array()) const { all().emit(event, std::move(args)); }

  explicit namespace_(detail::namespace_state& st) noexcept : st_(st) {}

 private:
  detail::namespace_state& st_;
};

struct server_stats {
  std::size_t connections = 0;  // Engine.IO sessions
  std::size_t sockets = 0;      // namespace connections
  std::uint64_t upgrades = 0;
  std::uint64_t bad_packets = 0;
  std::uint64_t forwarded_out = 0;  // polling requests handed to another node
  std::uint64_t forwarded_in = 0;   // polling requests served for another node
};

class server {
 public:
  // Attaches to `srv` (calls srv.prepare()): routes at options.path for polling and
  // WebSocket, CORS preflight, a stop hook.
  explicit server(duplex::server& srv, server_options options = {});
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // The namespace `name` ("/" and "/chat" style), made on first use.
  namespace_& of(std::string name);
  // A dynamic namespace: every name `matches` accepts gets a child namespace on its first
  // CONNECT, with this parent's middlewares and connection handlers.
  namespace_& of(std::function<bool(std::string_view name)> matches);

  // A long-polling GET (post = false) or POST that another node received for a session of this
  // one (server_options::forward there). done runs once, on any thread; a GET may be held
  // until there is something to send.
  void serve_forwarded(bool post, std::string sid, std::string body,
                       std::function<void(int status, std::string content_type, std::string body)> done);

  server_stats stats() const;
  const server_options& options() const noexcept;

 private:
  std::unique_ptr<detail::server_state> st_;
};

}  // namespace duplex::io
