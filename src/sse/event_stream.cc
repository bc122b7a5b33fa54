#include "sse/event_stream.h"

#include <fmt/format.h>

#include "base/assert.h"
#include "http/message.h"
#include "http/query.h"
#include "net/loop.h"

namespace duplex::sse {

namespace {

bool has_line_break(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

// Calls fn(line) for each line of `data`, split on CRLF, LF or CR (the spec's line ends). An
// empty data is one empty line (an event with empty data).
template <class Fn>
void for_each_line(std::string_view data, Fn&& fn) {
  std::size_t start = 0;
  for (;;) {
    std::size_t end = data.find_first_of("\r\n", start);
    if (end == std::string_view::npos) {
      fn(data.substr(start));
      return;
    }
    fn(data.substr(start, end - start));
    start = end + 1;
    if (data[end] == '\r' && start < data.size() && data[start] == '\n') ++start;
  }
}

}  // namespace

void append_event(std::string& out, std::string_view data, std::string_view id,
                  std::string_view event) {
  DUPLEX_ASSERT(!has_line_break(id) && !has_line_break(event));
  if (!id.empty()) {
    out += "id: ";
    out += id;
    out += '\n';
  }
  if (!event.empty()) {
    out += "event: ";
    out += event;
    out += '\n';
  }
  for_each_line(data, [&](std::string_view line) {
    out += "data: ";
    out += line;
    out += '\n';
  });
  out += '\n';
}

std::size_t event_size(std::string_view data, std::string_view id, std::string_view event) {
  std::size_t n = 1;
  if (!id.empty()) n += 5 + id.size();
  if (!event.empty()) n += 8 + event.size();
  for_each_line(data, [&](std::string_view line) { n += 7 + line.size(); });
  return n;
}

void append_comment(std::string& out, std::string_view text) {
  DUPLEX_ASSERT(!has_line_break(text));
  out += ':';
  if (!text.empty()) {
    out += ' ';
    out += text;
  }
  out += "\n\n";
}

void append_retry(std::string& out, std::chrono::milliseconds delay) {
  fmt::format_to(std::back_inserter(out), "retry: {}\n\n", delay.count());
}

void append_chunk(std::string& out, std::string_view bytes) {
  if (bytes.empty()) return;
  fmt::format_to(std::back_inserter(out), "{:x}\r\n", bytes.size());
  out += bytes;
  out += "\r\n";
}

std::string response_head(const response_options& o, std::string_view date) {
  std::string h = "HTTP/1.1 200 OK\r\n";
  auto field = [&h](std::string_view name, std::string_view value) {
    DUPLEX_ASSERT(!has_line_break(name) && !has_line_break(value));
    h += name;
    h += ": ";
    h += value;
    h += "\r\n";
  };
  if (!date.empty()) field("Date", date);
  std::string_view type = o.content_type;
  if (type.empty()) {
    type = o.mode == body_mode::event_stream ? "text/event-stream; charset=utf-8"
                                             : "application/json; charset=utf-8";
  }
  field("Content-Type", type);
  field("Cache-Control", "no-cache, no-store, must-revalidate");
  field("X-Accel-Buffering", "no");  // nginx and similar: do not buffer this response
  if (o.mode == body_mode::chunked) field("Transfer-Encoding", "chunked");
  field("Connection", "keep-alive");
  for (const auto& [name, value] : o.headers) field(name, value);
  h += "\r\n";
  return h;
}

std::optional<std::string> last_event_id(const http::request_head& req) {
  if (auto v = req.fields.find("Last-Event-ID")) return std::string(*v);
  return http::query_value(req.query(), "lastEventId");
}

// ---- stream_response ----------------------------------------------------------------------

stream_response::stream_response(net::stream& s, const response_options& o, response_owner* owner)
    : stream_(&s), owner_(owner), heartbeat_(o.heartbeat), mode_(o.mode) {}

stream_response::~stream_response() {
  if (timer_ != 0) stream_->owner().cancel(timer_);
}

stream_response* stream_response::start(net::stream& s, const response_options& o,
                                        std::string_view date, response_owner* owner) {
  auto* r = new stream_response(s, o, owner);
  std::string head = response_head(o, date);
  if (o.mode == body_mode::event_stream && o.retry.count() > 0) append_retry(head, o.retry);
  s.write(head);
  s.set_handler(r);
  r->last_write_ms_ = static_cast<std::uint32_t>(s.owner().now_ms());
  r->arm();
  return r;
}

void stream_response::write(std::string_view bytes) {
  if (closing_ || bytes.empty()) return;
  stream_->write(bytes);
  last_write_ms_ = static_cast<std::uint32_t>(stream_->owner().now_ms());
}

void stream_response::write(const shared_payload& bytes) {
  if (closing_ || bytes.empty()) return;
  stream_->write(bytes);
  last_write_ms_ = static_cast<std::uint32_t>(stream_->owner().now_ms());
}

void stream_response::close() {
  if (closing_) return;
  closing_ = true;
  if (mode_ == body_mode::chunked) stream_->write(last_chunk);
  if (timer_ != 0) {
    stream_->owner().cancel(timer_);
    timer_ = 0;
  }
  stream_->close();  // after the queue drains; on_close follows
}

void stream_response::arm() {
  if (heartbeat_.count() <= 0 || closing_) return;
  timer_ = stream_->owner().run_after(heartbeat_, [this] {
    timer_ = 0;
    beat();
  });
}

void stream_response::beat() {
  if (closing_) return;
  const auto now = static_cast<std::uint32_t>(stream_->owner().now_ms());
  const auto quiet = std::chrono::milliseconds(now - last_write_ms_);
  if (quiet + std::chrono::milliseconds(5) >= heartbeat_) {
    if (mode_ == body_mode::event_stream) {
      write(std::string_view(":\n\n"));
    } else {
      // HTTP-streaming carries newline-delimited JSON: a lone newline is an empty line that
      // readers skip.
      write(std::string_view("1\r\n\n\r\n"));
    }
  }
  arm();
}

void stream_response::on_data(net::stream&, std::span<std::byte>) {
  // A client has nothing more to send on a streaming response (a pipelined request would wait
  // forever behind an endless body): ignore it; the response ends when either side closes.
}

void stream_response::on_drain(net::stream&) {
  if (owner_ != nullptr) owner_->on_response_drain();
}

void stream_response::on_close(net::stream&, std::error_code) {
  closing_ = true;
  if (timer_ != 0) {
    stream_->owner().cancel(timer_);
    timer_ = 0;
  }
  if (response_owner* o = std::exchange(owner_, nullptr)) o->on_response_closed();
  delete this;
}

}  // namespace duplex::sse
