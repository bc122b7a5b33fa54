// sio_chat: a multi-room chat server on duplex::io (Socket.IO 4.x), with its browser page
// (examples/sio_chat/, bundled by the build into <build>/examples/sio_chat_web/ and served at
// "/"). Any socket.io-client can use it; the event contract:
//
//   connect with auth {name}     1..24 characters after trimming, no control characters; anything
//                                else is refused by the namespace middleware with connect_error
//                                "invalid name" (data {reason}).
//   join(room, ack)              room matches ^[A-Za-z0-9_-]{1,32}$. The joiner first gets
//                                history({room, messages}) with the room's last 50 messages,
//                                then everyone in the room (joiner included) gets presence;
//                                acks {ok: true, room} or {ok: false, error}.
//   leave(room, ack)             acks {ok: true, room} or {ok: false, error}; the others get presence.
//   message({room, text}, ack)   text: 1..1000 characters, not only whitespace, and the sender
//                                must be in the room. Everyone else in the room gets
//                                message(msg); the sender gets msg back in the ack as
//                                {ok: true, message: msg} (or {ok: false, error}).
//                                msg = {id, room, from, name, text, time}: id grows across the
//                                whole server, so clients order and de-duplicate by it.
//   typing(room)                 typing({room, id, name}) to the others in the room, volatile
//                                (dropped for a receiver whose connection is busy).
//   presence({room, version, members: [{id, name}]}) after every join, leave and disconnect;
//                                version grows per room: a client keeps the highest one it saw
//                                (presence events from different threads may overtake each other).
//
//   sio_chat [--port N] [--host ADDR] [--threads N] [--static DIR]
//
// Threads: sockets live on several loop threads, so the rooms, members and histories are kept
// in one chat_state behind a mutex. Broadcasts are made after the lock is released: a local
// delivery may run connection code, which must never run under our lock.
#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <CLI/CLI.hpp>

#include "duplex/server.h"
#include "serve_until_signal.h"
#include "duplex/socketio.h"

#ifndef SIO_CHAT_STATIC_ROOT
#define SIO_CHAT_STATIC_ROOT "sio_chat_web"
#endif

