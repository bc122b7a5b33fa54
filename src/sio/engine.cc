// Engine.IO v4 sessions, polling and WebSocket transports, upgrade; see engine.h.
#include "sio/engine.h"

#include <algorithm>
#include <atomic>
#include <unordered_map>
#include <utility>

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include "base/assert.h"
#include "base/executor.h"
#include "http/cors.h"
#include "http/query.h"
#include "http/response.h"
#include "http/server_connection.h"
#include "sio/codec/eio_packet.h"

namespace duplex::sio {

namespace {

using codec::eio_packet;
using codec::eio_packet_type;
using codec::eio_packet_view;

constexpr char sid_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::size_t sid_random_chars = 20;
constexpr std::size_t max_threads = 64 * 64;  // what two sid characters can name
constexpr std::size_t max_node_tag = 32;

// Engine.IO's error table (engine.io server.ts `errorMessages`).
enum class eio_error_code : int {
  unknown_transport = 0,
  unknown_sid = 1,
  bad_handshake_method = 2,
  bad_request = 3,
  forbidden = 4,
  unsupported_protocol_version = 5,
};

std::string_view message_of(eio_error_code c) {
  switch (c) {
    case eio_error_code::unknown_transport: return "Transport unknown";
    case eio_error_code::unknown_sid: return "Session ID unknown";
    case eio_error_code::bad_handshake_method: return "Bad handshake method";
    case eio_error_code::bad_request: return "Bad request";
    case eio_error_code::forbidden: return "Forbidden";
    case eio_error_code::unsupported_protocol_version: return "Unsupported protocol version";
  }
  return "Bad request";
}

// {"code":N,"message":"..."}; the messages are fixed ASCII text.
std::string error_body(eio_error_code c) {
  std::string b = "{\"code\":";
  b += std::to_string(static_cast<int>(c));
  b += ",\"message\":\"";
  b += message_of(c);
  b += "\"}";
  return b;
}

// A new session id: 120 random bits (CSPRNG: the sid is the only credential a polling
// request carries), the node tag (several nodes), then the owner thread in two characters.
std::string new_sid(std::string_view node_tag, std::size_t owner) {
  unsigned char raw[sid_random_chars];
  DUPLEX_ASSERT(RAND_bytes(raw, sizeof raw) == 1);
  std::string sid;
  sid.reserve(sid_random_chars + node_tag.size() + 2);
  for (unsigned char b : raw) sid += sid_alphabet[b & 63];
  sid += node_tag;
  sid += sid_alphabet[owner / 64];
  sid += sid_alphabet[owner % 64];
  return sid;
}

int alphabet_index(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return 26 + (c - 'a');
  if (c >= '0' && c <= '9') return 52 + (c - '0');
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

bool in_alphabet(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return alphabet_index(c) >= 0; });
}

// What a sid names: its node's tag and the owner thread there.
struct sid_parts {
  std::string_view node;
  std::size_t owner = 0;
};

// nullopt when `sid` cannot be one of ours (any node's).
std::optional<sid_parts> parse_sid(std::string_view sid) {
  if (sid.size() < sid_random_chars + 2 || sid.size() > sid_random_chars + max_node_tag + 2) {
    return std::nullopt;
  }
  if (!in_alphabet(sid)) return std::nullopt;
  const std::size_t n = sid.size();
  return sid_parts{sid.substr(sid_random_chars, n - sid_random_chars - 2),
                   static_cast<std::size_t>(alphabet_index(sid[n - 2]) * 64 + alphabet_index(sid[n - 1]))};
}

// The owner thread a sid of this node names, or SIZE_MAX when it is not one of this node's.
std::size_t owner_of(std::string_view sid, std::size_t threads, std::string_view node_tag) {
  const std::optional<sid_parts> p = parse_sid(sid);
  if (!p || p->node != node_tag) return SIZE_MAX;
  return p->owner < threads ? p->owner : SIZE_MAX;
}

// The parts of an Engine.IO request's query that matter.
struct eio_query {
  std::string transport;
  std::string sid;
};

// Checks EIO and transport; on failure sets `code`.
bool read_query(std::string_view query, eio_query& q, eio_error_code& code) {
  const std::optional<std::string> eio = http::query_value(query, "EIO");
  if (!eio || *eio != "4") {
    code = eio_error_code::unsupported_protocol_version;
    return false;
  }
  std::optional<std::string> transport = http::query_value(query, "transport");
  if (!transport || (*transport != "polling" && *transport != "websocket")) {
    code = eio_error_code::unknown_transport;
    return false;
  }
  q.transport = std::move(*transport);
  if (std::optional<std::string> sid = http::query_value(query, "sid")) q.sid = std::move(*sid);
  return true;
}

}  // namespace

class session;

// One loop thread's share: its sessions, and the WebSockets on it that serve sessions (owned
// here or elsewhere), by id.
struct thread_state {
  std::size_t index = 0;
  executor* ex = nullptr;
  // Transparent: lookups by string_view make no temporary string (a sid does not fit SSO).
  struct sid_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view v) const noexcept { return std::hash<std::string_view>{}(v); }
  };
  std::unordered_map<std::string, session*, sid_hash, std::equal_to<>> sessions;
  std::unordered_map<std::uint64_t, duplex::websocket*> sockets;
  std::uint64_t next_id = 1;  // WebSocket and poll ids
  http::date_cache dates;
  // The handshake of the WebSocket being accepted: the upgrade check (which sees the request)
  // runs on this thread right before on_open (which does not).
  std::optional<engine_handshake> accepting;
};

