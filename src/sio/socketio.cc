// The Socket.IO v5 server behind include/duplex/socketio.h, on the Engine.IO server
// (sio/engine.h): namespaces, middlewares, events, acks both ways, binary attachments, rooms
// and broadcasts across loop threads.
//
// Per loop thread, each namespace keeps the sockets that live on that thread and its rooms'
// members (room -> sockets); only that thread touches them. A broadcast encodes its packet
// once and posts it to every thread, which picks its own sockets from the rooms. Namespaces
// are made at set-up, or at a client's CONNECT for dynamic ones (under a mutex, never freed
// before the server), so their addresses are stable and every thread may hold them.
#include "duplex/socketio.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <map>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include "base/assert.h"
#include "base/executor.h"
#include "base/clock.h"
#include "base/utf8.h"
#include "http/query.h"
#include "hub/broker.h"
#include "hub/memory_broker.h"
#include "sio/codec/sio_decoder.h"
#include "sio/codec/sio_packet.h"
#include "sio/engine.h"
#include "sio/socket_access.h"

namespace duplex::io {

namespace codec = duplex::sio::codec;
using codec::sio_packet;
using codec::sio_packet_type;

namespace detail {

struct client;
struct server_state;

// A packet encoded once, shared by every thread that sends it.
struct encoded_packet {
  std::string text;
  std::vector<codec::binary_buffer> attachments;
  std::uint64_t offset = 0;  // a broadcast kept for recovery: its offset in the namespace's history
};

// A socket being restored on this thread (its session was found; the broadcasts it missed are
// being read from history): the broadcasts delivered here meanwhile that select it are held,
// then sent after the ones from history (those that history did not already hold).
struct restore_hold {
  std::string sid;
  std::unordered_set<std::string> rooms;  // without sid
  std::vector<std::shared_ptr<const encoded_packet>> held;

  // Whether a broadcast to `to` (empty: everyone) except the `except` rooms and the socket
  // `except_id` reaches this socket (its own room is its id).
  bool reached_by(const std::vector<std::string>& to, const std::vector<std::string>& except,
                  std::string_view except_id) const {
    auto in = [&](const std::string& r) { return r == sid || rooms.contains(r); };
    if (except_id == sid || std::any_of(except.begin(), except.end(), in)) return false;
    return to.empty() || std::any_of(to.begin(), to.end(), in);
  }
};

// A socket's own room (its id) is not stored in `rooms`: by_id answers it, which saves a
// room entry per socket.
struct thread_part {
  std::unordered_map<std::string_view, socket_state*> by_id;  // keys view socket_state::id
  std::unordered_map<std::string, std::unordered_set<socket_state*>> rooms;
  std::vector<std::shared_ptr<restore_hold>> restoring;
};

struct namespace_state {
  namespace_state(server_state& s, std::string n, std::size_t threads)
      : srv(s), name(std::move(n)), threads(threads) {}
  server_state& srv;
  std::string name;
  namespace_ facade{*this};
  std::vector<middleware> middlewares;
  std::vector<connection_handler> on_connection;
  std::unordered_map<std::string, event_handler> handlers;  // namespace_::on(), for every socket
  std::vector<thread_part> threads;  // by loop index
  // Dynamic parent: the matcher, and the children made from it (guarded by server's mutex).
  std::function<bool(std::string_view)> matches;
  std::vector<namespace_state*> children;
  namespace_state* parent = nullptr;
};

struct pending_ack {
  reply_fn reply;
  timer_id timer = 0;
};

struct socket_state {
  socket_state(client& c, namespace_state& n, std::string sid, io::handshake h)
      : cl(c), ns(n), id(std::move(sid)), hs(std::move(h)) {}
  socket facade{*this};
  client& cl;
  namespace_state& ns;
  std::string id;
  std::string pid;  // private id for connection state recovery ("" when off)
  io::handshake hs;
  std::unordered_set<std::string> rooms;  // joined rooms, without its own (id)
  std::unordered_map<std::string, event_handler> handlers;
  std::vector<std::function<void(const json&, next_fn)>> packet_middlewares;
  std::vector<disconnect_handler> on_disconnect;
  std::unordered_map<std::uint64_t, pending_ack> acks;
  std::uint64_t next_ack = 0;
  bool connected = false;
  bool recovered = false;
  std::vector<std::shared_ptr<const encoded_packet>> missed;  // recovered broadcasts to replay
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
};

// One Engine.IO session and the namespaces it joined.
struct client {
  client(server_state& s, sio::engine_socket& c, std::size_t t) : srv(s), conn(c), thread(t) {}
  server_state& srv;
  sio::engine_socket& conn;
  std::size_t thread;
  codec::sio_decoder decoder;
  std::unordered_map<std::string, socket_state*> sockets;  // by namespace
  std::size_t connecting = 0;                              // CONNECTs in their middlewares
  timer_id connect_timer = 0;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
};

// "a=1&b=x%20y" -> {"a":"1","b":"x y"}; undecodable pairs are left out, a repeated key keeps
// its last value.
json query_object(std::string_view query) {
  json out = json::object();
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    std::string key, value;
    if (!http::form_decode(pair.substr(0, eq), key) || key.empty()) continue;
    if (eq != std::string_view::npos && !http::form_decode(pair.substr(eq + 1), value)) continue;
    if (!is_valid_utf8(key) || !is_valid_utf8(value)) continue;  // json strings are UTF-8
    out[key] = value;
  }
  return out;
}

io::handshake handshake_of(const sio::engine_handshake& eh, json auth) {
  return io::handshake{.auth = std::move(auth), .query = query_object(eh.query),
                       .address = eh.address, .origin = eh.origin, .user_agent = eh.user_agent,
                       .cookie = eh.cookie, .authorization = eh.authorization, .time = eh.time};
}

std::string new_socket_id() {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  unsigned char raw[20];
  DUPLEX_ASSERT(RAND_bytes(raw, sizeof raw) == 1);
  std::string id;
  id.reserve(sizeof raw);
  for (unsigned char b : raw) id += alphabet[b & 63];
  return id;
}

struct server_state final : sio::engine_handler {
  server_state(duplex::server& s, server_options o)
      : http(s), opt(std::move(o)), engine(engine_options_of(opt), *this) {
    if (recovery()) {
      rbroker = opt.recovery_broker;
      if (rbroker == nullptr) {
        own_broker = std::make_unique<hub::memory_broker>(
            hub::memory_broker_options{.now_ms = {}, .meta_ttl = opt.recovery_window});
        rbroker = own_broker.get();
      }
    }
  }

