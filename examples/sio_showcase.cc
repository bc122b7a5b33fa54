// sio_showcase: one Socket.IO server exercising every feature of duplex::io, with the event
// contract the interop tests drive (socket.io-client, python-socketio, Chromium):
//   namespace "/": a middleware refuses auth.token == "bad" (message "unauthorized", data
//   {reason: "bad token"}); events
//     echo(...args, ack)            acks all args
//     whoami(ack)                   acks {id, nsp, auth, query, transport, rooms, recovered}
//     join(room, ack), leave(room, ack)        ack true
//     to-room(room, payload, ack)   room-msg(room, payload) to the room but the sender; acks true
//     broadcast(payload, ack)       bcast(payload) to everyone but the sender; acks true
//     ask-me(n, ack)                emits question(n) to the client, waits 2 s for its ack,
//                                   then acks {ok: true, answer} (or {ok: false, error})
//     no-ack(...)                   never acked
//     disconnect-me                 the server disconnects the socket
//     drop-transport                the server closes the Engine.IO connection
//     csr-prime(ack)                broadcasts primed("p") to the socket's own room; acks true
//     csr-drop-and-emit(payload[, n])   closes the transport; 50 ms later broadcasts
//                                   missed(payload, i) to the socket's own room n times
//                                   (default 1; i from 0)
//     poll-all(payload, timeout_ms, ack)   asks every other socket poll(payload) with a
//                                   broadcast ack; acks {error, answers} (error null when all
//                                   answered in time; answers: each socket's ack arguments)
//     fetch(room, ack)              acks the ids of the sockets in the room (every thread),
//                                   sorted
//     herd(room, to, ack) / unherd(room, to, ack)   the room's sockets join / leave `to`
//     kick-room(room, ack)          acks true, then disconnects the room's sockets
//     volatile-to(room, payload, ack)   vol(payload) to the room as a volatile broadcast
//     forbidden(...)                refused by a per-packet middleware: never handled
//   a handshake with ?deny=1 in its query is refused by allow_request (403 Forbidden);
//   namespace "/admin" and dynamic namespaces matching ^/dyn-\w+$ answer whoami.
//   sio_showcase [--port N] [--host ADDR] [--threads N] [--recovery]
//                [--recovery-history N] [--recovery-broker redis://HOST:PORT]
//   --recovery keeps broadcasts and dropped sessions for 2 minutes in a hub broker's channel
//   history: the server's own memory broker, or Redis, which several servers may share (a
//   client then recovers on whichever it reconnects to).
#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <thread>

#include <CLI/CLI.hpp>

#include "base/executor.h"
#include "duplex/server.h"
#include "net/loop.h"
#include "redis/endpoint.h"
#include "redis/redis_broker.h"
#include "serve_until_signal.h"
#include "duplex/socketio.h"

