// The request side of the Centrifugo protocol's HTTP fallbacks, sans-I/O: reading the connect
// command from a query or a body, the /emulation request, and rewriting a session's output
// for the unidirectional protocol. Everything here is bytes in, values or errors out.
//
// Sources: centrifugal.dev docs/transports/http_stream.md, sse.md, uni_client_protocol.md,
// uni_websocket.md, uni_sse.md, uni_http_stream.md; the installed centrifuge-js SDK
// (HttpStreamTransport, SseTransport: the connect command is the POST body or the
// `cf_connect` query parameter; emulation requests are {"session","node","data"} with `data`
// the '\n'-separated commands as a JSON string).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "centrifuge/codec/codes.h"

namespace duplex::centrifuge {

// The value of `key` in a URL query ("a=1&cf_connect=%7B%7D"), percent-decoded ('+' is a
// space). nullopt when the key is absent or its value has a malformed %-escape.
std::optional<std::string> query_param(std::string_view query, std::string_view key);

// True when `frame` is at least one '\n'-separated line and every non-blank line is a JSON
// object: what a bidirectional connect body must be before a stream is opened for it (the
// session then checks the commands themselves).
bool is_command_frame(std::string_view frame);

// A unidirectional connect request (a ConnectRequest JSON object; empty or blank = {}) as the
// command frame a session reads: {"id":1,"connect":<request>}. nullopt when it is not one JSON
// object (so nothing but a connect can be smuggled into the frame).
std::optional<std::string> uni_connect_frame(std::string_view request);

// POST /emulation body: {"session":"...","node":"...","data":"<commands>"}.
struct emulation_request {
  std::string session;
  std::string node;  // may be empty (a server without a node name)
  std::string data;  // the commands, '\n'-separated JSON
};
// Parses the body; on failure returns nullopt and sets `why` (for the 400 reply).
std::optional<emulation_request> parse_emulation_request(std::string_view body, std::string& why);

// A session's output (replies and pushes, '\n'-separated, bidirectional form) rewritten for a
// unidirectional client: a push -> its bare Push object; the connect reply -> the connect push
// {"connect":{...}}; the server ping {} stays. An error reply means the connect was refused:
// it yields `refused`, the disconnect to end the connection with (uni clients get no replies).
// Other replies (none are expected: a uni client sends only its connect) are dropped.
struct uni_output {
  std::string lines;  // '\n'-separated, possibly empty
  std::optional<disconnect> refused;
};
uni_output to_unidirectional(std::string_view lines);

// The disconnect a refused unidirectional connect ends with, by the error code it got.
disconnect disconnect_for_connect_error(std::uint32_t code) noexcept;

}  // namespace duplex::centrifuge
