#include "centrifuge/http_transports.h"

#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include "base/assert.h"
#include "base/executor.h"
#include "centrifuge/codec/push_encoder.h"
#include "centrifuge/fallback_request.h"
#include "centrifuge/session.h"
#include "centrifuge/stream_formats.h"
#include "http/cors.h"
#include "http/response.h"
#include "http/server_connection.h"
#include "sse/event_stream.h"
#include "ws/connection.h"

namespace duplex::centrifuge {

namespace {

class link;
class stream_link;

// Links of one loop thread. Touched only on that thread.
struct shard_links {
  std::unordered_map<std::string, stream_link*> by_session;  // emulation streams
  std::unordered_set<link*> live;                            // every link, for the stop hook
};

// What every endpoint of this file shares; kept alive by the routes and hooks holding it.
struct fallback_state {
  fallback_state(node& nd, fallback_options o)
      : n(nd), options(std::move(o)), shards(nd.shard_count()) {
    cors.allowed_origins = options.allowed_origins;
  }
  node& n;
  fallback_options options;
  http::cors_policy cors;
  std::vector<shard_links> shards;
};

// The session id of an emulation stream: 128 random bits (CSPRNG: knowing it lets one send
// commands as that client, so it must not be guessable, unlike the client id which presence
// shows to others), then '.' and the owning shard, so that /emulation finds the loop at once.
std::string new_session_id(std::size_t shard) {
  unsigned char raw[16];
  // RAND_bytes fails only when the CSPRNG cannot seed: nothing sane to do but stop.
  DUPLEX_ASSERT(RAND_bytes(raw, sizeof raw) == 1);
  static constexpr char hex[] = "0123456789abcdef";
  std::string id;
  id.reserve(2 * sizeof raw + 4);
  for (unsigned char b : raw) {
    id.push_back(hex[b >> 4]);
    id.push_back(hex[b & 0xf]);
  }
  id.push_back('.');
  id += std::to_string(shard);
  return id;
}

// The shard named by a session id's suffix, or SIZE_MAX.
std::size_t shard_of_session(std::string_view id, std::size_t shards) {
  const std::size_t dot = id.rfind('.');
  if (dot == std::string_view::npos || dot + 1 >= id.size() || id.size() - dot > 6) return SIZE_MAX;
  std::size_t v = 0;
  for (char c : id.substr(dot + 1)) {
    if (c < '0' || c > '9') return SIZE_MAX;
    v = v * 10 + static_cast<std::size_t>(c - '0');
  }
  return v < shards ? v : SIZE_MAX;
}

// The disconnect push written before a stream ends: bidirectional clients read it as a reply
// with `push`, unidirectional ones as a bare Push.
std::string disconnect_push(std::uint32_t code, std::string_view reason, bool uni) {
  std::string json;
  encode_disconnect_push(json, disconnect{code, reason, true});
  return uni ? std::string(unwrap_push(json)) : json;
}

// A session's transport on this file's endpoints; owns its session.
class link : public transport {
 public:
  link(fallback_state& st, std::size_t shard) : st_(st), shard_(shard) {
    st_.shards[shard_].live.insert(this);
  }
  virtual ~link() { st_.shards[shard_].live.erase(this); }
  link(const link&) = delete;
  link& operator=(const link&) = delete;

  // Server stop: disconnect 3001 "shutdown" (the SDKs reconnect).
  void shutdown() {
    if (session_) session_->disconnect(disconnects::shutdown);
  }

 protected:
  // Creates and starts the session, then reads `frame` (the connect) when not empty.
  void open(hub::wire_format format, transport_kind kind, bool uni, std::string session_id,
            std::string_view frame) {
    session_ = std::make_shared<session>(st_.n, shard_, *this, format, kind);
    if (uni) session_->set_pongs_expected(false);
    if (!session_id.empty()) session_->set_session_id(std::move(session_id));
    session_->start();
    if (!frame.empty()) session_->on_frame(frame);
  }
  // The transport is gone: the session leaves the hub. The link is deleted by the caller.
  void closed() {
    if (session_) session_->on_closed();
  }
  // A session's message for a unidirectional client; returns what to send (may be empty).
  // A refused connect disconnects the session (which closes this transport).
  std::string uni_message(std::string_view json) {
    uni_output u = to_unidirectional(json);
    if (u.refused && session_) {
      const disconnect d = *u.refused;
      session_->disconnect(d);
    }
    return std::move(u.lines);
  }

  fallback_state& st_;
  std::size_t shard_;
  std::shared_ptr<session> session_;
};

// Emulation (http_stream, sse) and unidirectional (uni_sse, uni_http_stream) streams.
class stream_link final : public link, public sse::response_owner {
 public:
  stream_link(fallback_state& st, std::size_t shard, stream_framing framing, bool uni)
      : link(st, shard), framing_(framing), uni_(uni) {}