namespace {

using duplex::io::ack_fn;
using duplex::io::json;
using duplex::io::socket;

constexpr std::size_t max_name_chars = 24;
constexpr std::size_t max_text_chars = 1000;
constexpr std::size_t history_size = 50;
constexpr std::size_t max_rooms_per_socket = 8;
// Rooms with a history are kept after their last member left; past this many, an empty room
// is forgotten to make space, and a join that would need more is refused.
constexpr std::size_t max_rooms = 1000;

// Code points in valid UTF-8 (the Socket.IO codec hands us valid JSON strings).
std::size_t utf8_length(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// The trimmed name, or an empty string with `reason` set.
std::string valid_name(const json& auth, std::string& reason) {
  const json* name = auth.is_object() && auth.contains("name") ? &auth["name"] : nullptr;
  if (name == nullptr || !name->is_string()) {
    reason = "auth.name must be a string";
    return {};
  }
  const std::string_view n = trim(name->get_ref<const std::string&>());
  if (n.empty()) {
    reason = "the name is empty";
    return {};
  }
  if (utf8_length(n) > max_name_chars) {
    reason = "the name is longer than 24 characters";
    return {};
  }
  if (std::any_of(n.begin(), n.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
    reason = "the name has control characters";
    return {};
  }
  return std::string(n);
}

bool valid_room(std::string_view room) {
  if (room.empty() || room.size() > 32) return false;
  return std::all_of(room.begin(), room.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

json failure(std::string_view error) { return json{{"ok", false}, {"error", error}}; }

// Rooms, their members and histories. Thread-safe: every method locks; what it returns is a
// copy, to be sent after the lock is released.
class chat_state {
 public:
  struct snapshot {
    std::uint64_t version = 0;
    json members = json::array();   // [{id, name}], sorted by name then id
    json messages = json::array();  // the history, oldest first (join only)
  };

  // Adds socket `id` (called `name`) to `room`. Returns false with `error` set when it may not.
  bool join(const std::string& id, const std::string& name, const std::string& room, snapshot& out,
            std::string& error) {
    std::lock_guard lk(mu_);
    std::set<std::string>& mine = socket_rooms_[id];
    if (!mine.contains(room) && mine.size() >= max_rooms_per_socket) {
      error = "in too many rooms";
      if (mine.empty()) socket_rooms_.erase(id);
      return false;
    }
    if (!rooms_.contains(room) && !make_space_locked()) {
      error = "too many rooms on this server";
      if (mine.empty()) socket_rooms_.erase(id);
      return false;
    }
    mine.insert(room);
    room_state& r = rooms_[room];
    r.members[id] = name;
    ++r.version;
    out = snapshot_locked(r);
    for (const json& m : r.history) out.messages.push_back(m);
    return true;
  }

  // Removes `id` from `room`; false when it was not there.
  bool leave(const std::string& id, const std::string& room, snapshot& out) {
    std::lock_guard lk(mu_);
    auto s = socket_rooms_.find(id);
    if (s == socket_rooms_.end() || s->second.erase(room) == 0) return false;
    if (s->second.empty()) socket_rooms_.erase(s);
    room_state& r = rooms_[room];
    r.members.erase(id);
    ++r.version;
    out = snapshot_locked(r);
    return true;
  }

  // Removes `id` from all its rooms; returns each room with its new member list.
  std::vector<std::pair<std::string, snapshot>> leave_all(const std::string& id) {
    std::lock_guard lk(mu_);
    std::vector<std::pair<std::string, snapshot>> changed;
    auto s = socket_rooms_.find(id);
    if (s == socket_rooms_.end()) return changed;
    for (const std::string& room : s->second) {
      room_state& r = rooms_[room];
      r.members.erase(id);
      ++r.version;
      changed.emplace_back(room, snapshot_locked(r));
    }
    socket_rooms_.erase(s);
    return changed;
  }

  bool is_member(const std::string& id, const std::string& room) const {
    std::lock_guard lk(mu_);
    auto s = socket_rooms_.find(id);
    return s != socket_rooms_.end() && s->second.contains(room);
  }

  // Stamps `msg` with the next id and keeps it in the room's history.
  void record(const std::string& room, json& msg) {
    std::lock_guard lk(mu_);
    msg["id"] = ++last_message_id_;
    std::deque<json>& h = rooms_[room].history;
    h.push_back(msg);
    while (h.size() > history_size) h.pop_front();
  }

 private:
  struct room_state {
    std::map<std::string, std::string> members;  // socket id -> name
    std::deque<json> history;
    std::uint64_t version = 0;
  };

  static snapshot snapshot_locked(const room_state& r) {
    snapshot out;
    out.version = r.version;
    std::vector<std::pair<std::string, std::string>> people;  // name, id
    for (const auto& [id, name] : r.members) people.emplace_back(name, id);
    std::sort(people.begin(), people.end());
    for (const auto& [name, id] : people) out.members.push_back({{"id", id}, {"name", name}});
    return out;
  }

  // Room for one more room: true when there is, possibly after forgetting an empty one.
  bool make_space_locked() {
    if (rooms_.size() < max_rooms) return true;
    for (auto it = rooms_.begin(); it != rooms_.end(); ++it) {
      if (it->second.members.empty()) {
        rooms_.erase(it);
        return true;
      }
    }
    return false;
  }

  mutable std::mutex mu_;
  std::unordered_map<std::string, room_state> rooms_;
  std::unordered_map<std::string, std::set<std::string>> socket_rooms_;  // socket id -> rooms
  std::uint64_t last_message_id_ = 0;
};

json presence_event(const std::string& room, const chat_state::snapshot& s) {
  return {{"room", room}, {"version", s.version}, {"members", s.members}};
}

std::string str_arg(const json& args, std::size_t i) {
  return args.size() > i && args[i].is_string() ? args[i].get<std::string>() : std::string();
}

void on_connection(chat_state& chat, socket& s) {
  std::string reason;
  const std::string name = valid_name(s.handshake().auth, reason);  // checked by the middleware

  s.on("join", [&chat, name](socket& s, const json& args, ack_fn ack) {
    const std::string room = str_arg(args, 0);
    if (!valid_room(room)) {
      if (ack) ack({failure("invalid room name")});
      return;
    }
    // Join the Socket.IO room before the history is read: a message recorded after the read
    // is then broadcast to this socket too (the client drops duplicates by id).
    s.join(room);
    chat_state::snapshot snap;
    std::string error;
    if (!chat.join(s.id(), name, room, snap, error)) {
      if (!chat.is_member(s.id(), room)) s.leave(room);
      if (ack) ack({failure(error)});
      return;
    }
    s.emit("history", {json{{"room", room}, {"messages", std::move(snap.messages)}}});
    s.ns().to(room).emit("presence", {presence_event(room, snap)});
    if (ack) ack({json{{"ok", true}, {"room", room}}});
  });

  s.on("leave", [&chat](socket& s, const json& args, ack_fn ack) {
    const std::string room = str_arg(args, 0);
    chat_state::snapshot snap;
    if (!chat.leave(s.id(), room, snap)) {
      if (ack) ack({failure("not in this room")});
      return;
    }
    s.leave(room);
    s.ns().to(room).emit("presence", {presence_event(room, snap)});
    if (ack) ack({json{{"ok", true}, {"room", room}}});
  });

  s.on("message", [&chat, name](socket& s, const json& args, ack_fn ack) {
    const json body = args.empty() ? json() : args[0];
    const std::string room = body.is_object() ? body.value("room", "") : "";
    const json text = body.is_object() && body.contains("text") ? body["text"] : json();
    std::string error;
    if (!text.is_string()) {
      error = "text must be a string";
    } else if (trim(text.get_ref<const std::string&>()).empty()) {
      error = "empty message";
    } else if (utf8_length(text.get_ref<const std::string&>()) > max_text_chars) {
      error = "message longer than 1000 characters";
    } else if (!chat.is_member(s.id(), room)) {
      error = "not in this room";
    }
    if (!error.empty()) {
      if (ack) ack({failure(error)});
      return;
    }
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    json msg{{"room", room}, {"from", s.id()}, {"name", name}, {"text", text}, {"time", now.count()}};
    chat.record(room, msg);
    s.to(room).emit("message", {msg});
    if (ack) ack({json{{"ok", true}, {"message", std::move(msg)}}});
  });

  s.on("typing", [&chat, name](socket& s, const json& args, ack_fn) {
    const std::string room = str_arg(args, 0);
    if (!chat.is_member(s.id(), room)) return;
    s.to(room).volatile_().emit("typing", {json{{"room", room}, {"id", s.id()}, {"name", name}}});
  });

  s.on_disconnect([&chat](socket& s, std::string_view) {
    for (auto& [room, snap] : chat.leave_all(s.id())) {
      s.ns().to(room).emit("presence", {presence_event(room, snap)});
    }
  });
}

}  // namespace

int main(int argc, char** argv) {
  duplex::server_options opt{.host = "127.0.0.1", .port = 3000, .threads = 0};
  std::string static_root = SIO_CHAT_STATIC_ROOT;
  CLI::App app{"duplex Socket.IO chat example"};
  app.add_option("--port", opt.port, "port to listen on (0 = any)");
  app.add_option("--host", opt.host, "address to bind");
  app.add_option("--threads", opt.threads, "loop threads (0 = one per core)");
  auto* static_opt = app.add_option("--static", static_root, "the page's folder, served at /");
  CLI11_PARSE(app, argc, argv);

  // Without its page the server still serves Socket.IO clients; a folder asked for explicitly
  // must exist.
  std::error_code ec;
  const bool have_page = std::filesystem::is_directory(static_root, ec);
  if (!have_page && static_opt->count() > 0) {
    std::fprintf(stderr, "sio_chat: --static %s is not a directory\n", static_root.c_str());
    return 1;
  }
  if (!have_page) {
    std::fprintf(stderr,
                 "sio_chat: no page at %s (build the sio_chat_page target, after npm ci in "
                 "examples/sio_chat); serving Socket.IO only\n",
                 static_root.c_str());
  }

  const sigset_t signals = duplex::examples::block_stop_signals();

  chat_state chat;  // outlives the server: disconnect handlers run until srv.run() returns
  duplex::server srv(opt);
  duplex::io::server io(srv);

  io.of("/").use([](socket& s, duplex::io::next_fn next) {
    std::string reason;
    if (valid_name(s.handshake().auth, reason).empty()) {
      return next(duplex::io::connect_error{"invalid name", {{"reason", reason}}});
    }
    next(std::nullopt);
  });
  io.of("/").on_connection([&chat](socket& s) { on_connection(chat, s); });
  if (have_page) srv.static_files("/", static_root);

  return duplex::examples::serve_until_signal(srv, signals, "sio_chat");
}