// A held poll: answered on `thread` through `handle` (never touched elsewhere).
struct poll_ref {
  std::size_t thread = 0;
  std::uint64_t id = 0;
  http::reply_handle handle;
  http::header_list cors;
  forwarded_reply remote;  // set: the request came from another node; answer through this
};

// A WebSocket serving a session: where it lives and its id there.
struct ws_ref {
  std::size_t thread = SIZE_MAX;
  std::uint64_t id = 0;
  bool set() const noexcept { return thread != SIZE_MAX; }
  bool operator==(const ws_ref&) const = default;
};

// What a WebSocket's user_data points to.
struct ws_link {
  std::string sid;
  std::size_t owner = 0;
  std::uint64_t id = 0;
};

struct engine_server::impl {
  impl(engine_options o, engine_handler& h) : opt(std::move(o)), handler(h) {
    cors.allowed_origins = opt.cors_origins;
    cors.credentials = opt.cors_credentials;
    cors.methods = "GET, POST, OPTIONS";
  }

  engine_options opt;
  engine_handler& handler;
  duplex::server* srv = nullptr;
  http::cors_policy cors;
  std::vector<std::unique_ptr<thread_state>> threads;

  std::atomic<std::size_t> sessions{0};
  std::atomic<std::uint64_t> handshakes{0}, upgrades{0}, bad_requests{0}, cross_thread{0},
      forwarded_out{0}, forwarded_in{0};

  thread_state& here() {
    const std::size_t i = duplex::server::current_thread_index();
    DUPLEX_ASSERT(i < threads.size());
    return *threads[i];
  }
  // Runs fn on thread t: now when already there, else posted.
  template <class Fn>
  void on_thread(std::size_t t, Fn&& fn) {
    if (duplex::server::current_thread_index() == t) {
      fn();
    } else {
      cross_thread.fetch_add(1, std::memory_order_relaxed);
      threads[t]->ex->post(std::forward<Fn>(fn));
    }
  }
  session* find(std::string_view sid);

  // Writes a complete response through a held request's handle; on its own thread only.
  void answer(std::size_t thread, const http::reply_handle& h, int status,
              std::string_view content_type, std::string_view body,
              const http::header_list& cors_fields) {
    if (status >= 400) bad_requests.fetch_add(1, std::memory_order_relaxed);
    thread_state& t = *threads[thread];
    std::string out;
    http::response_writer w(out);
    w.status(status);
    w.header("Date", t.dates.get(std::chrono::system_clock::now()));
    w.header("Content-Type", content_type);
    w.header("Cache-Control", "no-store");
    for (const auto& [n, v] : cors_fields) w.header(n, v);
    w.body(body);
    h.send(std::move(out));
  }
  void answer_error(std::size_t thread, const http::reply_handle& h, int status,
                    eio_error_code c, const http::header_list& cors_fields) {
    answer(thread, h, status, "application/json", error_body(c), cors_fields);
  }
  // Answers a poll (or POST) from any thread: hops to the request's thread when needed.
  void answer_from_owner(poll_ref p, int status, std::string content_type, std::string body) {
    if (p.remote) {
      if (status >= 400) bad_requests.fetch_add(1, std::memory_order_relaxed);
      return p.remote(status, std::move(content_type), std::move(body));
    }
    on_thread(p.thread, [this, p = std::move(p), status, ct = std::move(content_type),
                         body = std::move(body)] {
      answer(p.thread, p.handle, status, ct, body, p.cors);
    });
  }

  void ws_send(const ws_ref& r, std::string frame, bool binary) {
    on_thread(r.thread, [this, r, frame = std::move(frame), binary] {
      thread_state& t = *threads[r.thread];
      auto it = t.sockets.find(r.id);
      if (it != t.sockets.end()) it->second->send(frame, binary ? message_type::binary : message_type::text);
    });
  }
  void ws_close(const ws_ref& r) {
    on_thread(r.thread, [this, r] {
      thread_state& t = *threads[r.thread];
      auto it = t.sockets.find(r.id);
      if (it != t.sockets.end()) it->second->close(1000, {});
    });
  }

  std::string open_packet(const std::string& sid, bool upgrades) const {
    std::string p = "0{\"sid\":\"" + sid + "\",\"upgrades\":[";
    if (upgrades) p += "\"websocket\"";
    p += "],\"pingInterval\":" + std::to_string(opt.ping_interval.count());
    p += ",\"pingTimeout\":" + std::to_string(opt.ping_timeout.count());
    p += ",\"maxPayload\":" + std::to_string(opt.max_payload) + "}";
    return p;
  }

  session* open_session(thread_state& t, engine_handshake hs, bool websocket, ws_ref ws);
  // A POST's packets and a poll, on the owner thread of sid (answered through p).
  void owner_post(poll_ref p, const std::string& sid, std::string_view data);
  void owner_poll(poll_ref p, const std::string& sid);
};

