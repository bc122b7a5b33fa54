// sio_protocol: the generator's Socket.IO dialect: Socket.IO v5 packets inside Engine.IO v4
// packets, one per WebSocket text frame, on namespace "/" (no namespace prefix) and with text
// payloads only. Sans-I/O: builders and a classifier; sio_session.h drives a connection.
//
// The client connects straight to /socket.io/?EIO=4&transport=websocket (no polling first):
//   server  0{"sid":...,"pingInterval":...}   Engine.IO open
//   client  40                                 Socket.IO CONNECT to "/"
//   server  40{"sid":"..."}                    CONNECT accepted (44{...}: refused)
//   server  2          client  3               Engine.IO ping / pong (the server pings)
//   client  42<id>["echo","<payload>"]         an EVENT with an ack id
//   server  43<id>["<payload>"]                its ACK (the arguments the handler acked)
//   server  42["room-msg","<room>",<data>]     an EVENT without an ack id
// Sources: socketio/socket.io docs/engine.io-protocol/v4-current.md and
// docs/socket.io-protocol/v5-current.md.
//
// The classifier is not a JSON parser: it splits the Engine.IO and Socket.IO headers (type
// digits, ack id) and, for events, the event name when it is a plain string (no escapes); the
// rest is left to the scenario, which knows the exact shapes it expects. Both servers measured
// (duplex's nlohmann::json and Node's JSON.stringify) write JSON without spaces.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fanout_protocol.h"

namespace duplex::bench {

// The request target of an Engine.IO v4 WebSocket connection (no polling first).
inline constexpr std::string_view sio_websocket_path = "/socket.io/?EIO=4&transport=websocket";

struct sio_info {
  enum class kind : std::uint8_t {
    open,           // Engine.IO 0{...}
    ping,           // Engine.IO 2 (the server's heartbeat; answer 3)
    close,          // Engine.IO 1
    noop,           // Engine.IO 6
    connected,      // Socket.IO 0{...} on "/": CONNECT accepted
    connect_error,  // Socket.IO 4{...}
    disconnect,     // Socket.IO 1
    event,          // Socket.IO 2[...]
    ack,            // Socket.IO 3<id>[...]
    other,          // anything else (another namespace, binary packets, malformed)
  };
  kind what = kind::other;
  bool has_id = false;
  std::uint64_t id = 0;     // event (when has_id), ack
  // event: the name when it is a plain JSON string ("" otherwise); rest: what follows it in the
  // array, e.g. `,"room",{...}]`. ack: the whole argument array, e.g. `["x"]`.
  std::string_view name;
  std::string_view rest;
};

sio_info classify_sio(std::string_view frame) noexcept;

// Engine.IO message + Socket.IO CONNECT to "/" without auth; Engine.IO pong.
inline constexpr std::string_view sio_connect_packet = "40";
inline constexpr std::string_view sio_pong_packet = "3";
// "42<id>[\"<event>\"<args>]": `args` is the rest of the argument array after the event name,
// each argument preceded by a comma (",\"room\",{...}"), or empty. `event` needs no escaping.
void append_sio_emit(std::string& out, std::uint64_t ack_id, std::string_view event,
                     std::string_view args);
// The echo scenario's EVENT 42<seq>["echo","<payload>"] and the ACK it expects back,
// 43<seq>["<payload>"]; `payload` must be a JSON string body needing no escape (see
// payload_pattern's json_safe bytes).
void append_sio_echo(std::string& out, std::uint64_t seq, std::string_view payload);
void append_sio_echo_ack(std::string& out, std::uint64_t seq, std::string_view payload);

// The broadcast scenario's publication: the EVENT 42<id>["to-room","<room>",<data>] with the
// bench data of fanout_protocol.h (written with pad_key 'x', see append_bench_data); its ack is
// 43<id>[true]. The members receive 42["room-msg","<room>",<data>].
void append_sio_to_room(std::string& out, std::uint64_t id, std::string_view room,
                        std::string_view data);
// A delivery of the broadcast scenario: `info` classified as an event named room-msg whose
// arguments are "<room>" and bench data. On success fills li (publication; channel, seq,
// sent_ns) and returns the room name; else returns an empty view.
std::string_view parse_room_msg(const sio_info& info, line_info& li) noexcept;

}  // namespace duplex::bench
