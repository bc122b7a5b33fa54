// ws::error: every way a WebSocket peer or handshake can be rejected, and the ONE table that
// maps each to its wire reaction (STYLE.md rule 11): a close code (RFC 6455 §7.4.1) for errors
// found on an open connection, an HTTP status for errors found in the server handshake.
#pragma once

#include <cstdint>
#include <string_view>

namespace duplex::ws {

enum class error : std::uint8_t {
  none = 0,
  // --- frame / message protocol violations: close 1002 (RFC 6455 §7.4.1)
  reserved_bits,           // RSV1-3 set without a negotiated extension (§5.2)
  reserved_opcode,         // opcode 3-7 or 0xB-0xF (§5.2)
  bad_length,              // 64-bit length with the top bit set (§5.2)
  control_too_long,        // control payload > 125 (§5.5)
  control_fragmented,      // control frame with FIN=0 (§5.5)
  control_compressed,      // RSV1 on a control frame (RFC 7692 §6.1)
  continuation_compressed, // RSV1 on a continuation frame (RFC 7692 §6.1)
  unexpected_continuation, // continuation without a started message (§5.4)
  expected_continuation,   // new data frame while a fragmented message is open (§5.4)
  unmasked_frame,          // client frame without mask (§5.1)
  masked_frame,            // server frame with mask (§5.1)
  bad_close_payload,       // close payload of length 1 (§5.5.1)
  bad_close_code,          // close code not allowed on the wire (§7.4)
  // --- invalid UTF-8: close 1007
  invalid_utf8,            // text message (§8.1)
  invalid_close_reason,    // close reason (§5.5.1)
  bad_compressed_data,     // inflate failed (RFC 7692 §7.2.2): the payload is not valid for
                           // its type, as Node's ws also answers it
  // --- policy: close 1008
  too_many_fragments,
  // --- too big: close 1009
  message_too_big,         // declared or inflated size above max_message_size
  // --- extension missing (client side): close 1010
  extension_missing,
  // --- internal: close 1011
  internal,                // zlib or allocation failure on our side
  // --- server handshake errors: HTTP status
  handshake_bad_method,    // not GET (RFC 6455 §4.2.1 item 1): 400, see handshake.h
  handshake_bad_http_version,  // below HTTP/1.1: 400
  handshake_missing_host,      // 400
  handshake_missing_upgrade,   // no `Upgrade: websocket`: 400 (426 would invite a TLS upgrade)
  handshake_missing_connection_upgrade,  // 400
  handshake_bad_key,       // Sec-WebSocket-Key not base64 of 16 bytes: 400
  handshake_bad_version,   // Sec-WebSocket-Version not 13: 426 + `Sec-WebSocket-Version: 13`
  handshake_origin_forbidden,  // Origin not in the allow-list: 403
  // --- client handshake errors (the client fails the connection, RFC 6455 §4.1)
  handshake_bad_status,    // not 101
  handshake_bad_accept,    // Sec-WebSocket-Accept mismatch
  handshake_bad_subprotocol,  // a subprotocol we did not offer
  handshake_bad_extension,    // an extension or parameter we did not offer
};

// Close code to send when failing the connection for `e`; 0 for none and handshake errors.
std::uint16_t close_code_of(error e) noexcept;

// HTTP status for a server handshake error; 0 for errors that are not server handshake errors.
int http_status_of(error e) noexcept;

// Stable lower_snake name, for logs and metrics labels ("reserved_bits").
std::string_view name_of(error e) noexcept;

}  // namespace duplex::ws