// One Engine.IO session, on its owner thread.
class session final : public engine_socket {
 public:
  enum class upgrade_state : std::uint8_t { none, probing, probed, done };

  session(engine_server::impl& eng, thread_state& home, std::string sid, engine_handshake hs)
      : eng_(eng), home_(home), sid_(std::move(sid)), hs_(std::move(hs)) {}
  ~session() override {
    if (ping_timer_) home_.ex->cancel(ping_timer_);
    if (pong_timer_) home_.ex->cancel(pong_timer_);
    if (drain_timer_) home_.ex->cancel(drain_timer_);
  }

  // engine_socket
  const std::string& id() const noexcept override { return sid_; }
  std::string_view transport() const noexcept override {
    return ws_.set() ? std::string_view("websocket") : std::string_view("polling");
  }
  const engine_handshake& handshake() const noexcept override { return hs_; }
  std::size_t owner() const noexcept override { return home_.index; }
  void send(std::string_view data, bool binary) override {
    if (closed_) return;
    if (ws_.set() && ws_.thread == home_.index) {
      // The WebSocket lives here: straight into its output queue, through a reused buffer.
      auto it = home_.sockets.find(ws_.id);
      if (it == home_.sockets.end()) return;
      if (binary) {
        it->second->send(data, message_type::binary);
        return;
      }
      thread_local std::string frame;
      frame.clear();
      codec::append_eio_text_frame(frame, eio_packet_type::message, data);
      it->second->send(frame, message_type::text);
      return;
    }
    if (ws_.set()) {
      // On another thread: one frame string, posted there.
      if (binary) return eng_.ws_send(ws_, std::string(data), true);
      std::string frame;
      codec::append_eio_text_frame(frame, eio_packet_type::message, data);
      return eng_.ws_send(ws_, std::move(frame), false);
    }
    queue({eio_packet_type::message, std::string(data), binary});
  }
  void close() override {
    if (closed_) return;
    end("forced close", ending::server_close);
  }
  std::size_t buffered() const noexcept override {
    if (ws_.set() && ws_.thread == home_.index) {
      auto it = home_.sockets.find(ws_.id);
      return it == home_.sockets.end() ? 0 : it->second->buffered_amount();
    }
    return queued_bytes_;  // polling, or a WebSocket on another thread (not known here)
  }

  void start_websocket(ws_ref ws) {
    ws_ = ws;
    send_now({eio_packet_type::open, eng_.open_packet(sid_, false).substr(1), false});
    schedule_ping();
  }
  void start_polling() { schedule_ping(); }

  // ---- polling --------------------------------------------------------------------------------

  void on_poll(poll_ref p) {
    if (draining_) {
      // Closed by the server while no poll was held: this one takes what is left, then "1".
      std::string body = take_payload();
      append_payload(body, {eio_packet_type::close, {}, false});
      eng_.answer_from_owner(std::move(p), 200, "text/plain; charset=UTF-8", std::move(body));
      destroy();
      return;
    }
    if (ws_.set() || closed_) {
      return eng_.answer_from_owner(std::move(p), 400, "application/json",
                                    error_body(eio_error_code::bad_request));
    }
    if (poll_) {
      // Two GETs at once: the client broke the protocol. The held one gets a close packet.
      poll_ref held = std::move(*poll_);
      poll_.reset();
      eng_.answer_from_owner(std::move(held), 200, "text/plain; charset=UTF-8", "1");
      eng_.answer_from_owner(std::move(p), 400, "application/json",
                             error_body(eio_error_code::bad_request));
      end("transport error", ending::silent);
      return;
    }
    if (upgrade_ == upgrade_state::probed) {
      return eng_.answer_from_owner(std::move(p), 200, "text/plain; charset=UTF-8", "6");
    }
    if (!queue_.empty()) {
      return eng_.answer_from_owner(std::move(p), 200, "text/plain; charset=UTF-8", take_payload());
    }
    poll_ = std::move(p);
  }

  // The held poll's connection went away.
  void on_poll_gone(std::uint64_t poll_id) {
    if (!poll_ || poll_->id != poll_id) return;
    poll_.reset();
    if (!closed_) end("transport close", ending::silent);
  }

  // A POST body. Returns the status to answer (200, or 400 on a parse error).
  int on_post(std::string_view body) {
    // A WebSocket session (upgraded or not) takes no polling requests, POSTs included.
    if (closed_ || ws_.set()) return 400;
    codec::eio_payload_reader reader(body);
    eio_packet_view pk;
    while (!closed_ && reader.next(pk)) on_packet(pk);
    if (closed_) return 200;
    if (!reader.ok()) {
      spdlog::debug("engine.io {}: bad polling payload: {}", sid_, codec::to_string(reader.error()));
      end("parse error", ending::silent);
      return 400;
    }
    return 200;
  }

  // ---- WebSocket ------------------------------------------------------------------------------