  static sio::engine_options engine_options_of(const server_options& o) {
    sio::engine_options e;
    e.path = o.path;
    e.ping_interval = o.ping_interval;
    e.ping_timeout = o.ping_timeout;
    e.max_payload = o.max_http_buffer_size;
    e.allow_polling = o.polling;
    e.allow_websocket = o.websocket;
    e.allow_upgrades = o.allow_upgrades;
    e.permessage_deflate = o.permessage_deflate;
    e.cors_origins = o.cors_origins;
    e.cors_credentials = o.cors_credentials;
    e.max_ws_backpressure = o.max_output_bytes;
    e.max_polling_buffer = o.max_output_bytes;
    e.node_tag = o.node_tag;
    e.forward = o.forward;
    if (o.allow_request) {
      e.allow_request = [fn = o.allow_request](const sio::engine_handshake& eh) {
        return fn(handshake_of(eh, json::object()));
      };
    }
    return e;
  }

  duplex::server& http;
  server_options opt;
  sio::engine_server engine;
  std::vector<executor*> execs;
  std::mutex mu;  // namespaces, dynamic children
  std::map<std::string, std::unique_ptr<namespace_state>, std::less<>> namespaces;
  std::vector<std::unique_ptr<namespace_state>> dynamic;  // parents
  std::vector<std::unique_ptr<namespace_state>> children;
  std::atomic<std::size_t> sockets{0};
  std::atomic<std::uint64_t> bad_packets{0};
  // Broadcast acks share one id per broadcast, above what a socket's own counter reaches.
  std::atomic<std::uint64_t> next_broadcast_ack{std::uint64_t{1} << 48};

  // Connection state recovery (options.recovery_window > 0), as Socket.IO's session-aware
  // adapters, on a hub broker's channel history (the server's own memory broker unless
  // options.recovery_broker names one): a namespace's non-volatile broadcasts are published to
  // channel "_sio:b:<nsp>" (history: recovery_history_size entries, kept for the window), then
  // delivered with "<offset>:<epoch>" as their last argument, which the client echoes back when
  // it reconnects; a socket that drops for a recoverable reason is kept for the window as the
  // one publication of channel "_sio:s:<pid>". Memory is bounded by the history size.
  std::unique_ptr<hub::memory_broker> own_broker;
  hub::broker* rbroker = nullptr;
  std::atomic<std::uint64_t> next_sweep_ms{0};

  bool recovery() const noexcept { return opt.recovery_window.count() > 0; }

  // The calling loop thread's executor, else the first loop's.
  executor* here() const {
    for (executor* e : execs) {
      if (e->in_thread()) return e;
    }
    return execs.front();
  }

  hub::publish_options broadcast_history() const {
    return {.history_size = opt.recovery_history_size, .history_ttl = opt.recovery_window};
  }
  // Hub channel names (hub/channel_name.h: namespace "_sio"); a namespace name's bytes outside
  // [A-Za-z0-9/_.-] are written ~XX.
  static std::string broadcasts_channel(std::string_view nsp) {
    std::string c = "_sio:b:";
    for (const char ch : nsp) {
      const auto u = static_cast<unsigned char>(ch);
      if (std::isalnum(u) || ch == '/' || ch == '_' || ch == '.' || ch == '-') {
        c += ch;
      } else {
        constexpr char hex[] = "0123456789ABCDEF";
        c += '~';
        c += hex[u >> 4];
        c += hex[u & 15];
      }
    }
    return c;
  }
  static std::string session_channel(std::string_view pid) { return "_sio:s:" + std::string(pid); }
  static std::string offset_text(const hub::stream_position& p) {
    return std::to_string(p.offset) + ":" + p.epoch;
  }
  static std::optional<hub::stream_position> parse_offset(std::string_view t) {
    const std::size_t colon = t.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    hub::stream_position p;
    const auto r = std::from_chars(t.data(), t.data() + colon, p.offset);
    if (r.ec != std::errc{} || r.ptr != t.data() + colon || colon + 1 == t.size()) return std::nullopt;
    p.epoch = std::string(t.substr(colon + 1));
    return p;
  }

  // Our own memory broker drops streams nobody touched for a window; at most once a window.
  void maybe_sweep() {
    if (!own_broker) return;
    const std::uint64_t now = duplex::clock::now_ms();
    std::uint64_t due = next_sweep_ms.load(std::memory_order_relaxed);
    if (now < due || !next_sweep_ms.compare_exchange_strong(
                         due, now + static_cast<std::uint64_t>(opt.recovery_window.count()))) {
      return;
    }
    own_broker->sweep();
  }

  static bool recoverable(std::string_view reason) {
    return reason == "transport error" || reason == "transport close" || reason == "forced close" ||
           reason == "ping timeout" || reason == "server shutting down";
  }

  std::size_t thread_count() const noexcept { return execs.size(); }

  namespace_state& make_namespace(std::string name) {
    std::lock_guard lk(mu);
    auto it = namespaces.find(name);
    if (it != namespaces.end()) return *it->second;
    auto ns = std::make_unique<namespace_state>(*this, name, thread_count());
    namespace_state& r = *ns;
    namespaces.emplace(std::move(name), std::move(ns));
    return r;
  }

  // The namespace a CONNECT names: static, or a new child of a matching dynamic parent.
  namespace_state* lookup_for_connect(const std::string& name) {
    std::lock_guard lk(mu);
    if (auto it = namespaces.find(name); it != namespaces.end()) return it->second.get();
    for (auto& parent : dynamic) {
      if (!parent->matches(name)) continue;
      auto child = std::make_unique<namespace_state>(*this, name, thread_count());
      child->parent = parent.get();
      child->middlewares = parent->middlewares;
      child->on_connection = parent->on_connection;
      child->handlers = parent->handlers;
      parent->children.push_back(child.get());
      namespace_state* r = child.get();
      namespaces.emplace(name, std::move(child));
      return r;
    }
    return nullptr;
  }

