// duplex::sdk::client: the connection state machine — transports over ws::connection,
// connect command, reconnect with backoff, the server's ping/pong heartbeat, token refresh.
//
// States (client::impl::state): disconnected --connect()--> connecting --connect reply-->
// connected; any loss of the transport while wanted goes back to connecting and a reconnect
// timer (backoff with full jitter, next endpoint in turn); a terminal disconnect code
// (3500..3999, 4500..4999), a refused token or disconnect() goes to disconnected.
#include <random>

#include "centrifuge/codec/codes.h"
#include "client/client_impl.h"
#include "net/connect.h"
#include "ws/client_url.h"

namespace duplex::sdk {

namespace {
std::uint64_t seed() {
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}
}  // namespace

sdk::error make_error(client_error c, std::string message) {
  return {static_cast<std::uint32_t>(c), std::move(message), false};
}

client::impl::impl(client_config c)
    : cfg(std::move(c)), token(cfg.token), retry(cfg.min_reconnect_delay, cfg.max_reconnect_delay, seed()) {}

client::impl::~impl() = default;

void client::impl::ensure_thread() {
  std::lock_guard l(thread_mu);
  if (closed || thread.joinable()) return;
  thread = std::thread([this] { loop.run(); });
}

void client::impl::shutdown() {
  std::unique_lock l(thread_mu);
  if (closed) return;
  closed = true;
  if (!thread.joinable()) return;
  if (thread.get_id() == std::this_thread::get_id()) {
    // From a callback: cannot join ourselves; disconnect now, the destructor joins.
    closed = false;
    loop.post([this] { do_disconnect(state_codes::disconnect_called, "client closed"); });
    return;
  }
  loop.post([this] {
    do_disconnect(state_codes::disconnect_called, "client closed");
    quitting = true;
    if (live_transports == 0) return loop.stop();
    // A transport that does not finish its close in time is dropped with the loop.
    stop_timer = loop.run_after(std::chrono::milliseconds(2000), [this] { loop.stop(); });
  });
  std::thread t = std::move(thread);
  l.unlock();
  t.join();
}

void client::impl::cancel(timer_id& t) {
  if (t != 0) loop.cancel(t);
  t = 0;
}

// ------------------------------------------------------------------ connect / disconnect

void client::impl::do_connect() {
  if (wanted) return;
  wanted = true;
  retry.reset();
  set_state(client_state::connecting);
  if (on_connecting) on_connecting({state_codes::connect_called, "connect called"});
  start_transport();
}

void client::impl::do_disconnect(std::uint32_t code, const std::string& reason) {
  const bool was = wanted || state.load() != client_state::disconnected;
  wanted = false;
  cancel(reconnect_timer);
  if (conn) {
    // Forget it first (its end is no longer ours to report), then close it.
    ws::connection* old = conn;
    duplex::websocket* old_ws = ws;
    ++gen;
    conn = nullptr;
    ws = nullptr;
    if (old_ws) old_ws->close(1000, "disconnect called");
    else old->terminate();
  }
  if (!was) return;
  after_drop(code, reason);
}

bool client::impl::refresh_token() {
  if (!cfg.get_token) return false;
  auto t = cfg.get_token();
  if (!t || t->empty()) return false;
  token = std::move(*t);
  return true;
}

void client::impl::start_transport() {
  cancel(reconnect_timer);
  if (!wanted || quitting) return;
  if (cfg.endpoints.empty()) {
    wanted = false;
    return after_drop(3501, "no endpoints");
  }
  endpoint = cfg.endpoints[endpoint_index % cfg.endpoints.size()];
  count([](client_stats& s) { ++s.connect_attempts; });
  const std::uint64_t g = ++gen;

  auto u = ws::parse_client_url(endpoint);
  if (!u) return schedule_reconnect(state_codes::transport_closed, "bad endpoint URL: " + endpoint);
  net::tls_context* tls_ctx = nullptr;
  if (u->secure) {
    auto key = std::make_pair(cfg.ws.ca_file, cfg.ws.verify_peer);
    auto& slot = tls[key];
    if (!slot) {
      std::error_code ec;
      slot = net::tls_context::client(cfg.ws.ca_file, cfg.ws.verify_peer, ec);
      if (ec) {
        tls.erase(key);
        return schedule_reconnect(state_codes::transport_closed, "cannot set up TLS: " + ec.message());
      }
    }
    tls_ctx = slot.get();
  }

  // The config outlives the connection: erased by a task posted when the connection ended,
  // which runs after the loop has reaped (and deleted) it.
  auto it = transport_cfgs.emplace(transport_cfgs.end());
  ws::endpoint_config& tc = *it;
  tc.options = cfg.ws.ws;
  tc.options.ping_interval = std::chrono::milliseconds(0);  // the protocol's own ping rules
  tc.options.idle_timeout = std::chrono::milliseconds(0);
  tc.client.host = u->host_header();
  tc.client.target = u->resource;
  tc.client.subprotocols = cfg.ws.ws.subprotocols;
  if (!cfg.ws.origin.empty()) tc.client.origin = cfg.ws.origin;
  tc.client.deflate.enabled = cfg.ws.ws.permessage_deflate;
  tc.client.deflate.client_no_context_takeover = cfg.ws.deflate_no_context_takeover;
  tc.client.extra_headers = cfg.ws.headers;
  auto ended = [this, it] {
    --live_transports;
    loop.post([this, it] { transport_cfgs.erase(it); });
    if (quitting && live_transports == 0) loop.stop();
  };
  tc.handlers.on_open = [this, g](duplex::websocket& w) {
    if (g != gen) return w.close(1000, "stale");
    ws = &w;
    connect_id = next_id++;
    std::vector<std::pair<std::string, wire::subscribe_args>> subs;
    for (const auto& [channel, ss] : server_subs) {
      if (ss.recoverable) subs.push_back({channel, {.recover = true, .offset = ss.offset, .epoch = ss.epoch}});
    }
    w.send(wire::encode_connect(connect_id, token, cfg.name, cfg.version, subs));
    count([](client_stats& s) { ++s.commands_sent; });
  };
  tc.handlers.on_message = [this, g](duplex::websocket&, std::string_view data, message_type) {
    if (g == gen) on_frame(data);
  };
  tc.handlers.on_close = [this, g, ended](duplex::websocket&, std::uint16_t code, std::string_view reason) {
    ended();
    transport_ended(g, code, std::string(reason));
  };
  tc.on_error = [this, g, ended](std::error_code ec, std::string_view why) {
    ended();
    std::string r(why);
    if (ec) r += (r.empty() ? "" : ": ") + ec.message();
    transport_ended(g, 1006, std::move(r));
  };

  struct pending_handler final : net::stream_handler {
    void on_data(net::stream&, std::span<std::byte>) override {}
    void on_close(net::stream&, std::error_code) override {}
  } placeholder;
  std::error_code ec;
  net::stream* s = net::connect(loop, u->host, u->port, tls_ctx, u->host, &placeholder, ec);
  if (!s) {
    transport_cfgs.erase(it);
    return schedule_reconnect(state_codes::transport_closed, "cannot connect to " + u->host + ": " + ec.message());
  }
  ++live_transports;
  conn = new ws::connection(*s, tc, home);  // owns itself (deleted after its on_close)
  conn->start(cfg.timeout);
  cancel(connect_timer);
  connect_timer = loop.run_after(cfg.timeout, [this, g] {
    connect_timer = 0;
    if (g == gen && state.load() != client_state::connected)
      drop_transport(state_codes::connect_timeout, "connect timeout");
  });
}

// The transport `g` ended by itself (close frame, TCP loss, handshake failure).
void client::impl::transport_ended(std::uint64_t g, std::uint32_t code, std::string reason) {
  if (g != gen || conn == nullptr) return;
  conn = nullptr;
  ws = nullptr;
  ++gen;
  // A Centrifugo disconnect code in the close frame (3000..4999) is the server's advice;
  // anything else is a transport loss.
  if (code >= 3000 && code < 5000) return after_drop(code, reason);
  after_drop(state_codes::transport_closed,
             "transport closed (" + std::to_string(code) + (reason.empty() ? "" : " " + reason) + ")");
}

// Drops the current transport on our own decision (no ping, timeouts, disconnect push).
void client::impl::drop_transport(std::uint32_t code, std::string reason) {
  ws::connection* old = conn;
  duplex::websocket* old_ws = ws;
  conn = nullptr;
  ws = nullptr;
  ++gen;
  // A Centrifugo code gets a closing handshake; our own reasons (no ping, timeouts, a bad
  // frame) mean the link is not trusted any more: drop it at once.
  if (old_ws && code >= 3000 && code < 5000) old_ws->close(static_cast<std::uint16_t>(code), reason);
  else if (old) old->terminate();
  after_drop(code, reason);
}

// Common tail of every transport loss: timers, pending commands, subscriptions, then either a
// reconnect or the disconnected state.
void client::impl::after_drop(std::uint32_t code, const std::string& reason) {
  cancel(ping_timer);
  cancel(connect_timer);
  cancel(stable_timer);
  cancel(refresh_timer);
  flush_after_subs = false;
  fail_pending(make_error(wanted ? client_error::disconnected : client_error::closed, reason));
  subs_to_subscribing(code, reason);
  const bool terminal = centrifuge::is_terminal_disconnect(code);
  if (wanted && !terminal) return schedule_reconnect(code, reason);
  wanted = false;
  const bool notify = state.load() != client_state::disconnected;
  set_state(client_state::disconnected);
  // Buffered publishes cannot be sent any more.
  auto dropped = std::move(buffered);
  buffered.clear();
  count([](client_stats& s) { s.buffered_publishes = 0; });
  for (auto& b : dropped)
    if (b.cb) b.cb({make_error(client_error::closed, "disconnected"), {}});
  if (notify && on_disconnected) on_disconnected({code, reason});
}

void client::impl::schedule_reconnect(std::uint32_t code, const std::string& reason) {
  if (!wanted || quitting) return;
  set_state(client_state::connecting);
  if (on_connecting) on_connecting({code, reason});
  ++endpoint_index;  // several endpoints: the next one in turn
  cancel(reconnect_timer);
  reconnect_timer = loop.run_after(retry.next(), [this] {
    reconnect_timer = 0;
    if (code_token_expired) {
      code_token_expired = false;
      if (!refresh_token()) {
        wanted = false;
        return after_drop(state_codes::unauthorized, "no token");
      }
    }
    start_transport();
  });
}

// ------------------------------------------------------------------ frames

void client::impl::on_frame(std::string_view data) {
  batch.clear();
  std::string err = decoder.decode(data, batch);
  const std::uint64_t g = gen;
  for (wire::message& m : batch) {
    if (g != gen) return;  // a push or reply of this batch dropped the transport
    switch (m.kind) {
      case wire::message::type::ping:
        count([](client_stats& s) { ++s.pings; });
        if (send_pongs && ws) ws->send(wire::encode_pong());
        arm_ping_timer();
        break;
      case wire::message::type::reply: {
        if (m.reply.id == connect_id && state.load() != client_state::connected) {
          on_connect_reply(m.reply);
          break;
        }
        auto it = pending.find(m.reply.id);
        if (it == pending.end()) break;  // late reply after a timeout
        pending_command pc = std::move(it->second);
        pending.erase(it);
        cancel(pc.timer);
        if (pc.on_reply) pc.on_reply(m.reply);
        break;
      }
      case wire::message::type::push: on_push(m.push); break;
    }
  }
  if (!err.empty() && g == gen) {
    if (on_error) on_error(make_error(client_error::bad_reply, err));
    drop_transport(state_codes::transport_closed, "bad frame from server: " + err);
  }
}

void client::impl::on_connect_reply(wire::reply& r) {
  cancel(connect_timer);
  if (r.err) {
    const std::uint32_t code = r.err->code;
    if (on_error) on_error(*r.err);
    if (code == static_cast<std::uint32_t>(centrifuge::error_code::token_expired) && cfg.get_token) {
      code_token_expired = true;
      return drop_transport(state_codes::transport_closed, "token expired");
    }
    if (r.err->temporary) return drop_transport(state_codes::transport_closed, r.err->message);
    wanted = false;
    return drop_transport(code == 101 ? state_codes::unauthorized : 3501, r.err->message);
  }
  set_state(client_state::connected);
  count([](client_stats& s) { ++s.connects; });
  ping_deadline = r.ping > 0 ? std::chrono::milliseconds(r.ping * 1000) + cfg.max_server_ping_delay
                             : std::chrono::milliseconds(0);
  send_pongs = r.pong;
  arm_ping_timer();
  if (r.expires && r.ttl > 0) arm_refresh(r.ttl);
  cancel(stable_timer);
  stable_timer = loop.run_after(cfg.stable_connection, [this] {
    stable_timer = 0;
    retry.reset();
  });
  if (on_connected) on_connected({r.client, r.version, r.data, endpoint});
  // Server-side subscriptions of the connect reply.
  for (auto& [channel, sr] : r.subs) {
    subscribed_event ev{channel, sr.was_recovering, sr.recovered, sr.positioned || sr.recoverable,
                        sr.offset, sr.epoch, sr.data};
    server_sub& ss = server_subs[channel];
    const bool same_epoch = ss.recoverable && ss.epoch == sr.epoch;
    if (ss.recoverable && !ss.epoch.empty() && !sr.epoch.empty() && !same_epoch) ev.recovered = false;
    ss.recoverable = ev.positioned;
    ss.epoch = sr.epoch;
    if (!same_epoch) ss.offset = sr.publications.empty() ? sr.offset : 0;
    if (on_subscribed) on_subscribed(ev);
    for (publication& p : sr.publications) {
      p.channel = channel;
      count([](client_stats& s) { ++s.publications; });
      if (p.offset != 0 && ss.recoverable) {
        if (p.offset <= ss.offset) continue;  // already delivered
        ss.offset = p.offset;
      }
      if (on_publication) on_publication(p);
    }
    if (ss.recoverable && sr.offset > ss.offset) ss.offset = sr.offset;
  }
  resubscribe_all();
  flush_after_subs = true;
  maybe_flush();
}

void client::impl::arm_ping_timer() {
  cancel(ping_timer);
  if (ping_deadline.count() <= 0) return;
  const std::uint64_t g = gen;
  ping_timer = loop.run_after(ping_deadline, [this, g] {
    ping_timer = 0;
    if (g != gen) return;
    count([](client_stats& s) { ++s.heartbeat_losses; });
    drop_transport(state_codes::no_ping, "no ping from server");
  });
}

void client::impl::arm_refresh(std::uint32_t ttl_s) {
  cancel(refresh_timer);
  const std::uint64_t g = gen;
  refresh_timer = loop.run_after(std::chrono::seconds(ttl_s), [this, g] {
    refresh_timer = 0;
    if (g != gen || state.load() != client_state::connected) return;
    if (!refresh_token()) {
      wanted = false;
      return drop_transport(state_codes::unauthorized, "connection token expired");
    }
    pending_command pc;
    pc.on_reply = [this](wire::reply& r) {
      if (r.err) {
        if (on_error) on_error(*r.err);
        return drop_transport(state_codes::transport_closed, "refresh failed: " + r.err->message);
      }
      if (r.expires && r.ttl > 0) arm_refresh(r.ttl);
    };
    const std::uint32_t id = next_id++;
    send_raw(id, wire::encode_refresh(id, token), std::move(pc));
  });
}

}  // namespace duplex::sdk