  // A WebSocket with this sid opened on r.thread: the upgrade's probe transport, if allowed.
  bool on_probe_open(ws_ref r) {
    if (closed_ || draining_ || ws_.set() || upgrade_ != upgrade_state::none ||
        !eng_.opt.allow_upgrades) {
      return false;
    }
    probe_ = r;
    upgrade_ = upgrade_state::probing;
    return true;
  }

  void on_ws_frame(ws_ref from, std::string_view data, bool binary) {
    // A session closed between "3probe" and "5" still hears its probe (see end()).
    if (closed_ && !(draining_ && from == probe_)) return;
    std::string scratch;
    eio_packet_view pk;
    if (binary) {
      pk = codec::eio_binary_frame(data);
    } else if (codec::parse_eio_packet(data, pk, scratch) != codec::eio_error::none) {
      spdlog::debug("engine.io {}: bad websocket frame", sid_);
      if (from == ws_) end("parse error", ending::silent);
      else if (from == probe_) abandon_probe();
      return;
    }
    if (from == ws_) return on_packet(pk);
    if (from != probe_) return;
    if (closed_) {
      if (pk.type == eio_packet_type::upgrade) finish_closed_upgrade();
      else abandon_probe();
      return;
    }
    // The probe: "2probe" -> "3probe", then "5" completes the upgrade.
    if (pk.type == eio_packet_type::ping && pk.data == "probe" && upgrade_ == upgrade_state::probing) {
      eng_.ws_send(probe_, "3probe", false);
      upgrade_ = upgrade_state::probed;
      if (poll_) {
        eng_.answer_from_owner(std::move(*poll_), 200, "text/plain; charset=UTF-8", "6");
        poll_.reset();
      }
    } else if (pk.type == eio_packet_type::upgrade && upgrade_ == upgrade_state::probed) {
      ws_ = probe_;
      probe_ = {};
      upgrade_ = upgrade_state::done;
      eng_.upgrades.fetch_add(1, std::memory_order_relaxed);
      if (poll_) {
        eng_.answer_from_owner(std::move(*poll_), 200, "text/plain; charset=UTF-8", "6");
        poll_.reset();
      }
      std::vector<eio_packet> pending = std::move(queue_);
      queue_.clear();
      queued_bytes_ = 0;
      for (eio_packet& p : pending) send_now(std::move(p));
    } else {
      abandon_probe();
    }
  }

  void on_ws_gone(ws_ref r) {
    if (r == probe_) {
      probe_ = {};
      if (upgrade_ != upgrade_state::done) upgrade_ = upgrade_state::none;
    } else if (r == ws_ && !closed_) {
      ws_ = {};  // gone already: nothing to close
      end("transport close", ending::silent);
    }
  }

  // Server stop.
  void shut_down() {
    if (!closed_) end("server shutting down", ending::server_close);
    // A close packet waiting for the next poll would wait in vain: the server closes every
    // connection now and its loops stop before the drain timer fires (the session would leak).
    if (draining_) destroy();
  }

 private:
  enum class ending : std::uint8_t {
    silent,        // the client ended it or broke the protocol: no close packet
    server_close,  // close() or stop: the client gets "1"
  };

  void abandon_probe() {
    eng_.ws_close(probe_);
    probe_ = {};
    upgrade_ = upgrade_state::none;
  }

  // "5" on the probe of a session the server closed after "3probe": the client switched to
  // the WebSocket, which takes what was queued and the close packet, then closes.
  void finish_closed_upgrade() {
    ws_ = probe_;
    probe_ = {};
    upgrade_ = upgrade_state::done;
    std::vector<eio_packet> pending = std::move(queue_);
    queue_.clear();
    queued_bytes_ = 0;
    for (eio_packet& p : pending) send_now(std::move(p));
    eng_.ws_send(ws_, "1", false);
    eng_.ws_close(ws_);
    ws_ = {};
    destroy();
  }

  void on_packet(const eio_packet_view& pk) {
    switch (pk.type) {
      case eio_packet_type::message:
        eng_.handler.on_message(*this, pk.data, pk.binary);
        break;
      case eio_packet_type::pong:
        if (pong_timer_) {
          home_.ex->cancel(pong_timer_);
          pong_timer_ = 0;
          schedule_ping();
        }
        break;
      case eio_packet_type::close:
        // The client leaves: a held poll is let go with a noop.
        if (poll_) {
          eng_.answer_from_owner(std::move(*poll_), 200, "text/plain; charset=UTF-8", "6");
          poll_.reset();
        }
        end("transport close", ending::silent);
        break;
      default:  // ping, upgrade, noop, open: nothing for a server to do
        break;
    }
  }

  void schedule_ping() {
    if (eng_.opt.ping_interval.count() <= 0) return;
    ping_timer_ = home_.ex->run_after(eng_.opt.ping_interval, [this] {
      ping_timer_ = 0;
      queue({eio_packet_type::ping, {}, false});
      pong_timer_ = home_.ex->run_after(eng_.opt.ping_timeout, [this] {
        pong_timer_ = 0;
        end("ping timeout", ending::silent);
      });
    });
  }

