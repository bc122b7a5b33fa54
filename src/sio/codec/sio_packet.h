// Socket.IO v5 packets (the default socket.io-parser encoding): decode one Engine.IO message
// into a packet, put binary attachments back in place, encode a packet into a text message
// plus binary attachments. Sans-I/O (STYLE.md rule 2).
//
// Source: socketio/socket.io docs/socket.io-protocol/v5-current.md ("Packet encoding");
// behaviour checked against the socket.io-parser npm package (4.2.x).
//
//   <type>[<attachments>-][<nsp>,][<ack id>][<JSON payload>]
//
//   2["hello",1]                 EVENT, nsp "/", no ack id
//   21["ack?"]                   EVENT asking for ack 1
//   2/admin,3["x"]               EVENT on "/admin", ack id 3
//   51-["b",{"_placeholder":true,"num":0}]   BINARY_EVENT with one attachment
//   0/admin,{"token":"x"}        CONNECT with auth payload
//   4{"message":"Not authorized"}            CONNECT_ERROR
//   1/admin,                     DISCONNECT from "/admin"
//
// Decoding follows socket.io-parser's Decoder, with these deliberate differences:
//  - EVENT and ACK need a payload (the spec's "The payload is mandatory"), as does
//    CONNECT_ERROR; socket.io-parser lets a payload-less packet of any type through.
//  - Reserved event names ("connect", "disconnect", ... see is_reserved_event_name()) are NOT
//    rejected here, although socket.io-parser refuses them: that is the receiving session's
//    policy, not the wire format's. The session checks is_reserved_event_name() and reacts
//    as to any bad packet.
//  - The ack id is a uint64; a longer number is refused (JS would lose precision above 2^53).
//  - Each attachment must be referenced by exactly one placeholder (socket.io-parser allows a
//    buffer to be referenced twice, which here would let a peer multiply memory, and ignores
//    unused buffers). Its encoder, and ours, always produce exactly one reference each.
//  - Untrusted JSON is bounded: raw NUL bytes are refused and array/object nesting is limited
//    (nlohmann's parser does not recurse, but copying, comparing and dumping a value do).
//
// An event's first element (its name) is a string or a number: socket.io-parser accepts both
// and socket.io servers dispatch numeric names. Callers must not assume a string.
//
// Payload values are nlohmann::json (the Socket.IO API type, ARCHITECTURE.md). Object keys
// come back sorted, not in the sender's order: nlohmann::ordered_json would keep the order but
// inserts each key with a linear search, which makes an object with many keys quadratic to
// decode, an easy denial of service from untrusted input.
//
// Errors: every sio_error from decoding is a peer that does not speak Socket.IO v5 (or
// exceeds a limit); its one wire reaction is to close the Engine.IO session, as socket.io
// servers do on a parser error. to_string() gives the reason for logs. Encoding errors are
// bugs of the caller (an invalid namespace or payload) and are reported, not sent.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace duplex::sio::codec {

using json = nlohmann::json;
using binary_buffer = nlohmann::json::binary_t;

enum class sio_packet_type : std::uint8_t {
  connect = 0,
  disconnect = 1,
  event = 2,
  ack = 3,
  connect_error = 4,
  binary_event = 5,
  binary_ack = 6,
};

// "CONNECT", "DISCONNECT", ... as the protocol document names them.
std::string_view to_string(sio_packet_type t) noexcept;

struct sio_limits {
  // Attachments of one binary packet; socket.io-parser's default `maxAttachments`.
  std::size_t max_attachments = 10;
  // Nesting of arrays and objects in a payload; a value at depth 1 is the payload itself.
  std::size_t max_depth = 64;
};