  // ---- sending --------------------------------------------------------------------------------

  static void send_encoded(client& c, const encoded_packet& e) {
    c.conn.send(e.text, false);
    for (const codec::binary_buffer& b : e.attachments) {
      c.conn.send(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()), true);
    }
  }

  static bool encode(const sio_packet& p, encoded_packet& out) {
    const codec::sio_error err = codec::encode_sio_packet(p, out.text, out.attachments);
    if (err != codec::sio_error::none) {
      spdlog::error("socket.io: cannot encode a {} packet: {}", codec::to_string(p.type),
                    codec::to_string(err));
      return false;
    }
    return true;
  }

  static void send_packet(client& c, const sio_packet& p) {
    // Reused per thread: the text's capacity stays, so a steady stream of packets allocates
    // nothing here. send_encoded() copies it out before any other packet is encoded.
    thread_local encoded_packet reused;
    thread_local bool busy = false;
    if (busy) {  // re-entered from inside a send (a close callback that emits): no sharing
      encoded_packet own;
      if (encode(p, own)) send_encoded(c, own);
      return;
    }
    busy = true;
    reused.text.clear();
    reused.attachments.clear();
    if (encode(p, reused)) send_encoded(c, reused);
    busy = false;
  }

  // ---- engine_handler -------------------------------------------------------------------------

  void on_open(sio::engine_socket& s) override {
    auto* c = new client(*this, s, s.owner());
    s.user_data = c;
    if (opt.connect_timeout.count() > 0) {
      c->connect_timer = execs[c->thread]->run_after(opt.connect_timeout, [c] {
        c->connect_timer = 0;
        if (c->sockets.empty() && c->connecting == 0) c->conn.close();
      });
    }
  }

  void on_message(sio::engine_socket& s, std::string_view data, bool binary) override {
    auto* c = static_cast<client*>(s.user_data);
    if (c == nullptr) return;
    sio_packet p;
    const codec::sio_decoder::result r =
        binary ? c->decoder.feed_binary(data, p) : c->decoder.feed_text(data, p);
    if (!r.ok()) {
      bad_packets.fetch_add(1, std::memory_order_relaxed);
      spdlog::debug("socket.io {}: bad packet: {}", s.id(), codec::to_string(r.error));
      return s.close();
    }
    if (r.complete) on_packet(*c, std::move(p));
  }

  void on_close(sio::engine_socket& s, std::string_view reason) override {
    auto* c = static_cast<client*>(std::exchange(s.user_data, nullptr));
    if (c == nullptr) return;
    *c->alive = false;
    if (c->connect_timer) execs[c->thread]->cancel(c->connect_timer);
    std::vector<socket_state*> all;
    for (auto& [n, so] : c->sockets) all.push_back(so);
    for (socket_state* so : all) disconnect(*so, reason, false);
    delete c;
  }

  // ---- packets from a client ------------------------------------------------------------------

  void on_packet(client& c, sio_packet p) {
    switch (p.type) {
      case sio_packet_type::connect: return on_connect(c, std::move(p));
      case sio_packet_type::disconnect:
        if (auto it = c.sockets.find(p.nsp); it != c.sockets.end()) {
          disconnect(*it->second, "client namespace disconnect", false);
        }
        return;
      case sio_packet_type::event:
      case sio_packet_type::binary_event: {
        auto it = c.sockets.find(p.nsp);
        if (it == c.sockets.end()) return;  // not connected to that namespace: ignored
        const json& name = p.data[0];
        if (name.is_string() && codec::is_reserved_event_name(name.get_ref<const std::string&>())) {
          bad_packets.fetch_add(1, std::memory_order_relaxed);
          return c.conn.close();
        }
        return on_event(*it->second, std::move(p));
      }
      case sio_packet_type::ack:
      case sio_packet_type::binary_ack: {
        auto it = c.sockets.find(p.nsp);
        if (it == c.sockets.end() || !p.ack_id) return;
        socket_state& so = *it->second;
        auto a = so.acks.find(*p.ack_id);
        if (a == so.acks.end()) return;
        pending_ack pa = std::move(a->second);
        so.acks.erase(a);
        if (pa.timer) execs[c.thread]->cancel(pa.timer);
        pa.reply(std::nullopt, std::move(p.data));
        return;
      }
      case sio_packet_type::connect_error:  // only servers send it
        bad_packets.fetch_add(1, std::memory_order_relaxed);
        return c.conn.close();
    }
  }

  void on_connect(client& c, sio_packet p) {
    namespace_state* ns = lookup_for_connect(p.nsp);
    if (ns == nullptr) {
      sio_packet e{.type = sio_packet_type::connect_error, .nsp = p.nsp,
                   .data = json{{"message", "Invalid namespace"}}};
      return send_packet(c, e);
    }
    if (c.sockets.contains(p.nsp)) return;  // already connected there: ignored, as Socket.IO does
    io::handshake hs = handshake_of(c.conn.handshake(),
                                    p.data.is_object() ? std::move(p.data) : json::object());
    if (recovery() && try_restore(c, *ns, hs)) return;
    auto* so = new socket_state(c, *ns, new_socket_id(), std::move(hs));
    ++c.connecting;
    run_middlewares(*so, 0);
  }