namespace {

using duplex::io::ack_fn;
using duplex::io::json;
using duplex::io::socket;

json whoami(const socket& s) {
  return {{"id", s.id()},
          {"nsp", s.nsp()},
          {"auth", s.handshake().auth},
          {"query", s.handshake().query},
          {"transport", std::string(s.transport())},
          {"rooms", s.rooms()},
          {"recovered", s.recovered()}};
}

void whoami_handler(socket& s, const json&, ack_fn ack) {
  if (ack) ack({whoami(s)});
}

void answer_whoami(socket& s) { s.on("whoami", whoami_handler); }

// The first argument as a string, or "".
std::string str_arg(const json& args, std::size_t i) {
  return args.size() > i && args[i].is_string() ? args[i].get<std::string>() : std::string();
}

// ^/dyn-\w+$
bool dynamic_name(std::string_view name) {
  constexpr std::string_view prefix = "/dyn-";
  if (name.size() <= prefix.size() || name.substr(0, prefix.size()) != prefix) return false;
  for (char c : name.substr(prefix.size())) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  duplex::server_options opt{.host = "127.0.0.1", .port = 3000, .threads = 1};
  bool recovery = false;
  CLI::App app{"duplex Socket.IO showcase server"};
  app.add_option("--port", opt.port, "port to listen on (0 = any)");
  app.add_option("--host", opt.host, "address to bind");
  app.add_option("--threads", opt.threads, "loop threads");
  app.add_flag("--recovery", recovery, "connection state recovery (2 min window)");
  std::size_t recovery_history = duplex::io::server_options{}.recovery_history_size;
  app.add_option("--recovery-history", recovery_history, "broadcasts kept per namespace for recovery");
  std::string recovery_broker;
  app.add_option("--recovery-broker", recovery_broker, "redis://HOST:PORT keeps them in Redis (default: memory)");
  CLI11_PARSE(app, argc, argv);

  const sigset_t signals = duplex::examples::block_stop_signals();  // before any thread starts

  // The Redis broker runs on a loop thread of its own, as in `duplex serve`.
  duplex::net::loop redis_loop;
  std::unique_ptr<duplex::redis::redis_broker> redis;
  std::thread redis_thread;
  if (!recovery_broker.empty()) {
    std::string bad;
    std::optional<duplex::redis::endpoint> where = duplex::redis::parse_url(recovery_broker, &bad);
    if (!where) {
      std::fprintf(stderr, "--recovery-broker: %s\n", bad.c_str());
      return 2;
    }
    duplex::redis::redis_broker_options ro;
    ro.where = *where;
    redis = std::make_unique<duplex::redis::redis_broker>(redis_loop, ro);
    redis_thread = std::thread([&redis_loop] { redis_loop.run(); });
  }
  // Once the server's loops have stopped (serve_until_signal returns) and before they are
  // destroyed: the broker answers what is pending into loops that no longer run them.
  auto stop_redis = [&] {
    if (!redis_thread.joinable()) return;
    redis_loop.post([&] {
      redis->shutdown();
      redis_loop.stop();
    });
    redis_thread.join();
  };


  duplex::server srv(opt);
  duplex::io::server_options io_opt;
  if (recovery) io_opt.recovery_window = std::chrono::minutes(2);
  io_opt.recovery_history_size = recovery_history;
  io_opt.recovery_broker = redis.get();
  // allowRequest: a handshake whose query has deny=1 is refused before any session exists.
  io_opt.allow_request = [](const duplex::io::handshake& h) -> std::optional<std::string> {
    if (h.query.value("deny", "") == "1") return "denied by allow_request";
    return std::nullopt;
  };
  duplex::io::server io(srv, io_opt);

  io.of("/").use([](socket& s, duplex::io::next_fn next) {
    const json& auth = s.handshake().auth;
    if (auth.is_object() && auth.value("token", json()) == "bad") {
      return next(duplex::io::connect_error{"unauthorized", {{"reason", "bad token"}}});
    }
    next(std::nullopt);
  });
  // Handlers of "/" are the namespace's, shared by every socket (no per-socket cost).
  duplex::io::namespace_& root = io.of("/");
  {
    root.on("whoami", whoami_handler);
    root.on("echo", [](socket&, json& args, ack_fn ack) {
      if (ack) ack(std::move(args));
    });
    root.on("join", [](socket& s, const json& args, ack_fn ack) {
      s.join(str_arg(args, 0));
      if (ack) ack({true});
    });
    root.on("leave", [](socket& s, const json& args, ack_fn ack) {
      s.leave(str_arg(args, 0));
      if (ack) ack({true});
    });
    root.on("to-room", [](socket& s, const json& args, ack_fn ack) {
      const std::string room = str_arg(args, 0);
      s.to(room).emit("room-msg", {room, args.size() > 1 ? args[1] : json()});
      if (ack) ack({true});
    });
    root.on("broadcast", [](socket& s, const json& args, ack_fn ack) {
      s.broadcast_().emit("bcast", {args.size() > 0 ? args[0] : json()});
      if (ack) ack({true});
    });
    root.on("ask-me", [](socket& s, const json& args, ack_fn ack) {
      s.emit_with_ack("question", {args.size() > 0 ? args[0] : json()}, std::chrono::seconds(2),
                      [ack](std::optional<std::string> err, json answer) {
                        if (!ack) return;
                        if (err) return ack({json{{"ok", false}, {"error", *err}}});
                        ack({json{{"ok", true}, {"answer", answer.empty() ? json() : answer[0]}}});
                      });
    });
    root.on("no-ack", [](socket&, const json&, ack_fn) {});
    root.on("poll-all", [](socket& s, const json& args, ack_fn ack) {
      const auto ms = std::chrono::milliseconds(args.size() > 1 && args[1].is_number() ? args[1].get<int>() : 1000);
      s.broadcast_().emit_with_ack("poll", {args.size() > 0 ? args[0] : json()}, ms,
                                   [ack](std::optional<std::string> err, std::vector<json> answers) {
                                     if (ack) ack({json{{"error", err ? json(*err) : json()}, {"answers", answers}}});
                                   });
    });
    root.on("fetch", [](socket& s, const json& args, ack_fn ack) {
      s.ns().to(str_arg(args, 0)).fetch_sockets([ack](std::vector<duplex::io::socket_info> found) {
        std::vector<std::string> ids;
        for (const auto& f : found) ids.push_back(f.id);
        std::sort(ids.begin(), ids.end());
        if (ack) ack(json::array({json(ids)}));  // not {ids}: a 2-string list would read as a key/value pair
      });
    });
    root.on("herd", [](socket& s, const json& args, ack_fn ack) {
      // Every socket in room args[0] (on every thread) joins room args[1].
      s.ns().to(str_arg(args, 0)).sockets_join(str_arg(args, 1));
      if (ack) ack({true});
    });
    root.on("unherd", [](socket& s, const json& args, ack_fn ack) {
      s.ns().to(str_arg(args, 0)).sockets_leave(str_arg(args, 1));
      if (ack) ack({true});
    });
    root.on("kick-room", [](socket& s, const json& args, ack_fn ack) {
      if (ack) ack({true});
      s.ns().to(str_arg(args, 0)).disconnect_sockets();
    });
    root.on("volatile-to", [](socket& s, const json& args, ack_fn ack) {
      s.ns().to(str_arg(args, 0)).volatile_().emit("vol", {args.size() > 1 ? args[1] : json()});
      if (ack) ack({true});
    });
    root.on("disconnect-me", [](socket& s, const json&, ack_fn) { s.disconnect(); });
    root.on("drop-transport", [](socket& s, const json&, ack_fn) { s.close_transport(); });
    root.on("csr-prime", [](socket& s, const json&, ack_fn ack) {
      s.ns().to(s.id()).emit("primed", {"p"});
      if (ack) ack({true});
    });
    root.on("csr-drop-and-emit", [&srv](socket& s, const json& args, ack_fn) {
      // Broadcast to the socket's own room through its namespace, 50 ms after the drop.
      duplex::io::broadcast room = s.ns().to(s.id());
      json payload = args.size() > 0 ? args[0] : json();
      const int n = args.size() > 1 && args[1].is_number_integer() ? args[1].get<int>() : 1;
      s.close_transport();
      srv.thread_executor(duplex::server::current_thread_index())
          .run_after(std::chrono::milliseconds(50), [room, payload, n] {
            for (int i = 0; i < n; ++i) room.emit("missed", json::array({payload, i}));
          });
    });
  }
  // A per-packet middleware (socket.use): events named "forbidden" never reach a handler.
  io.of("/").on_connection([](socket& s) {
    s.use([](const json& packet, duplex::io::next_fn next) {
      if (!packet.empty() && packet[0].is_string() && packet[0].get_ref<const std::string&>() == "forbidden") {
        return next(duplex::io::connect_error{"forbidden"});
      }
      next(std::nullopt);
    });
  });
  root.on("forbidden", [](socket&, const json&, ack_fn ack) {
    if (ack) ack({"should never run"});
  });
  io.of("/admin").on_connection(answer_whoami);
  io.of(dynamic_name).on_connection(answer_whoami);

  const int rc = duplex::examples::serve_until_signal(srv, signals, "sio_showcase");
  stop_redis();
  return rc;
}