  // A packet for the client: over the WebSocket now, or queued for the next poll.
  void queue(eio_packet p) {
    if (ws_.set()) return send_now(std::move(p));
    queued_bytes_ += codec::eio_payload_packet_size(p.view()) + 1;
    queue_.push_back(std::move(p));
    if (poll_ && upgrade_ != upgrade_state::probed) {
      eng_.answer_from_owner(std::move(*poll_), 200, "text/plain; charset=UTF-8", take_payload());
      poll_.reset();
    } else if (queued_bytes_ > eng_.opt.max_polling_buffer) {
      spdlog::info("engine.io {}: {} bytes queued for a client that does not poll: closing", sid_,
                   queued_bytes_);
      end("transport error", ending::silent);
    }
  }

  void send_now(eio_packet p) {
    if (p.binary) return eng_.ws_send(ws_, std::move(p.data), true);
    std::string frame;
    codec::append_eio_text_frame(frame, p.type, p.data);
    eng_.ws_send(ws_, std::move(frame), false);
  }

  static void append_payload(std::string& body, const eio_packet& p) {
    codec::append_eio_payload_packet(body, p.view());
  }
  std::string take_payload() {
    std::string body;
    body.reserve(queued_bytes_);
    for (const eio_packet& p : queue_) append_payload(body, p);
    queue_.clear();
    queued_bytes_ = 0;
    return body;
  }

  // Ends the session: tells the handler, closes the transports, and frees the session once
  // nothing can reach it (at once, or after the last poll when a close packet waits for one).
  void end(std::string_view reason, ending how) {
    DUPLEX_ASSERT(!closed_);
    closed_ = true;
    if (ping_timer_) home_.ex->cancel(ping_timer_);
    if (pong_timer_) home_.ex->cancel(pong_timer_);
    ping_timer_ = pong_timer_ = 0;
    // Between "3probe" and "5" the client polls no more (its last poll got the noop) and waits
    // to switch: a close packet left for the next poll would never be fetched, and the client
    // would sit there until its ping timeout. So the probe is kept while draining, and "5" on
    // it delivers the close packet over the WebSocket (Engine.IO's server likewise completes
    // an upgrade that arrives while it is closing, then closes the new transport).
    const bool keep_probe = how == ending::server_close && !ws_.set() && !poll_ &&
                            upgrade_ == upgrade_state::probed;
    if (probe_.set() && !keep_probe) abandon_probe();
    eng_.handler.on_close(*this, reason);
    user_data = nullptr;
    if (ws_.set()) {
      if (how == ending::server_close) eng_.ws_send(ws_, "1", false);
      eng_.ws_close(ws_);
      ws_ = {};
    } else if (how == ending::server_close) {
      if (poll_) {
        std::string body = take_payload();
        append_payload(body, {eio_packet_type::close, {}, false});
        eng_.answer_from_owner(std::move(*poll_), 200, "text/plain; charset=UTF-8", std::move(body));
        poll_.reset();
      } else {
        // The close packet waits for the next poll, for at most ping_timeout.
        draining_ = true;
        drain_timer_ = home_.ex->run_after(eng_.opt.ping_timeout, [this] {
          drain_timer_ = 0;
          destroy();
        });
        return;
      }
    } else if (poll_) {
      eng_.answer_from_owner(std::move(*poll_), 200, "text/plain; charset=UTF-8", "6");
      poll_.reset();
    }
    destroy();
  }

  // Forgets the session and frees it on a later turn (callers may still be on its stack).
  void destroy() {
    if (destroyed_) return;
    destroyed_ = true;
    if (probe_.set()) abandon_probe();  // kept while draining (see end())
    home_.sessions.erase(sid_);
    eng_.sessions.fetch_sub(1, std::memory_order_relaxed);
    home_.ex->post([this] { delete this; });
  }

  engine_server::impl& eng_;
  thread_state& home_;
  std::string sid_;
  engine_handshake hs_;
  std::vector<eio_packet> queue_;  // polling: packets for the next poll
  std::size_t queued_bytes_ = 0;
  std::optional<poll_ref> poll_;
  ws_ref ws_;     // the WebSocket transport (after an upgrade, or from the start)
  ws_ref probe_;  // the WebSocket being probed for an upgrade
  timer_id ping_timer_ = 0, pong_timer_ = 0, drain_timer_ = 0;
  upgrade_state upgrade_ = upgrade_state::none;
  bool closed_ = false;
  bool draining_ = false;
  bool destroyed_ = false;
};

session* engine_server::impl::find(std::string_view sid) {
  thread_state& t = here();
  auto it = t.sessions.find(sid);
  return it == t.sessions.end() ? nullptr : it->second;
}

session* engine_server::impl::open_session(thread_state& t, engine_handshake hs, bool websocket,
                                            ws_ref ws) {
  std::string sid = new_sid(opt.node_tag, t.index);
  while (t.sessions.contains(sid)) sid = new_sid(opt.node_tag, t.index);
  auto* s = new session(*this, t, sid, std::move(hs));
  t.sessions.emplace(std::move(sid), s);
  sessions.fetch_add(1, std::memory_order_relaxed);
  handshakes.fetch_add(1, std::memory_order_relaxed);
  if (websocket) s->start_websocket(ws);
  else s->start_polling();
  return s;
}