  // A CONNECT whose auth carries {pid, offset}: looked up in the broker (the session, then
  // the broadcasts after `offset`) while the client waits. A session still kept comes back with
  // its id, rooms and data, skips the middlewares (Socket.IO's skipMiddlewares), and gets the
  // broadcasts after `offset` that its rooms select, right after the CONNECT reply. Anything
  // else (no such session, another namespace, the offset's broadcasts no longer all held)
  // connects the client afresh through the middlewares. Returns false when auth asks for no
  // restore (hs is left alone then).
  bool try_restore(client& c, namespace_state& ns, io::handshake& hs) {
    const json& auth = hs.auth;
    auto pid = auth.find("pid");
    auto offset = auth.find("offset");
    if (pid == auth.end() || offset == auth.end() || !pid->is_string() || !offset->is_string()) {
      return false;
    }
    struct restore {
      client* c;
      namespace_state* ns;
      std::weak_ptr<bool> alive;
      io::handshake hs;
      std::string pid;
      std::optional<hub::stream_position> since;
      json session;
    };
    std::string pid_text = pid->get<std::string>();
    std::optional<hub::stream_position> since = parse_offset(offset->get_ref<const std::string&>());
    auto r = std::make_shared<restore>(
        restore{&c, &ns, c.alive, std::move(hs), std::move(pid_text), std::move(since), {}});
    ++c.connecting;
    maybe_sweep();
    executor* on = execs[c.thread];
    // Not restored: a fresh socket through the middlewares, as without {pid, offset}.
    auto afresh = [this](restore& r) {
      auto* so = new socket_state(*r.c, *r.ns, new_socket_id(), std::move(r.hs));
      run_middlewares(*so, 0);  // takes over the ++connecting
    };
    const std::size_t thread = c.thread;
    rbroker->history(session_channel(r->pid), {.since = {}, .limit = 1, .reverse = true}, on,
                     [this, r, on, afresh, thread](hub::history_result hr) {
      if (r->alive.expired()) return;
      if (hr.err != hub::error::ok || hr.pubs.empty() || !r->since) return afresh(*r);
      r->session = json::from_cbor(hr.pubs.front().data.view(), true, false);
      if (!r->session.is_object() || r->session.value("nsp", json()) != r->ns->name ||
          !r->session.value("sid", json()).is_string()) {
        return afresh(*r);
      }
      rbroker->remove_history(session_channel(r->pid), nullptr, nullptr);  // restored at most once
      // From here on, what is broadcast to it on this thread is held until history has answered.
      auto hold = std::make_shared<restore_hold>();
      hold->sid = r->session["sid"].get<std::string>();
      for (const json& room : r->session["rooms"]) {
        if (room.is_string()) hold->rooms.insert(room.get<std::string>());
      }
      auto& restoring = r->ns->threads[thread].restoring;
      restoring.push_back(hold);
      rbroker->history(broadcasts_channel(r->ns->name), {.since = r->since, .limit = -1}, on,
                       [this, r, afresh, hold, thread](hub::history_result h) {
        std::erase(r->ns->threads[thread].restoring, hold);
        if (r->alive.expired()) return;
        // Complete only when the broadcasts right after `since` are all still held.
        const bool complete =
            h.err == hub::error::ok &&
            (h.pubs.empty() ? h.position.offset == r->since->offset
                            : h.pubs.front().offset == r->since->offset + 1);
        if (!complete) return afresh(*r);
        finish_restore(*r->c, *r->ns, std::move(r->hs), r->pid, std::move(r->session["data"]), *hold,
                       h.pubs, std::max(r->since->offset, h.position.offset));
      });
    });
    return true;
  }

  // The session comes back: `pubs` are the broadcasts after the client's offset up to `top`,
  // hold.held what was broadcast on this thread while history was being read.
  void finish_restore(client& c, namespace_state& ns, io::handshake hs, const std::string& pid, json data,
                      restore_hold& hold, const std::vector<hub::publication>& pubs, std::uint64_t top) {
    // The stored selection's room names (anything else in the array is skipped).
    auto names = [](const json& a) {
      std::vector<std::string> v;
      if (a.is_array()) {
        for (const json& n : a) {
          if (n.is_string()) v.push_back(n.get<std::string>());
        }
      }
      return v;
    };
    std::vector<std::shared_ptr<const encoded_packet>> missed;
    for (const hub::publication& pub : pubs) {
      json b = json::from_cbor(pub.data.view(), true, false);
      if (!b.is_object() || !b["a"].is_array()) continue;
      // The sender's id was folded into the stored except rooms.
      if (!hold.reached_by(names(b["r"]), names(b["x"]), {})) continue;
      auto e = std::make_shared<encoded_packet>();
      json args = std::move(b["a"]);
      args.push_back(offset_text({pub.offset, pub.epoch}));
      e->offset = pub.offset;
      if (encode(sio_packet{.type = sio_packet_type::event, .nsp = ns.name, .data = std::move(args)}, *e)) {
        missed.push_back(std::move(e));
      }
    }
    for (auto& e : hold.held) {
      if (e->offset == 0 || e->offset > top) missed.push_back(std::move(e));
    }
    auto* so = new socket_state(c, ns, hold.sid, std::move(hs));
    so->pid = pid;
    so->recovered = true;
    so->facade.data = std::move(data);
    so->missed = std::move(missed);
    admit(*so);  // takes over the ++connecting
    if (so->connected) {
      for (const std::string& room : hold.rooms) join(*so, room);
    }
  }

  // Runs namespace middleware i, then the next, then admits the socket.
  void run_middlewares(socket_state& so, std::size_t i) {
    if (i == so.ns.middlewares.size()) return admit(so);
    std::weak_ptr<bool> client_alive = so.cl.alive;
    auto called = std::make_shared<bool>(false);
    next_fn next = [this, &so, i, client_alive, called](std::optional<connect_error> err) {
      if (std::exchange(*called, true) || client_alive.expired()) {
        return;  // called twice, or the client went away meanwhile (then `so` is gone too)
      }
      if (err) {
        --so.cl.connecting;
        sio_packet e{.type = sio_packet_type::connect_error, .nsp = so.ns.name,
                     .data = json{{"message", err->message}}};
        if (!err->data.is_null()) e.data["data"] = std::move(err->data);
        send_packet(so.cl, e);
        delete &so;
        return;
      }
      run_middlewares(so, i + 1);
    };
    try {
      so.ns.middlewares[i](so.facade, next);
    } catch (const std::exception& ex) {
      // Refused rather than left waiting for a next() that will not come.
      spdlog::error("socket.io middleware of {} threw: {}", so.ns.name, ex.what());
      next(connect_error{"server error", {}});
    }
  }

