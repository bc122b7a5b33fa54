// How Centrifugo protocol messages are framed on the streaming transports, and the hub wire
// formats for them (sans-I/O: strings in, bytes out).
//
// Bidirectional emulation (centrifugal.dev docs/transports/http_stream.md, sse.md) carries the
// same JSON replies and pushes as the WebSocket transport: over HTTP-streaming each one is a
// line ending in '\n' inside a chunk (centrifuge-js splits the body on '\n'); over SSE a batch
// is one event whose `data:` lines are the replies (EventSource joins them with '\n' again).
// The unidirectional transports (docs/transports/uni_client_protocol.md) send bare Push
// objects instead: {"channel":"c","pub":{...}} rather than {"push":{"channel":"c",...}}, one
// per WebSocket message, SSE event or line.
//
// Line breaks: a message is one line. Valid JSON holds CR or LF only as insignificant
// whitespace (a string cannot contain them raw), so they are replaced by spaces here, which
// keeps the JSON's meaning and the framing intact.
//
// Encode once: each hub encoder is a pure function of the push (STYLE.md rule 19); the hub
// calls it once per publication and format and shares the bytes with every subscriber.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/shared_payload.h"
#include "hub/publication.h"
#include "hub/wire_format.h"

namespace duplex::centrifuge {

struct formats;

enum class stream_framing : std::uint8_t {
  http_stream,  // chunked transfer coding, each message a line ending in '\n'
  sse,          // text/event-stream: one event, one `data:` line per message
  websocket,    // one text message per call (framing done by the WebSocket layer)
};

// The inner object of a bidirectional push `{"push":X}` -> X (a unidirectional Push). Any
// other message (replies, the ping `{}`) is returned unchanged.
std::string_view unwrap_push(std::string_view json) noexcept;

// Appends `lines` ('\n'-separated JSON messages, as a session batches them) framed for `f`:
// http_stream -> one chunk holding every line, each ending in '\n'; sse -> one event. Empty
// lines are dropped. Not for `websocket` (the caller sends the text as a message).
void append_framed(std::string& out, stream_framing f, std::string_view lines);

// The encoded push (bidirectional form, `{"push":...}`) of a hub push: the same JSON the
// WebSocket format frames.
shared_payload encode_push_json(hub::push_kind kind, const hub::publication& p);

// Registers the emulation and unidirectional formats into `f` (sse_json, http_stream_json,
// uni_websocket_json, uni_sse_json, uni_http_stream_json). Called by node::register_formats.
void register_stream_formats(hub::format_registry& registry, formats& f);

}  // namespace duplex::centrifuge
