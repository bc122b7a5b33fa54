#include "ws/connection.h"

#include <cstring>
#include <utility>
#include <vector>

#include "base/assert.h"

namespace duplex::ws {

namespace {

std::string_view as_text(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
std::span<const std::byte> as_bytes(std::string_view s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

// Codes an application may put in a close frame (RFC 6455 §7.4.1-§7.4.2): not 1005, 1006,
// 1015 (reserved for reporting), and not the unassigned ranges.
bool sendable_close_code(std::uint16_t code) {
  return code != 1005 && code != 1006 && code != 1015 && is_valid_close_code(code);
}

class ws_error_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "duplex.ws"; }
  std::string message(int v) const override {
    return std::string(name_of(static_cast<error>(v)));
  }
};

}  // namespace

const std::error_category& ws_category() noexcept {
  static const ws_error_category category;
  return category;
}

// ------------------------------------------------------------------ construction

// A client's opening handshake in progress: freed once the 101 is validated.
struct connection::client_handshake {
  http::response_parser response;
  std::string key;    // our Sec-WebSocket-Key, to check Sec-WebSocket-Accept
  std::string spill;  // response bytes so far
};

// What an open connection rarely has; allocated on first need, freed when empty again.
struct connection::extras {
  std::string path;  // only a path too long to store after the object (see accept())
  std::string subprotocol;
  std::string extensions;
  std::string close_reason;
  std::uint16_t close_code = 1006;  // reported to on_close: the peer's code, or ours on failure
  std::unique_ptr<client_handshake> handshake;