  void admit(socket_state& so) {
    client& c = so.cl;
    --c.connecting;
    if (c.sockets.contains(so.ns.name)) {
      delete &so;
      return;
    }
    so.connected = true;
    c.sockets.emplace(so.ns.name, &so);
    thread_part& tp = so.ns.threads[c.thread];
    tp.by_id.emplace(so.id, &so);
    sockets.fetch_add(1, std::memory_order_relaxed);
    if (c.connect_timer) {
      execs[c.thread]->cancel(c.connect_timer);
      c.connect_timer = 0;
    }
    sio_packet ok{.type = sio_packet_type::connect, .nsp = so.ns.name, .data = json{{"sid", so.id}}};
    if (recovery()) {
      if (so.pid.empty()) so.pid = new_socket_id();
      ok.data["pid"] = so.pid;
    }
    send_packet(c, ok);
    for (const auto& missed : std::exchange(so.missed, {})) send_encoded(c, *missed);
    std::weak_ptr<bool> alive = so.alive;
    for (const connection_handler& h : so.ns.on_connection) {
      h(so.facade);
      if (alive.expired()) return;  // disconnected inside the handler
    }
  }

  // nlohmann's destructor of a non-empty array or object first moves its children onto a
  // heap-allocated stack; dropping the children first (leaves, most often) spares that
  // allocation, one per event and one per ack on the echo path.
  static void drop(json& v) noexcept {
    if (v.is_array()) {
      v.get_ref<json::array_t&>().clear();
    } else if (v.is_object()) {
      v.get_ref<json::object_t&>().clear();
    }
  }

  // One event that asks for an ack or passes packet middlewares, on its way to its handler:
  // one allocation per event, shared by the ack (answered at most once, whoever holds a copy)
  // and by each middleware step's next (which counts only once, and only while it is the
  // current step).
  struct event_run {
    json args;  // the event's array, name first; emptied once the handler returns
    std::weak_ptr<bool> alive;
    std::uint64_t ack_id = 0;
    std::size_t step = 0;
    bool answered = false;
  };

  void on_event(socket_state& so, sio_packet p) {
    if (!p.ack_id && so.packet_middlewares.empty()) {
      json args = std::move(p.data);
      dispatch(so, args, ack_fn{});
      return drop(args);
    }
    auto run = std::make_shared<event_run>(event_run{std::move(p.data), so.alive, p.ack_id.value_or(0)});
    ack_fn ack;
    if (p.ack_id) {
      ack = [this, &so, run](json reply) {
        if (run->alive.expired() || std::exchange(run->answered, true)) return;
        if (!reply.is_array()) reply = json::array({std::move(reply)});
        sio_packet a{.type = sio_packet_type::ack, .nsp = so.ns.name, .ack_id = run->ack_id,
                     .data = std::move(reply)};
        send_packet(so.cl, a);
        drop(a.data);
      };
    }
    run_packet_middlewares(so, run, std::move(ack));
  }

  void run_packet_middlewares(socket_state& so, const std::shared_ptr<event_run>& run, ack_fn ack) {
    if (run->step == so.packet_middlewares.size()) {
      dispatch(so, run->args, std::move(ack));
      return drop(run->args);
    }
    const std::size_t i = run->step;
    next_fn next = [this, &so, i, run, ack = std::move(ack)](std::optional<connect_error> err) mutable {
      if (run->step != i || run->alive.expired()) return;
      run->step = i + 1;
      if (!err) run_packet_middlewares(so, run, std::move(ack));
    };
    so.packet_middlewares[i](run->args, std::move(next));
  }

  // Calls the event's handler (args[0] names it; the handler gets the rest, and may move from
  // them).
  void dispatch(socket_state& so, json& args, ack_fn ack) {
    const json& first = args[0];
    std::string dumped;
    const std::string& name = first.is_string() ? first.get_ref<const std::string&>() : (dumped = first.dump());
    auto h = so.handlers.empty() ? so.handlers.end() : so.handlers.find(name);
    if (h == so.handlers.end()) {
      h = so.ns.handlers.find(name);
      if (h == so.ns.handlers.end()) return;
    }
    const event_handler& handler = h->second;  // stays: handlers are only added on this thread
    args.erase(args.begin());  // the name
    try {
      handler(so.facade, args, std::move(ack));
    } catch (const std::exception& ex) {
      spdlog::error("socket.io handler for \"{}\" threw: {}", h->first, ex.what());
    }
  }

  // ---- rooms and disconnects (on the socket's thread) ------------------------------------------

  void join(socket_state& so, const std::string& room) {
    if (!so.connected || room == so.id || !so.rooms.insert(room).second) return;
    so.ns.threads[so.cl.thread].rooms[room].insert(&so);
  }
  void leave(socket_state& so, const std::string& room) {
    if (so.rooms.erase(room) == 0) return;
    auto& rooms = so.ns.threads[so.cl.thread].rooms;
    auto it = rooms.find(room);
    if (it == rooms.end()) return;
    it->second.erase(&so);
    if (it->second.empty()) rooms.erase(it);
  }

  void disconnect(socket_state& so, std::string_view reason, bool send_disconnect) {
    if (!so.connected) return;
    so.connected = false;
    client& c = so.cl;
    if (send_disconnect) send_packet(c, sio_packet{.type = sio_packet_type::disconnect, .nsp = so.ns.name});
    std::vector<std::string> rooms_before(so.rooms.begin(), so.rooms.end());
    for (const std::string& r : rooms_before) leave(so, r);
    so.ns.threads[c.thread].by_id.erase(so.id);
    c.sockets.erase(so.ns.name);
    sockets.fetch_sub(1, std::memory_order_relaxed);
    auto acks = std::move(so.acks);
    so.acks.clear();
    for (auto& [id, pa] : acks) {
      if (pa.timer) execs[c.thread]->cancel(pa.timer);
      pa.reply(std::string("socket has been disconnected"), json::array());
    }
    for (const disconnect_handler& h : so.on_disconnect) h(so.facade, reason);
    if (recovery() && !so.pid.empty() && recoverable(reason)) {
      json kept{{"sid", so.id}, {"nsp", so.ns.name}, {"rooms", rooms_before}, {"data", so.facade.data}};
      const std::vector<std::uint8_t> bytes = json::to_cbor(kept);
      hub::publication pub{.channel = session_channel(so.pid),
                           .data = shared_payload::copy_of(std::as_bytes(std::span(bytes)))};
      rbroker->publish(std::move(pub), {.history_size = 1, .history_ttl = opt.recovery_window},
                       nullptr, nullptr);
      maybe_sweep();
    }
    *so.alive = false;
    socket_state* p = &so;
    execs[c.thread]->post([p] { delete p; });
  }