enum class sio_error : std::uint8_t {
  none,
  // --- text decoding
  empty_packet,               // no type character
  unknown_type,               // type character not '0'..'6'
  bad_attachments,            // BINARY_* without "<n>-", n not decimal digits, or n == 0
  too_many_attachments,       // n > limits.max_attachments
  invalid_namespace,          // not UTF-8 (decoder); empty, no leading '/' or a ',' (encoder)
  ack_id_overflow,            // ack id above 2^64-1
  nul_byte,                   // a raw NUL byte in the JSON payload
  too_deep,                   // payload nesting above limits.max_depth
  malformed_json,             // payload is not one JSON value
  bad_connect_payload,        // CONNECT payload is not an object
  bad_disconnect_payload,     // DISCONNECT with a payload
  bad_event_payload,          // EVENT payload is not an array starting with a string or number
  bad_ack_payload,            // ACK payload is not an array
  bad_connect_error_payload,  // CONNECT_ERROR payload is not an object or a string
  // --- binary attachments
  unexpected_binary,          // a binary message while no binary packet awaits attachments
  unexpected_text,            // a text message while a binary packet awaits attachments
  bad_placeholder,            // a placeholder whose num is not an index of the attachments
  duplicate_placeholder,      // two placeholders with the same num
  unused_attachment,          // an attachment that no placeholder references
  // --- encoding
  binary_not_allowed,         // binary data in a CONNECT, DISCONNECT or CONNECT_ERROR payload
};

std::string_view to_string(sio_error e) noexcept;

struct sio_packet {
  sio_packet_type type = sio_packet_type::event;
  std::string nsp = "/";
  std::optional<std::uint64_t> ack_id;
  // The payload; null when there is none (a JSON null payload is invalid for every type, so
  // null is free to mean "absent"). After decoding a BINARY_* text message it holds the
  // placeholders {"_placeholder":true,"num":k}; reconstruct_sio_packet() replaces them with
  // binary values (json::binary).
  json data;
  // BINARY_EVENT / BINARY_ACK as decoded from text: the number of binary messages that
  // follow. 0 otherwise, and after reconstruction.
  std::size_t attachments = 0;

  friend bool operator==(const sio_packet&, const sio_packet&) = default;
};

// Decodes one Socket.IO packet from the text of one Engine.IO message packet (without the
// Engine.IO "4"). `out` is overwritten; on error its content is unspecified.
[[nodiscard]] sio_error decode_sio_packet(std::string_view text, sio_packet& out,
                                          const sio_limits& limits = {});

// The payload rule of each type (socket.io-parser's isPayloadValid, with the differences
// listed at the top): null stands for "no payload". BINARY_* follow EVENT / ACK.
[[nodiscard]] sio_error check_sio_payload(sio_packet_type type, const json& data) noexcept;

// The event names a Socket.IO server must refuse from a client (socket.io-parser's
// RESERVED_EVENTS): connect, connect_error, disconnect, disconnecting, newListener,
// removeListener.
bool is_reserved_event_name(std::string_view name) noexcept;

// Puts the attachments of a decoded BINARY_EVENT / BINARY_ACK back in place: every object
// with "_placeholder": true becomes json::binary(buffers[num]). Requires
// buffers.size() == p.attachments (else bad_attachments); each buffer must be referenced
// exactly once. Buffers are moved out of `buffers`. On success p.type becomes EVENT / ACK
// (as socket.io-parser does) and p.attachments 0; on error `p` is unspecified.
[[nodiscard]] sio_error reconstruct_sio_packet(sio_packet& p, std::vector<binary_buffer>& buffers);

// Encodes `p`, appending the text message (without the Engine.IO "4") to `out` and setting
// `attachments` (cleared first) to the binary messages that must follow it, in order.
// Every json::binary value in an EVENT / ACK payload is replaced by a placeholder and the
// packet is sent as BINARY_EVENT / BINARY_ACK with their count; without binary values it is
// a plain EVENT / ACK (whatever of the two forms p.type names), one string and no copy of the
// payload tree. p.attachments is ignored. On error nothing is appended.
// Note: socket.io-client refuses more than 10 attachments by default (maxAttachments).
[[nodiscard]] sio_error encode_sio_packet(const sio_packet& p, std::string& out,
                                          std::vector<binary_buffer>& attachments);

}  // namespace duplex::sio::codec
