// Client commands of the Centrifugo client protocol v2 (JSON), as command_parser produces them.
// Field names and meanings follow centrifugal/protocol client.proto (JSON uses the proto names);
// a field the client left out holds its proto3 default (empty, 0, false).
//
// Lifetime: every string_view points into the frame given to the parser or into the parser's
// own buffers. They stay valid until the next parse on the same parser (and, for views into
// the frame, while the frame's bytes are unchanged); copy what you keep (STYLE.md rule 16).
// `data` fields are raw JSON text (any JSON value), validated, to be embedded as-is.
#pragma once

#include <cstdint>
#include <string_view>
#include <variant>
#include <vector>

#include "centrifuge/codec/codes.h"

namespace duplex::centrifuge {

// Position in a channel's publication stream (offset, epoch).
struct stream_position {
  std::uint64_t offset = 0;
  std::string_view epoch;
};

// SubscribeRequest. Also the value type of ConnectRequest.subs (then `channel` is the map key).
struct subscribe_request {
  std::string_view channel;
  std::string_view token;
  bool recover = false;
  std::string_view epoch;
  std::uint64_t offset = 0;
  std::string_view data;  // raw JSON, empty when absent
  bool positioned = false;
  bool recoverable = false;
  bool join_leave = false;
  std::string_view delta;  // delta compression format asked for ("fossil"), empty = none
  std::uint64_t flag = 0;  // SDK subscription flags (centrifuge-js 5.x sends channel compaction)
};

struct connect_request {
  std::string_view token;
  std::string_view data;  // raw JSON
  std::vector<subscribe_request> subs;  // recovery positions of server-side subscriptions
  std::string_view name;
  std::string_view version;
};

struct unsubscribe_request {
  std::string_view channel;
};

struct publish_request {
  std::string_view channel;
  std::string_view data;  // raw JSON, never empty (required)
};

struct presence_request {
  std::string_view channel;
};

struct presence_stats_request {
  std::string_view channel;
};

struct history_request {
  std::string_view channel;
  std::int32_t limit = 0;  // 0: stream position only; -1: all kept publications
  bool has_since = false;
  stream_position since;
  bool reverse = false;
};

struct ping_request {};

// Asynchronous message to the server; has no reply (and normally no id).
struct send_request {
  std::string_view data;  // raw JSON
};

struct rpc_request {
  std::string_view method;
  std::string_view data;  // raw JSON
};

struct refresh_request {
  std::string_view token;
};

struct sub_refresh_request {
  std::string_view channel;
  std::string_view token;
};

// An empty command `{}`: the client's pong to a server ping (protocol v2). Never has an id.
struct pong {};

// A command that is well-formed JSON with a valid id and method but whose fields fail
// validation (a required field missing or empty). The session answers it with an error reply
// {"id":id,"error":{code,...}} and carries on with the next command of the frame.
struct invalid_request {
  error_code code = error_code::bad_request;
  std::string_view detail;  // static text naming the problem, for logs
};

// Index order of the variant; `command::type()` returns it.
enum class method : std::uint8_t {
  connect,
  subscribe,
  unsubscribe,
  publish,
  presence,
  presence_stats,
  history,
  ping,
  send,
  rpc,
  refresh,
  sub_refresh,
  pong,
  invalid,
};

using request = std::variant<connect_request, subscribe_request, unsubscribe_request,
                             publish_request, presence_request, presence_stats_request,
                             history_request, ping_request, send_request, rpc_request,
                             refresh_request, sub_refresh_request, pong, invalid_request>;

struct command {
  std::uint32_t id = 0;  // > 0 for every command that expects a reply
  request body;
  // For an invalid_request: which command it was. Otherwise equal to type().
  method requested = method::pong;

  method type() const noexcept { return static_cast<method>(body.index()); }
};

// "connect", "subscribe", ... as the JSON key spells it ("pong", "invalid" for the others).
std::string_view to_string(method m) noexcept;

}  // namespace duplex::centrifuge