  // ---- broadcasts -----------------------------------------------------------------------------

  // Sends `e` to this thread's sockets of `ns` that `sel` selects.
  void deliver_here(const broadcast::selection& sel, const std::shared_ptr<const encoded_packet>& e,
                    std::size_t thread);
  std::vector<namespace_state*> targets_of(const broadcast::selection& sel);
  void for_each_selected(const broadcast::selection& sel, std::size_t thread,
                         const std::function<void(socket_state&)>& fn);
  void on_every_thread(std::function<void(std::size_t)> fn) {
    auto shared = std::make_shared<std::function<void(std::size_t)>>(std::move(fn));
    const std::size_t here = duplex::server::current_thread_index();
    for (std::size_t i = 0; i < execs.size(); ++i) {
      if (i == here) continue;
      execs[i]->post([shared, i] { (*shared)(i); });
    }
    if (here < execs.size()) (*shared)(here);
  }
};

}  // namespace detail

// ---- broadcast ----------------------------------------------------------------------------------

struct broadcast::selection {
  detail::server_state* srv = nullptr;
  detail::namespace_state* ns = nullptr;
  std::vector<std::string> rooms;   // empty: every socket of the namespace
  std::vector<std::string> except;  // rooms
  std::string except_id;            // the sender, for socket::to()/broadcast_()
  bool volatile_ = false;
};

namespace detail {

std::vector<namespace_state*> server_state::targets_of(const broadcast::selection& sel) {
  if (!sel.ns->matches) return {sel.ns};
  std::lock_guard lk(mu);
  return sel.ns->children;
}

void server_state::for_each_selected(const broadcast::selection& sel, std::size_t thread,
                                     const std::function<void(socket_state&)>& fn) {
  for (namespace_state* ns : targets_of(sel)) {
    thread_part& tp = ns->threads[thread];
    auto excluded = [&](socket_state* so) {
      if (!sel.except_id.empty() && so->id == sel.except_id) return true;
      for (const std::string& r : sel.except) {
        if (so->id == r || so->rooms.contains(r)) return true;
      }
      return false;
    };
    std::vector<socket_state*> chosen;
    if (sel.rooms.empty()) {
      for (const auto& [id, so] : tp.by_id) {
        if (!excluded(so)) chosen.push_back(so);
      }
    } else {
      std::unordered_set<socket_state*> seen;
      for (const std::string& r : sel.rooms) {
        if (auto own = tp.by_id.find(r); own != tp.by_id.end()) {
          if (!excluded(own->second) && seen.insert(own->second).second) chosen.push_back(own->second);
        }
        auto it = tp.rooms.find(r);
        if (it == tp.rooms.end()) continue;
        for (socket_state* so : it->second) {
          if (!excluded(so) && seen.insert(so).second) chosen.push_back(so);
        }
      }
    }
    for (socket_state* so : chosen) fn(*so);
  }
}

void server_state::deliver_here(const broadcast::selection& sel,
                                const std::shared_ptr<const encoded_packet>& e, std::size_t thread) {
  for_each_selected(sel, thread, [&](socket_state& so) {
    if (sel.volatile_ && so.cl.conn.buffered() > 0) return;
    send_encoded(so.cl, *e);
  });
  if (sel.volatile_) return;
  for (namespace_state* ns : targets_of(sel)) {
    for (const auto& h : ns->threads[thread].restoring) {
      if (h->reached_by(sel.rooms, sel.except, sel.except_id)) h->held.push_back(e);
    }
  }
}

}  // namespace detail

broadcast broadcast::to(std::string room) const {
  auto s = std::make_shared<selection>(*sel_);
  s->rooms.push_back(std::move(room));
  return broadcast(std::move(s));
}
broadcast broadcast::except(std::string room) const {
  auto s = std::make_shared<selection>(*sel_);
  s->except.push_back(std::move(room));
  return broadcast(std::move(s));
}
broadcast broadcast::volatile_() const {
  auto s = std::make_shared<selection>(*sel_);
  s->volatile_ = true;
  return broadcast(std::move(s));
}
broadcast broadcast::compress(bool) const { return *this; }

void broadcast::emit(std::string_view event, json args) const {
  if (!args.is_array()) args = json::array({std::move(args)});
  args.insert(args.begin(), json(std::string(event)));
  detail::server_state* srv = sel_->srv;
  auto sel = sel_;
  if (sel->ns->matches) {
    // A dynamic parent: each child gets the packet under its own name.
    std::vector<detail::namespace_state*> children;
    {
      std::lock_guard lk(srv->mu);
      children = sel->ns->children;
    }
    for (detail::namespace_state* child : children) {
      auto s = std::make_shared<selection>(*sel);
      s->ns = child;
      broadcast(std::move(s)).emit(event, json(args.begin() + 1, args.end()));
    }
    return;
  }
  sio_packet p{.type = sio_packet_type::event, .nsp = sel->ns->name, .data = std::move(args)};
  if (srv->recovery() && !sel->volatile_) {
    // Published to the namespace's broadcast history first; delivered once the broker has given
    // it its offset, which goes out as the last argument (what the client echoes back).
    json rooms(sel->rooms);
    // The sender's own room (its id) stands for "except the sender" in the stored selection.
    json except(sel->except);
    if (!sel->except_id.empty()) except.push_back(sel->except_id);
    json kept{{"r", std::move(rooms)}, {"x", std::move(except)}, {"a", p.data}};
    const std::vector<std::uint8_t> bytes = json::to_cbor(kept);
    hub::publication pub{.channel = detail::server_state::broadcasts_channel(sel->ns->name),
                         .data = shared_payload::copy_of(std::as_bytes(std::span(bytes)))};
    srv->maybe_sweep();
    // The answer comes on a loop thread of ours (the caller's, else the first), so none runs
    // once the loops have stopped (the Redis broker may answer after the server is gone).
    srv->rbroker->publish(std::move(pub), srv->broadcast_history(), srv->here(),
                          [srv, sel, p = std::move(p)](hub::publish_result r) mutable {
      auto e = std::make_shared<detail::encoded_packet>();
      if (r.err == hub::error::ok && !r.position.epoch.empty()) {
        p.data.push_back(detail::server_state::offset_text(r.position));
        e->offset = r.position.offset;
      } else {
        spdlog::warn("socket.io: a broadcast of {} was not kept for recovery: {}", sel->ns->name,
                     hub::to_string(r.err));
      }
      if (!detail::server_state::encode(p, *e)) return;
      srv->on_every_thread([srv, sel, e](std::size_t t) { srv->deliver_here(*sel, e, t); });
    });
    return;
  }
  auto e = std::make_shared<detail::encoded_packet>();
  if (!detail::server_state::encode(p, *e)) return;
  srv->on_every_thread([srv, sel, e](std::size_t t) { srv->deliver_here(*sel, e, t); });
}

