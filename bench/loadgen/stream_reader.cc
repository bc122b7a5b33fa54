#include "stream_reader.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace duplex::bench {
namespace {

// The stream lasts as long as the run: no limit on the body's total size.
http::response_parser::limits stream_limits() noexcept {
  http::response_parser::limits l;
  l.max_body = std::numeric_limits<std::uint64_t>::max();
  return l;
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && http::iequals(s.substr(0, prefix.size()), prefix);
}

}  // namespace

stream_reader::stream_reader(stream_format f) noexcept : parser_(stream_limits()), format_(f) {}

bool stream_reader::fail(std::string why) {
  if (error_.empty()) error_ = std::move(why);
  return false;
}

bool stream_reader::check_head() {
  const http::response_head& h = parser_.head();
  if (h.status != 200) return fail("stream refused: HTTP " + std::to_string(h.status));
  if (format_ == stream_format::sse) {
    auto type = h.fields.find("Content-Type");
    if (!type || !starts_with_nocase(*type, "text/event-stream"))
      return fail("stream is not text/event-stream");
  }
  return true;
}

bool stream_reader::feed(std::string_view bytes, stream_sink& sink) {
  if (failed()) return false;
  // Usually nothing is left over from the last read and the input is parsed where it lies.
  const bool from_tail = !tail_.empty();
  if (from_tail) tail_.append(bytes);
  const std::string_view in = from_tail ? std::string_view(tail_) : bytes;
  std::size_t pos = 0;
  while (pos < in.size()) {
    http::parse_result r = parser_.feed(in.substr(pos));
    switch (r.status) {
      case http::parse_status::error:
        return fail("bad HTTP response: " + std::string(http::info(r.err).detail));
      case http::parse_status::need_more:
        pos += r.consumed;
        goto keep_tail;  // the parser wants more than this read holds
      case http::parse_status::head_done:
        if (!check_head()) return false;
        pos += r.consumed;
        opened_ = true;
        if (!sink.on_stream_open()) return true;
        break;
      case http::parse_status::body:
        pos += r.consumed;
        if (!on_body(r.body, sink)) return !failed();
        break;
      case http::parse_status::message_done:
        return fail("the server ended the stream");
    }
  }
keep_tail:
  if (from_tail)
    tail_.erase(0, pos);
  else
    tail_.assign(in.substr(pos));
  if (tail_.capacity() > 64 * 1024 && tail_.size() < 1024) tail_.shrink_to_fit();
  return true;
}

// Splits body bytes into lines (sse: CRLF, LF or CR; ndjson: LF) and hands each whole line on;
// a line cut by the end of the read waits in line_.
bool stream_reader::on_body(std::string_view s, stream_sink& sink) {
  if (skip_lf_ && !s.empty()) {
    skip_lf_ = false;
    if (s[0] == '\n') s.remove_prefix(1);
  }
  while (!s.empty()) {
    const void* lf = std::memchr(s.data(), '\n', s.size());
    std::size_t end = lf ? static_cast<std::size_t>(static_cast<const char*>(lf) - s.data())
                         : s.size();
    std::size_t next = end + 1;  // where the following line starts
    if (format_ == stream_format::sse) {
      // A CR before the LF ends the line there: alone, or as the CR of a CRLF.
      if (const void* cr = std::memchr(s.data(), '\r', end)) {
        end = static_cast<std::size_t>(static_cast<const char*>(cr) - s.data());
        next = end + 1;
        if (next < s.size()) {
          if (s[next] == '\n') ++next;
        } else {
          skip_lf_ = true;  // the LF of this CRLF, if any, is in the next read
        }
        lf = cr;
      }
    }
    if (lf == nullptr) {  // no line end in this read
      if (line_.size() + s.size() > max_event_bytes) return fail("event or line too long");
      line_.append(s);
      return true;
    }
    std::string_view line = s.substr(0, end);
    s.remove_prefix(std::min(next, s.size()));
    if (!line_.empty()) {
      if (line_.size() + line.size() > max_event_bytes) return fail("event or line too long");
      line_.append(line);
      line = line_;
    }
    const bool go = format_ == stream_format::sse ? sse_line(line, sink) : ndjson_line(line, sink);
    line_.clear();
    if (!go) return false;
  }
  return true;
}

bool stream_reader::ndjson_line(std::string_view line, stream_sink& sink) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) {
    ++heartbeats_;
    return true;
  }
  return sink.on_stream_event({}, line);
}

// WHATWG HTML, "Interpreting an event stream".
bool stream_reader::sse_line(std::string_view line, stream_sink& sink) {
  if (!bom_checked_) {  // one U+FEFF at the very start of the stream is ignored
    bom_checked_ = true;
    if (line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
  }
  if (line.empty()) {  // dispatch
    if (data_.empty()) {  // no data: the spec resets and dispatches nothing
      event_.clear();
      return true;
    }
    std::string_view data(data_.data(), data_.size() - 1);  // without the last '\n'
    const std::string_view type = event_.empty() ? "message" : std::string_view(event_);
    const bool go = sink.on_stream_event(type, data);
    event_.clear();
    data_.clear();
    return go;
  }
  if (line[0] == ':') {
    ++heartbeats_;
    return true;
  }
  std::string_view field = line, value;
  if (auto colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (data_.size() + value.size() + 1 > max_event_bytes) return fail("event or line too long");
    data_.append(value);
    data_.push_back('\n');
  } else if (field == "event") {
    event_.assign(value);
  } else if (field != "id" && field != "retry") {
    ++ignored_;
  }
  return true;
}

}  // namespace duplex::bench