namespace {

engine_handshake handshake_of(std::string_view query, std::string address,
                              const std::function<std::optional<std::string_view>(std::string_view)>& field) {
  engine_handshake hs;
  hs.query.assign(query);
  hs.address = std::move(address);
  auto copy = [&](std::string_view name, std::string& to) {
    if (auto v = field(name)) to.assign(*v);
  };
  copy("Origin", hs.origin);
  copy("User-Agent", hs.user_agent);
  copy("Cookie", hs.cookie);
  copy("Authorization", hs.authorization);
  hs.time = std::chrono::system_clock::now();
  return hs;
}

// GET and POST at the engine's path on one loop thread.
class polling_target final : public http::route_target {
 public:
  polling_target(engine_server::impl& eng, std::size_t thread) : eng_(eng), thread_(thread) {}

  result handle(const http::request_head& req, std::string_view, std::string_view body,
                net::stream& s, std::string&, http::server_connection& conn) override {
    poll_ref p{thread_, eng_.threads[thread_]->next_id++, conn.defer(), {}};
    const std::optional<std::string_view> origin = req.fields.find("Origin");
    if (origin) {
      if (!http::cors_origin_allowed(eng_.cors, *origin)) {
        eng_.answer_error(thread_, p.handle, 403, eio_error_code::forbidden, {});
        return {result::kind::deferred};
      }
      http::append_cors_headers(eng_.cors, *origin, p.cors);
    }
    eio_query q;
    eio_error_code code{};
    if (!read_query(req.query(), q, code)) {
      eng_.answer_error(thread_, p.handle, 400, code, p.cors);
      return {result::kind::deferred};
    }
    if (q.transport != "polling" || !eng_.opt.allow_polling) {
      eng_.answer_error(thread_, p.handle, 400, eio_error_code::unknown_transport, p.cors);
      return {result::kind::deferred};
    }
    const bool post = req.verb == http::method::post;
    if (!post && req.verb != http::method::get) {
      // PUT, DELETE, PATCH (routed here so that they get Engine.IO's 400, not a 405).
      eng_.answer_error(thread_, p.handle, 400,
                        q.sid.empty() ? eio_error_code::bad_handshake_method : eio_error_code::bad_request,
                        p.cors);
      return {result::kind::deferred};
    }
    if (q.sid.empty()) {
      if (post) {
        eng_.answer_error(thread_, p.handle, 400, eio_error_code::bad_handshake_method, p.cors);
        return {result::kind::deferred};
      }
      handshake(req, s, std::move(p));
      return {result::kind::deferred};
    }
    if (eng_.opt.forward) {
      const std::optional<sid_parts> parts = parse_sid(q.sid);
      if (parts && parts->node != eng_.opt.node_tag) {
        forward(std::move(p), std::string(parts->node), post, std::move(q.sid), body);
        return {result::kind::deferred};
      }
    }
    const std::size_t owner = owner_of(q.sid, eng_.threads.size(), eng_.opt.node_tag);
    if (owner == SIZE_MAX) {
      eng_.answer_error(thread_, p.handle, 400, eio_error_code::unknown_sid, p.cors);
      return {result::kind::deferred};
    }
    if (post) {
      if (body.size() > eng_.opt.max_payload) {
        // Over maxHttpBufferSize: refused, and the session ends (the client reconnects).
        eng_.answer(thread_, p.handle, 413, "text/plain; charset=UTF-8", "payload too large\n", p.cors);
        eng_.on_thread(owner, [e = &eng_, sid = std::move(q.sid)] {
          if (session* ss = e->find(sid)) ss->close();
        });
        return {result::kind::deferred};
      }
      eng_.on_thread(owner, [e = &eng_, p = std::move(p), sid = std::move(q.sid),
                             data = std::string(body)]() mutable {
        e->owner_post(std::move(p), sid, data);
      });
      return {result::kind::deferred};
    }
    // A poll: if its connection goes before it is answered, the session ends.
    p.handle.on_gone([e = &eng_, owner, sid = q.sid, id = p.id] {
      e->on_thread(owner, [e, sid, id] {
        if (session* ss = e->find(sid)) ss->on_poll_gone(id);
      });
    });
    eng_.on_thread(owner, [e = &eng_, p = std::move(p), sid = std::move(q.sid)]() mutable {
      e->owner_poll(std::move(p), sid);
    });
    return {result::kind::deferred};
  }

 private:
  void handshake(const http::request_head& req, net::stream& s, poll_ref p) {
    engine_handshake hs = handshake_of(req.query(), s.remote_address(),
                                       [&req](std::string_view n) { return req.fields.find(n); });
    if (eng_.opt.allow_request) {
      if (std::optional<std::string> why = eng_.opt.allow_request(hs)) {
        spdlog::debug("engine.io handshake refused ({}): {}", hs.address, *why);
        return eng_.answer_error(thread_, p.handle, 403, eio_error_code::forbidden, p.cors);
      }
    }
    session* ss = eng_.open_session(*eng_.threads[thread_], std::move(hs), false, {});
    // The open packet is the handshake's reply; what on_open queues goes with the next poll.
    const std::string open = eng_.open_packet(ss->id(), eng_.opt.allow_websocket && eng_.opt.allow_upgrades);
    eng_.answer(thread_, p.handle, 200, "text/plain; charset=UTF-8", open, p.cors);
    eng_.handler.on_open(*ss);
  }

