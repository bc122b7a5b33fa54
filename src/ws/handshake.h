// The opening handshake (RFC 6455 §4), sans-I/O: the server validates a parsed request head
// and serialises the 101 (or the rejection); the client builds its request and validates the
// response head. Parsing the HTTP bytes is http/'s job; these functions take its heads.
//
// Off the hot path (once per connection): results hold std::strings.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/message.h"
#include "ws/error.h"
#include "ws/permessage_deflate.h"

namespace duplex::ws {

// RFC 6455 §1.3: base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), 28 chars.
std::string compute_accept_key(std::string_view client_key);

// True when `key` is base64 (with its "==" padding) of exactly 16 bytes (RFC 6455 §4.2.1 #5).
bool is_valid_client_key(std::string_view key) noexcept;

// ---------------------------------------------------------------- server side
struct handshake_options {
  // Subprotocols we support. We select the first one in the CLIENT's list that appears here
  // (the client states its preference; RFC 6455 §4.2.2 leaves the choice to the server).
  std::vector<std::string> subprotocols;
  // Allowed Origin values (exact, case-insensitive, e.g. "https://example.com"). Empty = any.
  std::vector<std::string> allowed_origins;
  // With an allow-list: reject requests that carry no Origin at all. Browsers always send
  // Origin (RFC 6455 §4.1 #8); non-browser clients usually do not.
  bool require_origin = false;
  // permessage-deflate; disabled unless the application enables it.
  deflate_config deflate{.enabled = false};
};

struct accept_result {
  std::string accept_key;
  std::string subprotocol;  // empty: none selected
  std::optional<deflate_params> deflate;
  std::string extensions;   // Sec-WebSocket-Extensions response value; empty if none
};

struct upgrade_result {
  error err = error::none;  // none: accepted
  accept_result accepted;   // valid when ok()
  bool ok() const noexcept { return err == error::none; }
  int http_status() const noexcept { return http_status_of(err); }
};

// Checks, in this order (RFC 6455 §4.2.1): method GET (else 400: the RFC names no status and
// 405 would promise an Allow header that lists other methods for an endpoint that only speaks
// WebSocket), HTTP/1.1 or later (400), Host present (400), `Upgrade` has the token
// "websocket" (400), `Connection` has "Upgrade" (400), `Sec-WebSocket-Version: 13` (else 426
// with `Sec-WebSocket-Version: 13`, §4.2.2), `Sec-WebSocket-Key` present once and valid (400),
// Origin allowed (403, §10.2). Then selects the subprotocol and negotiates permessage-deflate
// (declining bad offers, never failing on them).
upgrade_result validate_upgrade(const http::request_head& request,
                                const handshake_options& options);

// The complete 101 response head, ending with the empty line. `extra_headers` is appended
// verbatim (each "Name: value\r\n").
std::string format_accept_response(const accept_result& accepted,
                                   std::string_view extra_headers = {});

// The complete rejection response for a handshake error (status line, `Connection: close`,
// `Content-Length: 0`, and `Sec-WebSocket-Version: 13` for 426).
std::string format_reject_response(error e);

// ---------------------------------------------------------------- client side
struct client_options {
  std::string host;            // Host header value, e.g. "example.com:8080"
  std::string target = "/";    // request-target, e.g. "/ws?channel=a"
  std::vector<std::string> subprotocols;  // offered, in our order of preference
  std::optional<std::string> origin;
  deflate_config deflate{.enabled = false};
  std::vector<std::pair<std::string, std::string>> extra_headers;
};

struct client_request {
  std::string bytes;  // the request head, ending with the empty line
  std::string key;    // Sec-WebSocket-Key sent (keep it to validate the response)
};

// Builds the upgrade request with a fresh random 16-byte key (OpenSSL RAND_bytes, §4.1 #7).
client_request make_client_request(const client_options& options);

struct client_accept {
  std::string subprotocol;  // empty: server selected none
  std::optional<deflate_params> deflate;
};

struct response_result {
  error err = error::none;
  client_accept accepted;
  bool ok() const noexcept { return err == error::none; }
};

// Validates the server's response (RFC 6455 §4.1, "the client MUST _Fail the WebSocket
// Connection_" list): 101, Upgrade/Connection tokens, Sec-WebSocket-Accept for `key`, a
// subprotocol we offered (or none), and only extensions we offered with acceptable params.
response_result validate_response(const http::response_head& response, std::string_view key,
                                  const client_options& options);

}  // namespace duplex::ws
