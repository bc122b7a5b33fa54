// Server-Sent Events and HTTP-streaming: the wire encoding and a long-lived response on one
// net::stream (WHATWG HTML "Server-sent events"; RFC 9112 §7.1 for chunked transfer coding).
//
// Encoding is pure (append_* into a string), so hub wire formats can build an event once per
// publication and share it (STYLE.md rule 19). stream_response owns a stream after the
// response head: it writes prepared bytes, sends a heartbeat when the stream was quiet for a
// while (an SSE comment, or an empty line's worth for HTTP-streaming, so that proxies keep it
// open), notices the peer leaving, and deletes itself after telling its owner.
//
// Thread safety: a stream_response belongs to its stream's loop thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/shared_payload.h"
#include "net/stream.h"

namespace duplex::http {
struct request_head;
}

namespace duplex::sse {

// One event: `id:` (when not empty), `event:` (when not empty), then `data:` lines — one per
// line of `data` (LF, CRLF or CR separate lines, as the spec's parser splits them) — and the
// blank line that dispatches it. id and event must not contain CR or LF (the caller's own
// values; checked with an assertion).
void append_event(std::string& out, std::string_view data, std::string_view id = {},
                  std::string_view event = {});
// Exact size of what append_event appends.
std::size_t event_size(std::string_view data, std::string_view id = {}, std::string_view event = {});
// A comment line ": text\n\n"-style heartbeat (ignored by EventSource, keeps proxies awake).
void append_comment(std::string& out, std::string_view text);
// "retry: N\n\n": the client's reconnection delay.
void append_retry(std::string& out, std::chrono::milliseconds delay);

// One chunk of a chunked body: hex size, CRLF, bytes, CRLF. Empty `bytes` appends nothing (a
// zero-size chunk would end the body).
void append_chunk(std::string& out, std::string_view bytes);
// The last chunk and the end of the body.
inline constexpr std::string_view last_chunk = "0\r\n\r\n";

enum class body_mode : std::uint8_t {
  event_stream,  // text/event-stream, body until the connection closes
  chunked,       // Transfer-Encoding: chunked (HTTP-streaming); writes are already chunks
};

struct response_options {
  body_mode mode = body_mode::event_stream;
  std::string content_type;  // default: text/event-stream, or application/json for chunked
  // Extra header fields (e.g. CORS). Values must not contain CR/LF.
  std::vector<std::pair<std::string, std::string>> headers;
  // Quiet time before a heartbeat is written; 0 disables.
  std::chrono::milliseconds heartbeat{15000};
  // For event_stream: "retry: N" sent first when > 0.
  std::chrono::milliseconds retry{0};
};

// The status line and header fields of a streaming 200 response: no caching, no proxy
// buffering (X-Accel-Buffering: no), keep-alive.
std::string response_head(const response_options& o, std::string_view date);

// Last-Event-ID of a reconnecting EventSource: the header, else `lastEventId` in the query
// (what EventSource polyfills send when they cannot set headers). nullopt when absent.
std::optional<std::string> last_event_id(const http::request_head& req);

// Who is told about a stream_response's end.
class response_owner {
 public:
  // The stream is gone (peer closed, error, close()). The response deletes itself right after
  // this returns; do not touch it afterwards.
  virtual void on_response_closed() = 0;
  // Output drained below the stream's buffer after having been queued (optional).
  virtual void on_response_drain() {}

 protected:
  ~response_owner() = default;
};

class stream_response final : public net::stream_handler {
 public:
  // Writes the head (and the retry field) to `s`, becomes its handler and arms the heartbeat.
  // Returns the new response (owned by itself). Call from a route target's handle() as the
  // stream's next handler (route_target::result::kind::upgraded).
  static stream_response* start(net::stream& s, const response_options& o, std::string_view date,
                                response_owner* owner);

  // Prepared body bytes (events or chunks), queued in order.
  void write(std::string_view bytes);
  void write(const shared_payload& bytes);
  std::size_t buffered() const noexcept { return stream_->buffered_amount(); }
  // Ends the body (last chunk in chunked mode) and closes the stream after the queue drains.
  // on_response_closed follows. Idempotent.
  void close();
  void set_owner(response_owner* o) noexcept { owner_ = o; }
  net::stream& stream() noexcept { return *stream_; }

  // net::stream_handler
  void on_data(net::stream& s, std::span<std::byte> data) override;
  void on_drain(net::stream& s) override;
  void on_close(net::stream& s, std::error_code ec) override;

 private:
  stream_response(net::stream& s, const response_options& o, response_owner* owner);
  ~stream_response() override;
  void arm();
  void beat();

  net::stream* stream_;
  response_owner* owner_;
  std::chrono::milliseconds heartbeat_;
  timer_id timer_ = 0;
  std::uint32_t last_write_ms_ = 0;
  body_mode mode_;
  bool closing_ = false;
};

}  // namespace duplex::sse