  // Hands the request to the node that owns the session; its answer comes back here.
  void forward(poll_ref p, std::string node, bool post, std::string sid, std::string_view body) {
    eng_.forwarded_out.fetch_add(1, std::memory_order_relaxed);
    eng_.opt.forward(std::move(node), post, std::move(sid), std::string(body),
                     [e = &eng_, p = std::move(p)](int status, std::string ct, std::string out) {
      if (status == 0) {  // the owner could not be reached: the session is gone for the client
        status = 400;
        ct = "application/json";
        out = error_body(eio_error_code::unknown_sid);
      }
      e->answer_from_owner(p, status, std::move(ct), std::move(out));
    });
  }

  engine_server::impl& eng_;
  std::size_t thread_;
};

}  // namespace

void engine_server::impl::owner_post(poll_ref p, const std::string& sid, std::string_view data) {
  session* ss = find(sid);
  if (ss == nullptr) {
    return answer_from_owner(std::move(p), 400, "application/json",
                             error_body(eio_error_code::unknown_sid));
  }
  if (ss->on_post(data) == 200) {
    answer_from_owner(std::move(p), 200, "text/html", "ok");
  } else {
    answer_from_owner(std::move(p), 400, "application/json", error_body(eio_error_code::bad_request));
  }
}

void engine_server::impl::owner_poll(poll_ref p, const std::string& sid) {
  session* ss = find(sid);
  if (ss == nullptr) {
    return answer_from_owner(std::move(p), 400, "application/json",
                             error_body(eio_error_code::unknown_sid));
  }
  ss->on_poll(std::move(p));
}

void engine_server::serve_forwarded(bool post, std::string sid, std::string body,
                                    forwarded_reply done) {
  impl* e = impl_.get();
  e->forwarded_in.fetch_add(1, std::memory_order_relaxed);
  const std::size_t owner = owner_of(sid, e->threads.size(), e->opt.node_tag);
  if (owner == SIZE_MAX) {
    e->bad_requests.fetch_add(1, std::memory_order_relaxed);
    return done(400, "application/json", error_body(eio_error_code::unknown_sid));
  }
  if (post && body.size() > e->opt.max_payload) {
    e->bad_requests.fetch_add(1, std::memory_order_relaxed);
    done(413, "text/plain; charset=UTF-8", "payload too large\n");
    e->on_thread(owner, [e, sid = std::move(sid)] {
      if (session* ss = e->find(sid)) ss->close();
    });
    return;
  }
  e->on_thread(owner, [e, owner, post, sid = std::move(sid), body = std::move(body),
                       done = std::move(done)]() mutable {
    poll_ref p{owner, e->threads[owner]->next_id++, {}, {}, std::move(done)};
    if (post) {
      e->owner_post(std::move(p), sid, body);
    } else {
      e->owner_poll(std::move(p), sid);
    }
  });
}

engine_server::engine_server(engine_options options, engine_handler& handler)
    : impl_(std::make_unique<impl>(std::move(options), handler)) {}

engine_server::~engine_server() = default;

const engine_options& engine_server::options() const noexcept { return impl_->opt; }

engine_stats engine_server::stats() const {
  engine_stats s;
  s.sessions = impl_->sessions.load(std::memory_order_relaxed);
  s.handshakes = impl_->handshakes.load(std::memory_order_relaxed);
  s.upgrades = impl_->upgrades.load(std::memory_order_relaxed);
  s.bad_requests = impl_->bad_requests.load(std::memory_order_relaxed);
  s.cross_thread = impl_->cross_thread.load(std::memory_order_relaxed);
  s.forwarded_out = impl_->forwarded_out.load(std::memory_order_relaxed);
  s.forwarded_in = impl_->forwarded_in.load(std::memory_order_relaxed);
  return s;
}