  ~stream_link() override {
    if (!session_id_.empty()) st_.shards[shard_].by_session.erase(session_id_);
  }

  // Takes the stream over (writes the response head) and starts the session with `frame`.
  sse::stream_response* start(net::stream& s, std::string_view date, hub::wire_format format,
                              transport_kind kind, std::string_view frame, http::header_list cors) {
    sse::response_options o;
    o.headers = std::move(cors);
    o.mode = framing_ == stream_framing::sse ? sse::body_mode::event_stream : sse::body_mode::chunked;
    // The session's own pings ({} every ping_interval) keep the stream alive; heartbeats only
    // when those are off (an SSE comment or an empty line, both ignored by clients).
    o.heartbeat = st_.n.options().ping_interval.count() > 0 ? std::chrono::milliseconds(0)
                                                             : std::chrono::milliseconds(15000);
    response_ = sse::stream_response::start(s, o, date, this);
    if (!uni_) {
      session_id_ = new_session_id(shard_);
      st_.shards[shard_].by_session.emplace(session_id_, this);
    }
    sse::stream_response* r = response_;
    open(format, kind, uni_, session_id_, frame);
    return r;
  }

  // Commands that came through /emulation.
  void on_emulation(std::string_view data) {
    if (session_) session_->on_frame(data);
  }

  // transport
  void write_framed(const shared_payload& frame) override {
    if (response_ != nullptr) response_->write(frame);
  }
  void write_message(std::string_view json) override {
    if (response_ == nullptr) return;
    if (!uni_) return emit(json);
    const std::string lines = uni_message(json);
    if (!lines.empty()) emit(lines);
  }
  std::size_t buffered() const override { return response_ != nullptr ? response_->buffered() : 0; }
  void close(std::uint32_t code, std::string_view reason) override {
    if (response_ == nullptr) return;
    emit(disconnect_push(code, reason, uni_));
    response_->close();
  }

  // sse::response_owner
  void on_response_closed() override {
    response_ = nullptr;
    closed();
    delete this;
  }

 private:
  void emit(std::string_view lines) {
    std::string out;
    append_framed(out, framing_, lines);
    response_->write(std::string_view(out));
  }

  stream_framing framing_;
  bool uni_;
  sse::stream_response* response_ = nullptr;
  std::string session_id_;
};

// Unidirectional WebSocket: the first message is the ConnectRequest; later ones are ignored.
class uni_ws_link final : public link {
 public:
  uni_ws_link(fallback_state& st, std::size_t shard, duplex::websocket& ws)
      : link(st, shard), ws_(ws) {
    direct_ws_ = &ws::connection::of(ws);
  }

  void on_message(std::string_view data) {
    if (session_ || refused_) return;  // only the first message counts
    std::optional<std::string> frame = uni_connect_frame(data);
    if (!frame) {
      refused_ = true;
      const std::string push = disconnect_push(disconnects::bad_request.code,
                                               disconnects::bad_request.reason, true);
      ws_.send(push, message_type::text);
      ws_.close(static_cast<std::uint16_t>(disconnects::bad_request.code), disconnects::bad_request.reason);
      return;
    }
    open(st_.n.wire().uni_websocket_json, transport_kind::uni_websocket, true, {}, *frame);
  }
  void on_close() { closed(); }

  void write_framed(const shared_payload& frame) override {
    ws::connection::of(ws_).send_frame(frame);
  }
  void write_message(std::string_view json) override {
    const std::string lines = uni_message(json);
    // One Push per message, as the unidirectional protocol sends them.
    std::size_t start = 0;
    while (start < lines.size()) {
      std::size_t end = lines.find('\n', start);
      if (end == std::string::npos) end = lines.size();
      if (end > start) ws_.send(std::string_view(lines).substr(start, end - start), message_type::text);
      start = end + 1;
    }
  }
  std::size_t buffered() const override { return ws_.buffered_amount(); }
  void close(std::uint32_t code, std::string_view reason) override {
    ws_.send(disconnect_push(code, reason, true), message_type::text);
    ws_.close(static_cast<std::uint16_t>(code), reason);
  }

 private:
  duplex::websocket& ws_;
  bool refused_ = false;  // the first message was not a ConnectRequest: closing
};

enum class connect_source : std::uint8_t { body, query, query_or_body };

// One streaming endpoint on one loop thread.
class stream_route final : public http::route_target {
 public:
  stream_route(std::shared_ptr<fallback_state> st, std::size_t shard, transport_kind kind)
      : st_(std::move(st)), shard_(shard), kind_(kind) {}

