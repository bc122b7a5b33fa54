#include "http/server_connection.h"

#include <cstring>
#include <utility>

#include "base/assert.h"

namespace duplex::http {

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

server_connection::~server_connection() {
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
  if (in_request_ || !parser_.idle() || !spill_.empty()) {
    fail(error::request_timeout);  // RFC 9110 §15.5.9
  } else {
    closing_ = true;
    stream_->close();
  }
}

void server_connection::shut() {
  if (closing_) return;
  if (!in_request_ && parser_.idle() && spill_.empty()) {
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
  std::size_t used = parse(buf);

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
  if (spill_.empty() && parser_.idle()) {
    in_request_ = false;
    arm(ctx_.get_site().keepalive_timeout);
    if (close_after_) {
      closing_ = true;
      stream_->close();
    }
  }
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
        continue;  // no route reads bodies yet: discarded, within limits::max_body
      case parse_status::error:
        fail(r.err);
        return buf.size();
      case parse_status::message_done:
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
    std::string out;
    if (m.err != no_error) {
      std::string allow;
      if (m.err == error::method_not_allowed) allow = "Allow: " + std::string(m.allow) + "\r\n";
      write_error_response(out, m.err, ctx_.date(), allow, /*close=*/close_after_);
      stream_->write(out);
      continue;
    }
    route_target* target = ctx_.get_site().targets.at(m.id);
    route_target::result res = target->handle(req, m.rest, *stream_, out);
    if (!out.empty()) stream_->write(out);
    switch (res.what) {
      case route_target::result::kind::reply:
        break;
      case route_target::result::kind::reply_and_close:
        closing_ = true;
        stream_->close();
        return buf.size();
      case route_target::result::kind::upgraded:
        DUPLEX_ASSERT(res.next != nullptr);
        upgraded_ = true;
        next_ = res.next;
        return off;
    }
  }
  return off;
}

void server_connection::on_close(net::stream&, std::error_code) { delete this; }

}  // namespace duplex::http