void engine_server::add_to(duplex::server& srv) {
  impl* e = impl_.get();
  e->srv = &srv;
  if (srv.prepare()) throw std::runtime_error("engine_server: the server's loops did not start");
  const std::size_t n = srv.threads();
  if (n > max_threads) throw std::invalid_argument("engine_server: too many loop threads");
  if (e->opt.node_tag.size() > max_node_tag || !in_alphabet(e->opt.node_tag)) {
    throw std::invalid_argument("engine_server: node_tag must be up to 32 of [A-Za-z0-9_-]");
  }
  e->threads.clear();
  for (std::size_t i = 0; i < n; ++i) {
    auto t = std::make_unique<thread_state>();
    t->index = i;
    t->ex = &srv.thread_executor(i);
    e->threads.push_back(std::move(t));
  }
  const std::string& path = e->opt.path;
  // Engine.IO answers any other method with 400 (the test suite's PUT handshake), so those
  // are routed to the same target instead of getting the router's 405.
  for (const char* verb : {"GET", "POST", "PUT", "DELETE", "PATCH"}) {
    srv.internal_route(verb, path, [e](std::size_t loop) -> std::unique_ptr<http::route_target> {
      return std::make_unique<polling_target>(*e, loop);
    });
  }
  srv.preflight(path, e->opt.cors_origins, "GET, POST, OPTIONS", e->opt.cors_credentials);

  websocket_options wo;
  wo.max_message_size = e->opt.max_payload;
  wo.permessage_deflate = e->opt.permessage_deflate;
  wo.ping_interval = std::chrono::milliseconds(0);  // Engine.IO's own pings
  wo.idle_timeout = e->opt.ping_interval + e->opt.ping_timeout + std::chrono::milliseconds(5000);
  wo.max_backpressure = e->opt.max_ws_backpressure;
  wo.on_backpressure = backpressure_policy::close;
  wo.allowed_origins = e->opt.cors_origins;
  websocket_handlers h;
  h.on_open = [e](duplex::websocket& ws) {
    thread_state& t = e->here();
    eio_query q;
    eio_error_code code{};
    const std::string_view target = ws.path();
    const std::size_t qpos = target.find('?');
    const std::string_view query = qpos == std::string_view::npos ? std::string_view() : target.substr(qpos + 1);
    if (!read_query(query, q, code) || q.transport != "websocket") return ws.close(1008, "bad request");
    auto* link = new ws_link{q.sid, t.index, t.next_id++};
    ws.user_data = link;
    t.sockets.emplace(link->id, &ws);
    const ws_ref me{t.index, link->id};
    if (q.sid.empty()) {
      engine_handshake hs;
      if (t.accepting && t.accepting->query == query) {
        hs = std::move(*t.accepting);
      } else {
        hs = handshake_of(query, ws.remote_address(),
                          [](std::string_view) { return std::optional<std::string_view>(); });
      }
      t.accepting.reset();
      session* ss = e->open_session(t, std::move(hs), true, me);
      link->sid = ss->id();
      e->handler.on_open(*ss);
      return;
    }
    const std::size_t owner = owner_of(q.sid, e->threads.size(), e->opt.node_tag);
    if (owner == SIZE_MAX) return ws.close(1008, "Session ID unknown");
    link->owner = owner;
    e->on_thread(owner, [e, me, sid = q.sid] {
      session* ss = e->find(sid);
      if (ss == nullptr || !ss->on_probe_open(me)) e->ws_close(me);
    });
  };
  h.on_message = [e](duplex::websocket& ws, std::string_view data, message_type type) {
    auto* link = static_cast<ws_link*>(ws.user_data);
    if (link == nullptr) return;
    const ws_ref me{e->here().index, link->id};
    const bool binary = type == message_type::binary;
    if (link->owner == me.thread) {
      if (session* ss = e->find(link->sid)) ss->on_ws_frame(me, data, binary);
      return;
    }
    e->on_thread(link->owner, [e, me, sid = link->sid, d = std::string(data), binary] {
      if (session* ss = e->find(sid)) ss->on_ws_frame(me, d, binary);
    });
  };
  h.on_close = [e](duplex::websocket& ws, std::uint16_t, std::string_view) {
    std::unique_ptr<ws_link> link(static_cast<ws_link*>(std::exchange(ws.user_data, nullptr)));
    if (!link) return;
    thread_state& t = e->here();
    t.sockets.erase(link->id);
    const ws_ref me{t.index, link->id};
    e->on_thread(link->owner, [e, me, sid = std::move(link->sid)] {
      if (session* ss = e->find(sid)) ss->on_ws_gone(me);
    });
  };
  // Handshakes are checked before the 101: a bad query or a refused request never opens.
  auto check = [e](const http_request& req) -> std::optional<http_reply> {
    eio_query q;
    eio_error_code code{};
    auto refuse = [e](int status, eio_error_code c) {
      e->bad_requests.fetch_add(1, std::memory_order_relaxed);
      return http_reply{.status = status, .content_type = "application/json", .body = error_body(c)};
    };
    if (!read_query(req.query, q, code)) return refuse(400, code);
    if (q.transport != "websocket" || !e->opt.allow_websocket) {
      return refuse(400, eio_error_code::unknown_transport);
    }
    // Another node's sid too: the client's probe fails and it goes on polling (see options).
    if (!q.sid.empty() && owner_of(q.sid, e->threads.size(), e->opt.node_tag) == SIZE_MAX) {
      return refuse(400, eio_error_code::unknown_sid);
    }
    if (q.sid.empty()) {
      engine_handshake hs = handshake_of(req.query, req.remote_address(),
                                         [&req](std::string_view n) { return req.header(n); });
      if (e->opt.allow_request) {
        if (std::optional<std::string> why = e->opt.allow_request(hs)) {
          spdlog::debug("engine.io handshake refused ({}): {}", hs.address, *why);
          return refuse(403, eio_error_code::forbidden);
        }
      }
      e->here().accepting = std::move(hs);
    }
    return std::nullopt;
  };
  srv.websocket(path, std::move(wo), std::move(h), std::move(check));

  srv.on_stop([e] {
    for (auto& tp : e->threads) {
      thread_state* t = tp.get();
      t->ex->post([t] {
        std::vector<session*> all;
        for (auto& [sid, s] : t->sessions) all.push_back(s);
        for (session* s : all) s->shut_down();
      });
    }
  });
}

}  // namespace duplex::sio