  result handle(const http::request_head& req, std::string_view, std::string_view body,
                net::stream& s, std::string& out, http::server_connection&) override {
    const bool uni = kind_ == transport_kind::uni_sse || kind_ == transport_kind::uni_http_stream;
    // Cross-origin: a refused Origin is told so before anything starts.
    http::header_list cors;
    if (const std::optional<std::string_view> origin = req.fields.find("Origin")) {
      if (!http::cors_origin_allowed(st_->cors, *origin)) return refuse(out, 403, "origin not allowed\n");
      http::append_cors_headers(st_->cors, *origin, cors);
    }
    // The connect: the body of a POST, else the cf_connect query parameter.
    std::string connect;
    if (req.verb == http::method::post) {
      connect.assign(body);
    } else if (auto q = query_param(req.query(), "cf_connect")) {
      connect = std::move(*q);
    } else if (req.query().find("cf_connect=") != std::string_view::npos) {
      return refuse(out, 400, "cf_connect is not properly percent-encoded\n");
    } else if (!uni) {
      return refuse(out, 400, "the connect command is missing (cf_connect)\n");
    }
    if (connect.size() > st_->options.max_connect_bytes) {
      return refuse(out, 413, "connect command too large\n");
    }
    std::string frame;
    if (uni) {
      std::optional<std::string> f = uni_connect_frame(connect);
      if (!f) return refuse(out, 400, "the connect request is not a JSON object\n");
      frame = std::move(*f);
    } else {
      if (!is_command_frame(connect)) return refuse(out, 400, "the connect command is not JSON\n");
      frame = std::move(connect);
    }
    const formats& w = st_->n.wire();
    stream_framing framing = stream_framing::http_stream;
    hub::wire_format format = w.http_stream_json;
    switch (kind_) {
      case transport_kind::sse: framing = stream_framing::sse; format = w.sse_json; break;
      case transport_kind::uni_sse: framing = stream_framing::sse; format = w.uni_sse_json; break;
      case transport_kind::uni_http_stream: format = w.uni_http_stream_json; break;
      default: break;
    }
    auto* l = new stream_link(*st_, shard_, framing, uni);
    sse::stream_response* r = l->start(s, dates_.get(std::chrono::system_clock::now()), format, kind_, frame,
                                      std::move(cors));
    return {result::kind::upgraded, r};
  }

 private:
  result refuse(std::string& out, int status, std::string_view why) {
    http::response_writer w(out);
    w.status(status);
    w.header("Date", dates_.get(std::chrono::system_clock::now()));
    w.header("Content-Type", "text/plain; charset=utf-8");
    w.body(why);
    return {result::kind::reply};
  }

