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

// ------------------------------------------------------------------ connection_list

void connection_list::add(connection* c) noexcept {
  c->prev_ = nullptr;
  c->next_ = head_;
  if (head_) head_->prev_ = c;
  head_ = c;
  ++size_;
}

void connection_list::remove(connection* c) noexcept {
  if (c->prev_) c->prev_->next_ = c->next_;
  else head_ = c->next_;
  if (c->next_) c->next_->prev_ = c->prev_;
  c->prev_ = c->next_ = nullptr;
  --size_;
}

// ------------------------------------------------------------------ construction

connection::connection(net::stream& s, const endpoint_config& cfg, connection_counters& counters,
                       connection_list* list, const accept_result& accepted,
                       std::string_view path)
    : stream_(&s), cfg_(cfg), counters_(counters), list_(list),
      subprotocol_(accepted.subprotocol), extensions_(accepted.extensions), path_(path) {
  if (list_) list_->add(this);
  s.set_handler(this);
  open_protocol(accepted.deflate);
}

connection::connection(net::stream& s, const endpoint_config& cfg, connection_counters& counters,
                       connection_list* list)
    : stream_(&s), cfg_(cfg), counters_(counters), list_(list), path_(cfg.client.target),
      phase_(phase::handshake) {
  if (list_) list_->add(this);
  s.set_handler(this);
}

connection::~connection() {
  if (timer_) stream_->owner().cancel(timer_);
  if (list_) list_->remove(this);
}

void connection::open_protocol(const std::optional<deflate_params>& deflate) {
  protocol_options po;
  po.role = phase_ == phase::handshake ? role::client : role::server;
  po.max_message_size = cfg_.options.max_message_size;
  po.max_fragments = cfg_.options.max_fragments;
  po.deflate = deflate;
  po.stats = &counters_.ws;
  compress_ = deflate.has_value();
  protocol_.emplace(po, static_cast<protocol_handler&>(*this), static_cast<output_sink&>(*this));
  phase_ = phase::open;
  ++counters_.opened;
  last_rx_ms_ = stream_->owner().now_ms();
}

void connection::start(std::chrono::milliseconds connect_timeout) {
  if (phase_ == phase::handshake) {
    if (connect_timeout.count() > 0) set_timer(connect_timeout, &connection::heartbeat);
    return;
  }
  arm_heartbeat();
  if (cfg_.handlers.on_open) cfg_.handlers.on_open(*this);
}

// ------------------------------------------------------------------ timers

void connection::set_timer(std::chrono::milliseconds after, void (connection::*fn)()) {
  auto& l = stream_->owner();
  if (timer_) l.cancel(timer_);
  timer_ = l.run_after(after, [this, fn] {
    timer_ = 0;
    (this->*fn)();
  });
}

void connection::arm_heartbeat() {
  auto ping = cfg_.options.ping_interval, idle = cfg_.options.idle_timeout;
  std::chrono::milliseconds tick = ping.count() > 0 ? ping : idle;
  if (idle.count() > 0 && idle < tick) tick = idle;
  if (tick.count() > 0) set_timer(tick, &connection::heartbeat);
}

// One timer serves the connect timeout (handshake phase) and the heartbeat (open phase).
void connection::heartbeat() {
  if (phase_ == phase::handshake) {
    ++counters_.timeouts;
    fail_handshake(std::make_error_code(std::errc::timed_out), "opening handshake timed out");
    return;
  }
  if (phase_ != phase::open || !protocol_ || protocol_->state() != protocol_state::open) return;
  const std::uint64_t now = stream_->owner().now_ms();
  const std::uint64_t quiet = now - last_rx_ms_;
  auto idle = static_cast<std::uint64_t>(cfg_.options.idle_timeout.count());
  if (idle > 0 && quiet >= idle) {
    ++counters_.timeouts;
    protocol_->close(1001, "idle timeout");  // RFC 6455 §7.4.1: going away
    closing_tcp_ = true;
    stream_->close();
    return;
  }
  auto ping = static_cast<std::uint64_t>(cfg_.options.ping_interval.count());
  if (ping > 0 && quiet >= ping) protocol_->ping();
  arm_heartbeat();
}

void connection::arm_close_timer() {
  set_timer(cfg_.options.close_timeout, &connection::terminate);
}

// ------------------------------------------------------------------ application API