void broadcast::sockets_join(std::string room) const {
  detail::server_state* srv = sel_->srv;
  auto sel = sel_;
  srv->on_every_thread([srv, sel, room](std::size_t t) {
    srv->for_each_selected(*sel, t, [&](detail::socket_state& so) { srv->join(so, room); });
  });
}
void broadcast::sockets_leave(std::string room) const {
  detail::server_state* srv = sel_->srv;
  auto sel = sel_;
  srv->on_every_thread([srv, sel, room](std::size_t t) {
    srv->for_each_selected(*sel, t, [&](detail::socket_state& so) { srv->leave(so, room); });
  });
}
namespace {

// Gathers per-thread results on one "home" loop thread (the caller's, else loop 0) and calls
// the user's callback there once. Only the home thread touches it.
template <class Result>
struct gather {
  std::size_t home = 0;
  std::size_t threads_left = 0;
  std::size_t expected = 0;  // emit_with_ack: sockets the packet went to
  std::vector<Result> results;
  bool finished = false;
  timer_id timer = 0;
};

std::size_t home_thread(const detail::server_state& srv) {
  const std::size_t here = duplex::server::current_thread_index();
  return here < srv.execs.size() ? here : 0;
}

}  // namespace

void broadcast::emit_with_ack(
    std::string_view event, json args, std::chrono::milliseconds timeout,
    std::function<void(std::optional<std::string>, std::vector<json>)> done) const {
  detail::server_state* srv = sel_->srv;
  auto sel = sel_;
  if (!args.is_array()) args = json::array({std::move(args)});
  args.insert(args.begin(), json(std::string(event)));
  // One ack id for every receiver (the packet is encoded once), from a range per-socket ids
  // never reach.
  const std::uint64_t id = srv->next_broadcast_ack.fetch_add(1, std::memory_order_relaxed);
  auto g = std::make_shared<gather<json>>();
  g->home = home_thread(*srv);
  g->threads_left = srv->execs.size();
  auto user = std::make_shared<std::function<void(std::optional<std::string>, std::vector<json>)>>(
      std::move(done));
  auto finish = [g, user, srv](std::optional<std::string> err) {
    if (g->finished) return;
    g->finished = true;
    if (g->timer) srv->execs[g->home]->cancel(g->timer);
    if (*user) (*user)(std::move(err), std::move(g->results));
  };
  auto check_done = [g, finish] {
    if (g->threads_left == 0 && g->results.size() >= g->expected) finish(std::nullopt);
  };
  auto packet = std::make_shared<json>(std::move(args));
  auto start = [srv, sel, g, id, timeout, packet, finish, check_done] {
    if (timeout.count() > 0) {
      g->timer = srv->execs[g->home]->run_after(timeout, [g, finish] {
        g->timer = 0;
        finish(std::string("operation has timed out"));
      });
    }
    srv->on_every_thread([srv, sel, g, id, packet, check_done](std::size_t t) {
      std::map<std::string, detail::encoded_packet> by_nsp;  // a dynamic parent's children differ
      std::size_t sent = 0;
      srv->for_each_selected(*sel, t, [&](detail::socket_state& so) {
        auto it = by_nsp.find(so.ns.name);
        if (it == by_nsp.end()) {
          detail::encoded_packet e;
          sio_packet p{.type = sio_packet_type::event, .nsp = so.ns.name, .ack_id = id, .data = *packet};
          if (!detail::server_state::encode(p, e)) return;
          it = by_nsp.emplace(so.ns.name, std::move(e)).first;
        }
        so.acks[id] = detail::pending_ack{
            [srv, g, check_done](std::optional<std::string> err, json answer) {
              if (err) return;  // disconnected: counts as not answered
              srv->execs[g->home]->post([g, check_done, answer = std::move(answer)]() mutable {
                g->results.push_back(std::move(answer));
                check_done();
              });
            },
            0};
        detail::server_state::send_encoded(so.cl, it->second);
        ++sent;
      });
      srv->execs[g->home]->post([g, sent, check_done] {
        g->expected += sent;
        --g->threads_left;
        check_done();
      });
    });
  };
  if (duplex::server::current_thread_index() == g->home) start();
  else srv->execs[g->home]->post(std::move(start));
}

void broadcast::fetch_sockets(std::function<void(std::vector<socket_info>)> done) const {
  detail::server_state* srv = sel_->srv;
  auto sel = sel_;
  auto g = std::make_shared<gather<socket_info>>();
  g->home = home_thread(*srv);
  g->threads_left = srv->execs.size();
  auto user = std::make_shared<std::function<void(std::vector<socket_info>)>>(std::move(done));
  srv->on_every_thread([srv, sel, g, user](std::size_t t) {
    std::vector<socket_info> found;
    srv->for_each_selected(*sel, t, [&](detail::socket_state& so) {
      found.push_back({so.id, so.ns.name, so.facade.rooms(), so.hs, so.facade.data});
    });
    srv->execs[g->home]->post([g, user, found = std::move(found)]() mutable {
      for (socket_info& i : found) g->results.push_back(std::move(i));
      if (--g->threads_left == 0 && *user) (*user)(std::move(g->results));
    });
  });
}

void broadcast::disconnect_sockets(bool close) const {
  detail::server_state* srv = sel_->srv;
  auto sel = sel_;
  srv->on_every_thread([srv, sel, close](std::size_t t) {
    std::vector<detail::socket_state*> chosen;
    srv->for_each_selected(*sel, t, [&](detail::socket_state& so) { chosen.push_back(&so); });
    for (detail::socket_state* so : chosen) so->facade.disconnect(close);
  });
}

// ---- socket -------------------------------------------------------------------------------------