  bool empty() const noexcept {
    return path.empty() && subprotocol.empty() && extensions.empty() && close_reason.empty() &&
           close_code == 1006 && !handshake;
  }
};

namespace {

protocol_options make_protocol_options(const endpoint_config& cfg, role r,
                                       connection_counters& counters,
                                       const std::optional<deflate_params>& deflate) {
  protocol_options po;
  po.role = r;
  po.max_message_size = cfg.options.max_message_size;
  po.max_fragments = cfg.options.max_fragments;
  po.deflate = deflate;
  po.stats = &counters.ws;
  return po;
}

}  // namespace

connection::connection(net::stream& s, const endpoint_config& cfg, connection_home& home,
                       const accept_result& accepted, std::string_view path)
    : stream_(&s), cfg_(cfg), home_(home),
      protocol_(make_protocol_options(cfg, role::server, home.counters, accepted.deflate),
                static_cast<protocol_handler&>(*this)) {
  s.set_handler(this);
  if (path != cfg.path) {
    if (path.size() <= UINT16_MAX) {
      // accept() allocated path.size() bytes after the object.
      std::memcpy(reinterpret_cast<char*>(this) + sizeof(connection), path.data(), path.size());
      path_len_ = static_cast<std::uint16_t>(path.size());
    } else {
      get_extras().path = std::string(path);
    }
  }
  if (!accepted.subprotocol.empty()) get_extras().subprotocol = accepted.subprotocol;
  if (!accepted.extensions.empty()) get_extras().extensions = accepted.extensions;
  open_protocol(accepted.deflate);
}

connection* connection::accept(net::stream& s, const endpoint_config& cfg, connection_home& home,
                               const accept_result& accepted, std::string_view path) {
  // Owns itself (deleted after its stream's on_close).
  if (path == cfg.path || path.size() > UINT16_MAX)
    return new connection(s, cfg, home, accepted, path);
  return new (trailing_bytes{path.size()}) connection(s, cfg, home, accepted, path);
}

connection::connection(net::stream& s, const endpoint_config& cfg, connection_home& home)
    : stream_(&s), cfg_(cfg), home_(home),
      protocol_(make_protocol_options(cfg, role::client, home.counters, std::nullopt),
                static_cast<protocol_handler&>(*this)),
      phase_(phase::handshake) {
  s.set_handler(this);
}

connection::~connection() {
  if (timer_) stream_->owner().cancel(timer_);
}

connection::extras& connection::get_extras() {
  if (!extras_) extras_ = std::make_unique<extras>();
  return *extras_;
}

void connection::drop_extras_if_empty() noexcept {
  if (extras_ && extras_->empty()) extras_.reset();
}

std::string_view connection::subprotocol() const {
  return extras_ ? std::string_view(extras_->subprotocol) : std::string_view();
}

std::string_view connection::extensions() const {
  return extras_ ? std::string_view(extras_->extensions) : std::string_view();
}

std::string_view connection::path() const {
  if (path_len_ > 0) return {reinterpret_cast<const char*>(this) + sizeof(connection), path_len_};
  if (extras_ && !extras_->path.empty()) return extras_->path;
  return protocol_.role() == role::client ? std::string_view(cfg_.client.target)
                                          : std::string_view(cfg_.path);
}

void connection::set_close(std::uint16_t code, std::string_view reason) {
  extras& x = get_extras();
  x.close_code = code;
  x.close_reason = std::string(reason);
}

// The client learns the deflate parameters from the 101; the server knew them at
// construction (the protocol was built with them).
void connection::open_protocol(const std::optional<deflate_params>& deflate) {
  if (deflate && !protocol_.deflate_enabled())
    protocol_.enable_deflate(*deflate, 1, 8, &home_.counters.ws);
  phase_ = phase::open;
  ++home_.counters.opened;
  last_rx_ms_ = static_cast<std::uint32_t>(stream_->owner().now_ms());
}

void connection::start(std::chrono::milliseconds connect_timeout) {
  if (phase_ == phase::handshake) {
    if (connect_timeout.count() > 0) set_timer(connect_timeout, timer_fn::heartbeat);
    return;
  }
  arm_heartbeat();
  if (cfg_.handlers.on_open) cfg_.handlers.on_open(*this);
}

// ------------------------------------------------------------------ timers

// The callback captures only `this` (fits std::function's local storage: arming a timer
// allocates nothing beyond the wheel's node); which function runs is kept in timer_fn_.
void connection::set_timer(std::chrono::milliseconds after, timer_fn fn) {
  auto& l = stream_->owner();
  if (timer_) l.cancel(timer_);
  timer_fn_ = fn;
  timer_ = l.run_after(after, [this] {
    timer_ = 0;
    if (timer_fn_ == timer_fn::heartbeat) heartbeat();
    else terminate();
  });
}

void connection::arm_heartbeat() {
  auto ping = cfg_.options.ping_interval, idle = cfg_.options.idle_timeout;
  std::chrono::milliseconds tick = ping.count() > 0 ? ping : idle;
  if (idle.count() > 0 && idle < tick) tick = idle;
  if (tick.count() > 0) set_timer(tick, timer_fn::heartbeat);
}

// One timer serves the connect timeout (handshake phase) and the heartbeat (open phase).
void connection::heartbeat() {
  if (phase_ == phase::handshake) {
    ++home_.counters.timeouts;
    fail_handshake(std::make_error_code(std::errc::timed_out), "opening handshake timed out");
    return;
  }
  if (phase_ != phase::open || protocol_.state() != protocol_state::open) return;
  const auto now = static_cast<std::uint32_t>(stream_->owner().now_ms());
  const std::uint32_t quiet = now - last_rx_ms_;  // modulo 2^32: exact below 49 days
  auto idle = static_cast<std::uint64_t>(cfg_.options.idle_timeout.count());
  if (idle > 0 && quiet >= idle) {
    ++home_.counters.timeouts;
    protocol_.close(1001, "idle timeout");  // RFC 6455 §7.4.1: going away
    closing_tcp_ = true;
    stream_->close();
    return;
  }
  auto ping = static_cast<std::uint64_t>(cfg_.options.ping_interval.count());
  if (ping > 0 && quiet >= ping) protocol_.ping();
  arm_heartbeat();
}

void connection::arm_close_timer() {
  set_timer(cfg_.options.close_timeout, timer_fn::terminate);
}

// ------------------------------------------------------------------ application API

send_status connection::send(std::string_view data, message_type type) {
  if (phase_ != phase::open || closing_tcp_ || protocol_.state() != protocol_state::open)
    return send_status::closed;
  if (stream_->buffered_amount() >= cfg_.options.max_backpressure) {
    if (cfg_.options.on_backpressure == backpressure_policy::drop) {
      ++home_.counters.ws.backpressure_drops;
      return send_status::dropped;
    }
    ++home_.counters.ws.backpressure_closes;
    // RFC 6455 §7.4.1 1008: policy violation. The close frame queues behind the backlog, so
    // the close timer bounds how long we wait for the reader.
    protocol_.close(1008, "backpressure limit");
    arm_close_timer();
    return send_status::closed;
  }
  const opcode op = type == message_type::text ? opcode::text : opcode::binary;
  protocol_.send(op, as_bytes(data), protocol_.deflate_enabled());
  ++home_.counters.ws.messages_out;
  return send_status::queued;
}

send_status connection::send_frame(const shared_payload& frame) {
  // Straight to the stream (what protocol::send_frame's write would do, without its virtual
  // hop): this is the fan-out path, once per subscriber.
  if (phase_ != phase::open || closing_tcp_ || !protocol_.can_send_frame()) return send_status::closed;
  stream_->write(frame);
  ++home_.counters.ws.messages_out;
  return send_status::queued;
}

void connection::ping(std::string_view payload) {
  if (phase_ == phase::open) protocol_.ping(as_bytes(payload.substr(0, 125)));
}

void connection::close(std::uint16_t code, std::string_view reason) {
  if (phase_ != phase::open || closing_tcp_) return;
  if (!sendable_close_code(code)) code = 1000;
  // §5.5: the reason must fit in a control frame with the code; cut on a UTF-8 boundary.
  if (reason.size() > 123) {
    std::size_t n = 123;
    while (n > 0 && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80) --n;
    reason = reason.substr(0, n);
  }
  if (protocol_.close(code, reason)) arm_close_timer();
}

void connection::go_away(std::uint16_t code, std::string_view reason) {
  if (phase_ == phase::handshake) return terminate();
  close(code, reason);
}

void connection::terminate() {
  closing_tcp_ = true;
  stream_->abort();
}

// ------------------------------------------------------------------ stream events

void connection::on_connect(net::stream& s) {
  client_request req = make_client_request(cfg_.client);
  auto hs = std::make_unique<client_handshake>();
  hs->key = std::move(req.key);
  get_extras().handshake = std::move(hs);
  s.write(req.bytes);
}

void connection::on_data(net::stream&, std::span<std::byte> data) {
  if (closing_tcp_) return;
  if (phase_ == phase::handshake) return handshake_data(data);
  if (phase_ == phase::open) feed(data);
}

void connection::feed(std::span<std::byte> data) {
  last_rx_ms_ = static_cast<std::uint32_t>(stream_->owner().now_ms());
  protocol_.feed(data);
}

void connection::handshake_data(std::span<std::byte> data) {
  if (!extras_ || !extras_->handshake) return;  // not connected yet: nothing was asked
  client_handshake& hs = *extras_->handshake;
  hs.spill.append(reinterpret_cast<const char*>(data.data()), data.size());
  http::parse_result r = hs.response.feed(std::string_view(hs.spill));
  if (r.status == http::parse_status::need_more) return;
  if (r.status == http::parse_status::error) {
    return fail_handshake(r.err, "malformed handshake response");
  }
  const http::response_head& head = hs.response.head();
  response_result v = validate_response(head, hs.key, cfg_.client);
  if (!v.ok()) {
    std::string detail = "handshake refused: " + std::string(name_of(v.err));
    if (head.status != 101) detail += " (HTTP " + std::to_string(head.status) + ")";
    return fail_handshake(make_error_code(v.err), detail);
  }
  std::string extensions;
  if (auto ext = head.fields.find("Sec-WebSocket-Extensions"); ext && v.accepted.deflate)
    extensions = std::string(*ext);
  // Bytes after the head are already WebSocket frames; give them padding like the loop buffer.
  const std::size_t rest_size = hs.spill.size() - r.consumed;
  std::vector<std::byte> rest(rest_size + net::loop::recv_padding);
  std::memcpy(rest.data(), hs.spill.data() + r.consumed, rest_size);
  extras_->handshake.reset();  // `hs` and `head` are gone from here on
  extras_->subprotocol = std::move(v.accepted.subprotocol);
  extras_->extensions = std::move(extensions);
  drop_extras_if_empty();
  open_protocol(v.accepted.deflate);
  if (timer_) {
    stream_->owner().cancel(timer_);
    timer_ = 0;
  }
  start();
  if (rest_size > 0 && !closing_tcp_ && protocol_.state() != protocol_state::failed)
    feed(std::span<std::byte>(rest.data(), rest_size));
}

void connection::fail_handshake(std::error_code ec, std::string_view detail) {
  if (phase_ != phase::handshake) return;
  phase_ = phase::done;
  closing_tcp_ = true;
  if (cfg_.on_error) cfg_.on_error(ec, detail);
  stream_->abort();
}

void connection::on_drain(net::stream&) {
  if (phase_ == phase::open && cfg_.handlers.on_drain) cfg_.handlers.on_drain(*this);
}

void connection::on_close(net::stream&, std::error_code ec) {
  if (phase_ == phase::handshake) {
    phase_ = phase::done;
    if (cfg_.on_error) {
      cfg_.on_error(ec ? ec : std::make_error_code(std::errc::connection_aborted),
                    "connection closed before the handshake completed");
    }
  } else if (phase_ == phase::open) {
    phase_ = phase::done;
    ++home_.counters.closed;
    if (cfg_.handlers.on_close) {
      cfg_.handlers.on_close(*this, extras_ ? extras_->close_code : std::uint16_t{1006},
                             extras_ ? std::string_view(extras_->close_reason) : std::string_view());
    }
  }
  delete this;
}

// ------------------------------------------------------------------ protocol events

void connection::on_message(opcode op, std::span<const std::byte> payload) {
  ++home_.counters.ws.messages_in;
  if (cfg_.handlers.on_message) {
    cfg_.handlers.on_message(*this, as_text(payload),
                             op == opcode::text ? message_type::text : message_type::binary);
  }
}

void connection::on_ping(std::span<const std::byte> payload) {
  if (cfg_.handlers.on_ping) cfg_.handlers.on_ping(*this, as_text(payload));
}

void connection::on_pong(std::span<const std::byte> payload) {
  if (cfg_.handlers.on_pong) cfg_.handlers.on_pong(*this, as_text(payload));
}

void connection::on_close(std::uint16_t code, std::string_view reason) {
  set_close(code, reason);
  // RFC 6455 §7.1.1: the server closes the TCP connection first; the client waits for it
  // (bounded by the close timeout) so that the server, not the client, holds TIME_WAIT.
  if (protocol_.role() == role::server) {
    closing_tcp_ = true;
    stream_->close();
  } else {
    arm_close_timer();
  }
}

void connection::on_fail(error e, std::uint16_t code) {
  ++home_.counters.failed;
  set_close(code, name_of(e));
  closing_tcp_ = true;
  stream_->close();  // flushes the close frame the protocol queued (§7.1.7)
}

}  // namespace duplex::ws