send_status connection::send(std::string_view data, message_type type) {
  if (phase_ != phase::open || closing_tcp_ || protocol_->state() != protocol_state::open)
    return send_status::closed;
  if (stream_->buffered_amount() >= cfg_.options.max_backpressure) {
    if (cfg_.options.on_backpressure == backpressure_policy::drop) {
      ++counters_.ws.backpressure_drops;
      return send_status::dropped;
    }
    ++counters_.ws.backpressure_closes;
    // RFC 6455 §7.4.1 1008: policy violation. The close frame queues behind the backlog, so
    // the close timer bounds how long we wait for the reader.
    protocol_->close(1008, "backpressure limit");
    arm_close_timer();
    return send_status::closed;
  }
  const opcode op = type == message_type::text ? opcode::text : opcode::binary;
  protocol_->send(op, as_bytes(data), compress_);
  ++counters_.ws.messages_out;
  return send_status::queued;
}

void connection::ping(std::string_view payload) {
  if (phase_ == phase::open) protocol_->ping(as_bytes(payload.substr(0, 125)));
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
  if (protocol_->close(code, reason)) arm_close_timer();
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
  handshake_key_ = std::move(req.key);
  response_ = std::make_unique<http::response_parser>();
  s.write(req.bytes);
}

void connection::on_data(net::stream&, std::span<std::byte> data) {
  if (closing_tcp_) return;
  if (phase_ == phase::handshake) return handshake_data(data);
  if (phase_ == phase::open) feed(data);
}

void connection::feed(std::span<std::byte> data) {
  last_rx_ms_ = stream_->owner().now_ms();
  protocol_->feed(data);
}

void connection::handshake_data(std::span<std::byte> data) {
  spill_.append(reinterpret_cast<const char*>(data.data()), data.size());
  http::parse_result r = response_->feed(std::string_view(spill_));
  if (r.status == http::parse_status::need_more) return;
  if (r.status == http::parse_status::error) {
    return fail_handshake(r.err, "malformed handshake response");
  }
  const http::response_head& head = response_->head();
  response_result v = validate_response(head, handshake_key_, cfg_.client);
  if (!v.ok()) {
    std::string detail = "handshake refused: " + std::string(name_of(v.err));
    if (head.status != 101) detail += " (HTTP " + std::to_string(head.status) + ")";
    return fail_handshake(make_error_code(v.err), detail);
  }
  subprotocol_ = v.accepted.subprotocol;
  if (auto ext = head.fields.find("Sec-WebSocket-Extensions"); ext && v.accepted.deflate)
    extensions_ = std::string(*ext);
  // Bytes after the head are already WebSocket frames; give them padding like the loop buffer.
  std::vector<std::byte> rest(spill_.size() - r.consumed + net::loop::recv_padding);
  std::size_t rest_size = spill_.size() - r.consumed;
  std::memcpy(rest.data(), spill_.data() + r.consumed, rest_size);
  spill_ = std::string();
  response_.reset();
  handshake_key_ = std::string();
  open_protocol(v.accepted.deflate);
  if (timer_) {
    stream_->owner().cancel(timer_);
    timer_ = 0;
  }
  start();
  if (rest_size > 0 && !closing_tcp_ && protocol_->state() != protocol_state::failed)
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
    ++counters_.closed;
    if (cfg_.handlers.on_close) cfg_.handlers.on_close(*this, close_code_, close_reason_);
  }
  delete this;
}

// ------------------------------------------------------------------ protocol events

void connection::on_message(opcode op, std::span<const std::byte> payload) {
  ++counters_.ws.messages_in;
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
  close_code_ = code;
  close_reason_ = std::string(reason);
  // RFC 6455 §7.1.1: the server closes the TCP connection first; the client waits for it
  // (bounded by the close timeout) so that the server, not the client, holds TIME_WAIT.
  if (protocol_->options().role == role::server) {
    closing_tcp_ = true;
    stream_->close();
  } else {
    arm_close_timer();
  }
}

void connection::on_fail(error e, std::uint16_t code) {
  ++counters_.failed;
  close_code_ = code;
  close_reason_ = std::string(name_of(e));
  closing_tcp_ = true;
  stream_->close();  // flushes the close frame the protocol queued (§7.1.7)
}

}  // namespace duplex::ws