const std::string& socket::id() const noexcept { return st_.id; }
const std::string& socket::nsp() const noexcept { return st_.ns.name; }
namespace_& socket::ns() const noexcept { return st_.ns.facade; }
const io::handshake& socket::handshake() const noexcept { return st_.hs; }
std::string_view socket::transport() const noexcept { return st_.cl.conn.transport(); }
bool socket::recovered() const noexcept { return st_.recovered; }
bool socket::connected() const noexcept { return st_.connected; }
std::vector<std::string> socket::rooms() const {
  std::vector<std::string> r{st_.id};
  r.insert(r.end(), st_.rooms.begin(), st_.rooms.end());
  return r;
}

socket& socket::on(std::string event, event_handler h) {
  st_.handlers[std::move(event)] = std::move(h);
  return *this;
}
socket& socket::use(std::function<void(const json&, next_fn)> mw) {
  st_.packet_middlewares.push_back(std::move(mw));
  return *this;
}
socket& socket::on_disconnect(disconnect_handler h) {
  st_.on_disconnect.push_back(std::move(h));
  return *this;
}

void socket::emit(std::string_view event, json args) {
  if (!st_.connected) return;
  if (!args.is_array()) args = json::array({std::move(args)});
  args.insert(args.begin(), json(std::string(event)));
  detail::server_state::send_packet(
      st_.cl, sio_packet{.type = sio_packet_type::event, .nsp = st_.ns.name, .data = std::move(args)});
}

void socket::emit_with_ack(std::string_view event, json args, std::chrono::milliseconds timeout,
                           reply_fn reply) {
  if (!st_.connected) return reply(std::string("socket has been disconnected"), json::array());
  if (!args.is_array()) args = json::array({std::move(args)});
  args.insert(args.begin(), json(std::string(event)));
  const std::uint64_t id = st_.next_ack++;
  detail::pending_ack pa{std::move(reply), 0};
  detail::server_state& srv = st_.cl.srv;
  if (timeout.count() > 0) {
    detail::socket_state* so = &st_;
    pa.timer = srv.execs[st_.cl.thread]->run_after(timeout, [so, id] {
      auto it = so->acks.find(id);
      if (it == so->acks.end()) return;
      detail::pending_ack p = std::move(it->second);
      so->acks.erase(it);
      p.reply(std::string("operation has timed out"), json::array());
    });
  }
  st_.acks.emplace(id, std::move(pa));
  detail::server_state::send_packet(
      st_.cl, sio_packet{.type = sio_packet_type::event, .nsp = st_.ns.name, .ack_id = id,
                         .data = std::move(args)});
}

void socket::join(std::string room) { st_.cl.srv.join(st_, room); }
void socket::leave(const std::string& room) { st_.cl.srv.leave(st_, room); }

broadcast socket::broadcast_() const {
  auto s = std::make_shared<broadcast::selection>();
  s->srv = &st_.cl.srv;
  s->ns = &st_.ns;
  s->except_id = st_.id;
  return broadcast(std::move(s));
}
broadcast socket::to(std::string room) const { return broadcast_().to(std::move(room)); }
broadcast socket::except(std::string room) const { return broadcast_().except(std::move(room)); }

void socket::disconnect(bool close) {
  if (!st_.connected) return;
  detail::client& c = st_.cl;
  c.srv.disconnect(st_, "server namespace disconnect", true);
  if (close) c.conn.close();
}

void socket::close_transport() { st_.cl.conn.close(); }

void send_encoded(socket& s, std::string_view sio_text) {
  if (s.connected()) s.state().cl.conn.send(sio_text, false);
}

std::size_t buffered(const socket& s) { return const_cast<socket&>(s).state().cl.conn.buffered(); }

// ---- namespace_ ---------------------------------------------------------------------------------

const std::string& namespace_::name() const noexcept { return st_.name; }
namespace_& namespace_::use(middleware mw) {
  st_.middlewares.push_back(std::move(mw));
  return *this;
}
namespace_& namespace_::on(std::string event, event_handler h) {
  st_.handlers[std::move(event)] = std::move(h);
  return *this;
}
namespace_& namespace_::on_connection(connection_handler h) {
  st_.on_connection.push_back(std::move(h));
  return *this;
}
broadcast namespace_::all() const {
  auto s = std::make_shared<broadcast::selection>();
  s->srv = &st_.srv;
  s->ns = &st_;
  return broadcast(std::move(s));
}
broadcast namespace_::to(std::string room) const { return all().to(std::move(room)); }
broadcast namespace_::except(std::string room) const { return all().except(std::move(room)); }

// ---- server -------------------------------------------------------------------------------------

server::server(duplex::server& srv, server_options options)
    : st_(std::make_unique<detail::server_state>(srv, std::move(options))) {
  st_->engine.add_to(srv);  // prepares the loops
  for (std::size_t i = 0; i < srv.threads(); ++i) st_->execs.push_back(&srv.thread_executor(i));
}

server::~server() = default;

namespace_& server::of(std::string name) {
  if (name.empty() || name.front() != '/') name.insert(name.begin(), '/');
  return st_->make_namespace(std::move(name)).facade;
}

namespace_& server::of(std::function<bool(std::string_view)> matches) {
  auto parent = std::make_unique<detail::namespace_state>(*st_, "<dynamic>", st_->thread_count());
  parent->matches = std::move(matches);
  namespace_& f = parent->facade;
  std::lock_guard lk(st_->mu);
  st_->dynamic.push_back(std::move(parent));
  return f;
}

server_stats server::stats() const {
  const sio::engine_stats e = st_->engine.stats();
  return {.connections = e.sessions,
          .sockets = st_->sockets.load(std::memory_order_relaxed),
          .upgrades = e.upgrades,
          .bad_packets = st_->bad_packets.load(std::memory_order_relaxed),
          .forwarded_out = e.forwarded_out,
          .forwarded_in = e.forwarded_in};
}

void server::serve_forwarded(bool post, std::string sid, std::string body,
                             std::function<void(int, std::string, std::string)> done) {
  st_->engine.serve_forwarded(post, std::move(sid), std::move(body), std::move(done));
}

const server_options& server::options() const noexcept { return st_->opt; }

}  // namespace duplex::io
