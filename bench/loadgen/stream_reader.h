// stream_reader: the client side of one streaming HTTP response, sans-I/O: bytes as they come
// off the socket (status line first) in, events out. Two body formats:
//   - sse:    text/event-stream (WHATWG HTML "Server-sent events", "Parsing an event
//             stream"): lines end in CRLF, LF or CR; `event:` and `data:` fields build an event
//             that a blank line dispatches; lines starting with ':' are comments (heartbeats).
//   - ndjson: newline-delimited JSON (Centrifugo's HTTP-streaming transports): each non-empty
//             line is one message; an empty line is a heartbeat.
// The body's framing is whatever the head announces (RFC 9112 §6.3): chunked, Content-Length or
// until the server closes; http::response_parser undoes it, so chunks may split events, lines
// and even chunk-size lines anywhere, and the reader gives the same events whatever the split.
//
// Only a 200 starts the stream (and, for sse, a text/event-stream Content-Type); anything else,
// a malformed head or framing, an event or line over max_event_bytes, or the end of the body
// (the server ended the stream) fails the reader for good: feed() returns false and error()
// says why.
//
// Memory: the reader keeps bytes only when a read ends inside the head, a chunk-size line or an
// event; events wholly inside one read are handed out without a copy of the line (a `data`
// field's value is copied once into the event being built).
//
// Threading: single-threaded; owned by the connection that feeds it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/response_parser.h"

namespace duplex::bench {

enum class stream_format : std::uint8_t { sse, ndjson };

// Who gets what a stream_reader finds. Either call may return false to stop the feed at once
// (e.g. it failed the connection); feed() then returns true without reading further.
class stream_sink {
 public:
  // The 200 head was read and accepted; events may follow.
  virtual bool on_stream_open() = 0;
  // One event. sse: `name` is its type ("message" when it had no `event:` field) and `data` its
  // data lines joined with '\n'; ndjson: `name` is empty and `data` one line (no '\n', a
  // trailing CR dropped). Both views are valid during the call only.
  virtual bool on_stream_event(std::string_view name, std::string_view data) = 0;

 protected:
  ~stream_sink() = default;
};

class stream_reader {
 public:
  static constexpr std::size_t max_event_bytes = 1u << 20;

  explicit stream_reader(stream_format f) noexcept;

  // The next bytes of the connection. false once the reader failed (see error()).
  bool feed(std::string_view bytes, stream_sink& sink);

  bool opened() const noexcept { return opened_; }
  bool failed() const noexcept { return !error_.empty(); }
  // Why the reader failed; "" while it has not. Valid until the reader is destroyed.
  const std::string& error() const noexcept { return error_; }
  // sse: comment lines (the server's heartbeat is ":"); ndjson: empty lines.
  std::uint64_t heartbeats() const noexcept { return heartbeats_; }
  // sse: fields the format defines but the generator does not use (id, retry) are read
  // silently; this counts the others (unknown field names), and events dispatched with no data
  // are not counted (the spec drops them). ndjson: always 0.
  std::uint64_t ignored_fields() const noexcept { return ignored_; }

 private:
  bool fail(std::string why);
  bool on_body(std::string_view body, stream_sink& sink);
  bool sse_line(std::string_view line, stream_sink& sink);
  bool ndjson_line(std::string_view line, stream_sink& sink);
  bool check_head();

  http::response_parser parser_;
  stream_format format_;
  bool opened_ = false;
  bool skip_lf_ = false;   // sse: the last read ended with CR; a LF right after belongs to it
  bool bom_checked_ = false;
  std::string tail_;       // bytes the HTTP parser has not consumed yet (head, chunk-size line)
  std::string line_;       // an event-format line split across reads
  std::string event_;      // sse: the `event` field of the event being built
  std::string data_;       // sse: its data lines, each followed by '\n'
  std::uint64_t heartbeats_ = 0, ignored_ = 0;
  std::string error_;
};

}  // namespace duplex::bench
