#include "http/server_connection.h"

#include <cstring>
#include <utility>

#include "base/assert.h"

namespace duplex::http {

// A routed request whose body is still arriving: the head is copied into `bytes` (its views
// would otherwise point into receive buffers that are reused before the body is complete).
struct server_connection::held_request {
  std::string bytes;  // method, target and every field name and value, back to back
  request_head head;  // views into `bytes`
  router::handler_id id = 0;
  std::size_t rest_off = 0;  // `rest` of a prefix route: offset and length in head.target
  std::size_t rest_len = 0;
  std::string body;

  held_request(const request_head& h, const router::match& m) : head(h) {
    std::size_t n = h.method_text.size() + h.target.size();
    for (const header& f : h.fields.list) n += f.name.size() + f.value.size();
    bytes.reserve(n);  // no reallocation below: the views stay valid
    auto keep = [this](std::string_view v) {
      const std::size_t at = bytes.size();
      bytes.append(v);
      return std::string_view(bytes).substr(at, v.size());
    };
    head.method_text = keep(h.method_text);
    head.target = keep(h.target);
    for (header& f : head.fields.list) {
      f.name = keep(f.name);
      f.value = keep(f.value);
    }
    id = m.id;
    // rest is a suffix of the path, itself a prefix of the target.
    rest_len = m.rest.size();
    rest_off = h.path().size() - rest_len;
    if (!h.chunked) body.reserve(static_cast<std::size_t>(h.content_length));  // <= max_body
  }
  std::string_view rest() const noexcept { return head.target.substr(rest_off, rest_len); }
};

void reply_handle::send(std::string response, bool close_after) const {
  if (!state_ || state_->conn == nullptr) return;
  server_connection* c = std::exchange(state_->conn, nullptr);
  DUPLEX_ASSERT(c->stream_->owner().in_thread());
  state_->gone = nullptr;
  c->answer(std::move(response), close_after);  // may delete c
}

void reply_handle::on_gone(std::function<void()> fn) const {
  if (state_ && state_->conn != nullptr) state_->gone = std::move(fn);
}

server_context::~server_context() {
  // The loop is stopped: its streams go away without callbacks, so nothing else will free
  // these. Their timers die with the loop.
  for (server_connection* c : std::exchange(live_, {})) {
    c->timer_ = 0;
    delete c;
  }
}

void server_context::accept(net::stream& s) {
  auto* c = new server_connection(*this, s);  // owns itself: freed in finish()
  s.set_handler(c);
}

void server_context::close_all() {
  // shut() may finish a connection synchronously only through stream callbacks, which the
  // stream defers to the end of the turn, so iterating a copy is enough.
  auto copy = live_;
  for (server_connection* c : copy) c->shut();
}

server_connection::server_connection(server_context& ctx, net::stream& s)
    : ctx_(ctx), stream_(&s), parser_(ctx.get_site().limits) {
  live_index_ = ctx_.live_.size();
  ctx_.live_.push_back(this);
  arm(ctx_.get_site().request_timeout);
}

// A deferred reply that will never be sent: its handles become no-ops, and whoever waits to
// send it hears so.
void server_connection::abandon_pending() {
  pending_->conn = nullptr;
  std::function<void()> gone = std::move(pending_->gone);
  pending_.reset();
  if (gone) gone();
}

server_connection::~server_connection() {
  if (pending_) abandon_pending();
  if (timer_) stream_->owner().cancel(timer_);
  auto& live = ctx_.live_;
  if (live_index_ < live.size() && live[live_index_] == this) {
    live[live_index_] = live.back();
    live[live_index_]->live_index_ = live_index_;
    live.pop_back();
  }
}

void server_connection::arm(std::chrono::milliseconds after) {
  auto& l = stream_->owner();
  if (timer_) l.cancel(timer_);
  timer_ = after.count() > 0 ? l.run_after(after, [this] { on_timer(); }) : 0;
}

void server_connection::on_timer() {
  timer_ = 0;
  if (closing_) return;
  ++ctx_.counters_.timeouts;
  if (awaiting_) {
    // The target never answered: give up on it (its handle turns into a no-op).
    abandon_pending();
    std::string out;
    write_error_response(out, error::service_unavailable, ctx_.date());
    stream_->write(out);
    closing_ = true;
    stream_->close();
  } else if (in_request_ || !parser_.idle() || !spill_.empty()) {
    fail(error::request_timeout);  // RFC 9110 §15.5.9
  } else {
    closing_ = true;
    stream_->close();
  }
}

void server_connection::shut() {
  if (closing_) return;
  if (!in_request_ && !awaiting_ && parser_.idle() && spill_.empty()) {
    closing_ = true;
    stream_->close();
  } else {
    close_after_ = true;
  }
}

void server_connection::fail(error e) {
  ++ctx_.counters_.bad_requests;
  std::string out;
  write_error_response(out, e, ctx_.date());
  stream_->write(out);
  closing_ = true;
  stream_->close();
}

void server_connection::on_data(net::stream& s, std::span<std::byte> data) {
  if (closing_) return;  // input after we decided to close is dropped
  if (awaiting_) {
    hold(data);
    return;
  }
  const bool from_spill = !spill_.empty();
  std::span<std::byte> buf = data;
  if (from_spill) {
    spill_.append(reinterpret_cast<const char*>(data.data()), data.size());
    buf = std::as_writable_bytes(std::span<char>(spill_.data(), spill_.size()));
  }
  if (!in_request_) {
    in_request_ = true;
    arm(ctx_.get_site().request_timeout);
  }
  after_parse(buf, parse(buf), from_spill);
}

void server_connection::after_parse(std::span<std::byte> buf, std::size_t used, bool from_spill) {
  if (upgraded_) {
    // The rest of the bytes belong to the new protocol. The loop buffer has padding after
    // `data`; a copy of the spill gets the same padding (net::loop::recv_padding).
    std::span<std::byte> rest = buf.subspan(used);
    std::vector<std::byte> copy;
    if (from_spill && !rest.empty()) {
      copy.resize(rest.size() + net::loop::recv_padding);
      std::memcpy(copy.data(), rest.data(), rest.size());
      rest = std::span<std::byte>(copy.data(), rest.size());
    }
    net::stream_handler* next = next_;
    net::stream* stream = stream_;
    ++ctx_.counters_.upgrades;
    delete this;
    if (!rest.empty() && stream->is_open()) next->on_data(*stream, rest);
    return;
  }
  if (closing_) return;
  if (from_spill) {
    spill_.erase(0, used);
  } else {
    spill_.assign(reinterpret_cast<const char*>(buf.data() + used), buf.size() - used);
  }
  if (awaiting_) {
    // The request timer must not end a connection whose reply is being prepared.
    arm(ctx_.get_site().deferred_timeout);
    hold({});
    return;
  }
  if (spill_.empty() && parser_.idle()) {
    in_request_ = false;
    arm(ctx_.get_site().keepalive_timeout);
    if (close_after_) {
      closing_ = true;
      stream_->close();
    }
  }
}

void server_connection::hold(std::span<const std::byte> data) {
  spill_.append(reinterpret_cast<const char*>(data.data()), data.size());
  // Pipelined input waits unparsed; past one head's worth of it, let TCP push back instead.
  const auto& lim = ctx_.get_site().limits;
  if (!paused_ && spill_.size() >= lim.max_request_line + lim.max_header_bytes) {
    paused_ = true;
    stream_->pause_reading();
  }
}

reply_handle server_connection::defer() {
  DUPLEX_ASSERT(dispatching_);
  if (!pending_) pending_ = std::make_shared<reply_handle::state>(reply_handle::state{this});
  return reply_handle(pending_);
}

void server_connection::answer(std::string bytes, bool close_after) {
  DUPLEX_ASSERT(dispatching_ || awaiting_);
  pending_.reset();
  if (!bytes.empty()) stream_->write(bytes);
  if (close_after || close_after_) {
    // close_after_: the request said Connection: close (or shut() came): it was the last one.
    closing_ = true;
    stream_->close();
  }
  if (dispatching_) {
    answered_ = true;  // dispatch() sees it when handle() returns
    return;
  }
  awaiting_ = false;
  if (closing_) return;
  if (paused_) {
    paused_ = false;
    stream_->resume_reading();
  }
  // Go on with what waited (possibly nothing: then parse() consumes nothing and the
  // keep-alive timer takes over).
  arm(ctx_.get_site().request_timeout);
  std::span<std::byte> buf = std::as_writable_bytes(std::span<char>(spill_.data(), spill_.size()));
  after_parse(buf, parse(buf), /*from_spill=*/true);
}

std::size_t server_connection::parse(std::span<std::byte> buf) {
  std::size_t off = 0;
  while (!closing_) {
    parse_result r = parser_.feed(buf.subspan(off));
    off += r.consumed;
    switch (r.status) {
      case parse_status::need_more:
        if (r.consumed == 0) return off;
        continue;
      case parse_status::body:
        // Kept for a routed request; otherwise discarded (the parser enforces max_body).
        if (held_) held_->body.append(r.body);
        continue;
      case parse_status::error:
        held_.reset();
        fail(r.err);
        return buf.size();
      case parse_status::message_done:
        if (held_) {
          const std::unique_ptr<held_request> h = std::move(held_);
          const step st = dispatch(h->head, h->id, h->rest(), h->body);
          if (st == step::closed) return buf.size();
          if (st == step::stop) return off;
        }
        if (close_after_) {
          closing_ = true;
          stream_->close();
          return buf.size();
        }
        if (off == buf.size()) return off;
        continue;
      case parse_status::head_done:
        break;
    }
    ++ctx_.counters_.requests;
    const request_head& req = parser_.head();
    if (!req.keep_alive) close_after_ = true;
    router::match m = ctx_.get_site().routes.find(req.verb, req.path());
    if (m.err != no_error) {
      std::string out;
      std::string allow;
      if (m.err == error::method_not_allowed) allow = "Allow: " + std::string(m.allow) + "\r\n";
      write_error_response(out, m.err, ctx_.date(), allow, /*close=*/close_after_);
      stream_->write(out);
      continue;
    }
    if (req.content_length == 0 && !req.chunked) {
      const step st = dispatch(req, m.id, m.rest, {});
      if (st == step::closed) return buf.size();
      if (st == step::stop) return off;
      continue;
    }
    held_ = std::make_unique<held_request>(req, m);
    // RFC 9110 §10.1.1: a client that expects 100-continue waits for it (or a while) before
    // sending the body. Only sent for a body we mean to read (routed, within limits).
    if (req.version_minor >= 1 && req.fields.has_token("Expect", "100-continue")) {
      stream_->write(std::string_view("HTTP/1.1 100 Continue\r\n\r\n"));
    }
  }
  return off;
}

server_connection::step server_connection::dispatch(const request_head& req,
                                                    router::handler_id id,
                                                    std::string_view rest,
                                                    std::string_view body) {
  route_target* target = ctx_.get_site().targets.at(id);
  std::string out;
  dispatching_ = true;
  answered_ = false;
  route_target::result res = target->handle(req, rest, body, *stream_, out, *this);
  dispatching_ = false;
  const bool deferred = res.what == route_target::result::kind::deferred;
  if (pending_ && (!deferred || answered_)) {
    pending_->conn = nullptr;  // defer() without deferring (or a second defer()): cancelled
    pending_.reset();
  }
  DUPLEX_ASSERT(!deferred || (out.empty() && (pending_ != nullptr || answered_)));
  if (!out.empty()) stream_->write(out);
  switch (res.what) {
    case route_target::result::kind::reply:
      return closing_ ? step::closed : step::next;
    case route_target::result::kind::reply_and_close:
      closing_ = true;
      stream_->close();
      return step::closed;
    case route_target::result::kind::upgraded:
      DUPLEX_ASSERT(res.next != nullptr);
      upgraded_ = true;
      next_ = res.next;
      return step::stop;
    case route_target::result::kind::deferred:
      ++ctx_.counters_.deferred;
      if (answered_) {
        answered_ = false;
        return closing_ ? step::closed : step::next;  // answered during handle(): go on
      }
      awaiting_ = true;
      return step::stop;
  }
  return step::next;
}

void server_connection::on_close(net::stream&, std::error_code) { delete this; }

}  // namespace duplex::http