  std::shared_ptr<fallback_state> st_;
  std::size_t shard_;
  transport_kind kind_;
  http::date_cache dates_;
};

void add_stream_route(duplex::server& srv, const std::shared_ptr<fallback_state>& st,
                      std::string_view method, const std::string& path, transport_kind kind) {
  srv.internal_route(method, path, [st, kind](std::size_t loop) -> std::unique_ptr<http::route_target> {
    DUPLEX_ASSERT(loop < st->shards.size());
    return std::make_unique<stream_route>(st, loop, kind);
  });
}

// On the session's shard: runs the commands; false when there is no such session.
bool run_emulation(fallback_state& st, std::size_t shard, const std::string& session,
                   const std::string& data) {
  auto& links = st.shards[shard].by_session;
  auto it = links.find(session);
  if (it == links.end()) return false;
  it->second->on_emulation(data);
  return true;
}

void add_emulation_route(duplex::server& srv, const std::shared_ptr<fallback_state>& st) {
  duplex::server* sp = &srv;
  srv.route("POST", st->options.emulation_path,
            [st, sp](const http_request& req, http_responder respond) {
    // Every answer carries the CORS fields when the request came from an allowed origin.
    http::header_list cors;
    const std::optional<std::string_view> origin = req.header("Origin");
    if (origin && !http::cors_origin_allowed(st->cors, *origin)) {
      return respond({.status = 403, .body = "origin not allowed\n"});
    }
    if (origin) http::append_cors_headers(st->cors, *origin, cors);
    auto reply = [respond, cors](http_reply r) {
      r.headers = cors;
      respond(std::move(r));
    };
    std::string why;
    std::optional<emulation_request> er = parse_emulation_request(req.body, why);
    if (!er) {
      return reply({.status = 400, .body = "bad emulation request: " + why + "\n"});
    }
    const std::string& node_name = st->n.options().node_name;
    if (!er->node.empty() && er->node != node_name && st->options.forward_emulation) {
      const std::size_t here = duplex::server::current_thread_index();
      executor* home = &sp->thread_executor(here);
      return st->options.forward_emulation(
          std::move(er->node), std::move(er->session), std::move(er->data),
          [reply, home](int status) {
            home->post([reply, status] {
              reply(status == 204 ? http_reply{.status = 204, .content_type = ""}
                                  : http_reply{.status = 404, .body = "unknown session\n"});
            });
          });
    }
    const std::size_t shard = shard_of_session(er->session, st->shards.size());
    if ((!er->node.empty() && er->node != node_name) || shard == SIZE_MAX) {
      return reply({.status = 404, .body = "unknown session\n"});
    }
    const std::size_t here = duplex::server::current_thread_index();
    executor& home = sp->thread_executor(here);
    auto run = [st, shard, session = std::move(er->session), data = std::move(er->data)] {
      return run_emulation(*st, shard, session, data);
    };
    if (shard == here) {
      return reply(run() ? http_reply{.status = 204, .content_type = ""}
                         : http_reply{.status = 404, .body = "unknown session\n"});
    }
    st->n.hub().shard_at(shard).exec().post([run = std::move(run), reply, &home] {
      const bool found = run();
      home.post([reply, found] {
        reply(found ? http_reply{.status = 204, .content_type = ""}
                    : http_reply{.status = 404, .body = "unknown session\n"});
      });
    });
  });
}

void add_uni_websocket(duplex::server& srv, const std::shared_ptr<fallback_state>& st) {
  const node_options& no = st->n.options();
  websocket_options options = st->options.uni_websocket;
  options.ping_interval = std::chrono::milliseconds(0);  // the session's {} pings instead
  if (no.ping_interval.count() > 0) options.idle_timeout = 2 * no.ping_interval + no.pong_timeout;
  options.max_backpressure = std::max(options.max_backpressure, 2 * no.max_output_bytes);
  options.shutdown_close_code = 3001;
  options.shutdown_close_reason = "shutdown";
  websocket_handlers h;
  h.on_open = [st](duplex::websocket& ws) {
    const std::size_t shard = duplex::server::current_thread_index();
    DUPLEX_ASSERT(shard < st->shards.size());
    ws.user_data = new uni_ws_link(*st, shard, ws);
  };
  h.on_message = [](duplex::websocket& ws, std::string_view data, message_type) {
    if (auto* l = static_cast<uni_ws_link*>(ws.user_data)) l->on_message(data);
  };
  h.on_close = [](duplex::websocket& ws, std::uint16_t, std::string_view) {
    auto* l = static_cast<uni_ws_link*>(std::exchange(ws.user_data, nullptr));
    if (l == nullptr) return;
    l->on_close();
    delete l;
  };
  srv.websocket(st->options.uni_websocket_path, std::move(options), std::move(h));
}

}  // namespace

emulation_server add_fallback_endpoints(duplex::server& srv, node& n, fallback_options options) {
  auto st = std::make_shared<fallback_state>(n, std::move(options));
  const fallback_options& o = st->options;
  add_stream_route(srv, st, "POST", o.http_stream_path, transport_kind::http_stream);
  add_stream_route(srv, st, "GET", o.sse_path, transport_kind::sse);
  add_stream_route(srv, st, "GET", o.uni_sse_path, transport_kind::uni_sse);
  add_stream_route(srv, st, "POST", o.uni_sse_path, transport_kind::uni_sse);
  add_stream_route(srv, st, "POST", o.uni_http_stream_path, transport_kind::uni_http_stream);
  add_emulation_route(srv, st);
  // centrifuge-js POSTs JSON bodies, which a cross-origin page must ask for first.
  srv.preflight(o.http_stream_path, o.allowed_origins, "POST, OPTIONS");
  srv.preflight(o.sse_path, o.allowed_origins, "GET, OPTIONS");
  srv.preflight(o.uni_sse_path, o.allowed_origins, "GET, POST, OPTIONS");
  srv.preflight(o.uni_http_stream_path, o.allowed_origins, "POST, OPTIONS");
  srv.preflight(o.emulation_path, o.allowed_origins, "POST, OPTIONS");
  add_uni_websocket(srv, st);
  srv.on_stop([st] {
    for (std::size_t i = 0; i < st->shards.size(); ++i) {
      st->n.hub().shard_at(i).exec().post([st, i] {
        shard_links& sl = st->shards[i];
        const std::vector<link*> all(sl.live.begin(), sl.live.end());
        for (link* l : all) {
          if (sl.live.contains(l)) l->shutdown();
        }
      });
    }
  });
  return [st](std::string session, std::string data, std::function<void(int)> done) {
    const std::size_t shard = shard_of_session(session, st->shards.size());
    if (shard == SIZE_MAX) return done(404);
    st->n.hub().shard_at(shard).exec().post(
        [st, shard, session = std::move(session), data = std::move(data), done = std::move(done)] {
          done(run_emulation(*st, shard, session, data) ? 204 : 404);
        });
  };
}

}  // namespace duplex::centrifuge
