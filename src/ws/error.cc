#include "ws/error.h"

#include <array>
#include <cstddef>

namespace duplex::ws {
namespace {

struct row {
  error e;
  std::string_view name;
  std::uint16_t close_code;  // RFC 6455 §7.4.1
  int http_status;
};

// The one table (STYLE.md rule 11). Order must follow the enum; checked below.
constexpr std::array<row, 33> table{{
    {error::none, "none", 0, 0},
    {error::reserved_bits, "reserved_bits", 1002, 0},
    {error::reserved_opcode, "reserved_opcode", 1002, 0},
    {error::bad_length, "bad_length", 1002, 0},
    {error::control_too_long, "control_too_long", 1002, 0},
    {error::control_fragmented, "control_fragmented", 1002, 0},
    {error::control_compressed, "control_compressed", 1002, 0},
    {error::continuation_compressed, "continuation_compressed", 1002, 0},
    {error::unexpected_continuation, "unexpected_continuation", 1002, 0},
    {error::expected_continuation, "expected_continuation", 1002, 0},
    {error::unmasked_frame, "unmasked_frame", 1002, 0},
    {error::masked_frame, "masked_frame", 1002, 0},
    {error::bad_close_payload, "bad_close_payload", 1002, 0},
    {error::bad_close_code, "bad_close_code", 1002, 0},
    {error::invalid_utf8, "invalid_utf8", 1007, 0},
    {error::invalid_close_reason, "invalid_close_reason", 1007, 0},
    // RFC 7692 §8 names no code for data that does not inflate; 1007 (payload not consistent
    // with its type) is what Node's ws sends, and clients treat it as a peer error.
    {error::bad_compressed_data, "bad_compressed_data", 1007, 0},
    {error::too_many_fragments, "too_many_fragments", 1008, 0},
    {error::message_too_big, "message_too_big", 1009, 0},
    {error::extension_missing, "extension_missing", 1010, 0},
    {error::internal, "internal", 1011, 0},
    {error::handshake_bad_method, "handshake_bad_method", 0, 400},
    {error::handshake_bad_http_version, "handshake_bad_http_version", 0, 400},
    {error::handshake_missing_host, "handshake_missing_host", 0, 400},
    {error::handshake_missing_upgrade, "handshake_missing_upgrade", 0, 400},
    {error::handshake_missing_connection_upgrade, "handshake_missing_connection_upgrade", 0, 400},
    {error::handshake_bad_key, "handshake_bad_key", 0, 400},
    {error::handshake_bad_version, "handshake_bad_version", 0, 426},
    {error::handshake_origin_forbidden, "handshake_origin_forbidden", 0, 403},
    {error::handshake_bad_status, "handshake_bad_status", 0, 0},
    {error::handshake_bad_accept, "handshake_bad_accept", 0, 0},
    {error::handshake_bad_subprotocol, "handshake_bad_subprotocol", 0, 0},
    {error::handshake_bad_extension, "handshake_bad_extension", 0, 0},
}};

constexpr bool table_in_order() {
  for (std::size_t i = 0; i < table.size(); ++i) {
    if (static_cast<std::size_t>(table[i].e) != i) return false;
  }
  return static_cast<std::size_t>(error::handshake_bad_extension) + 1 == table.size();
}
static_assert(table_in_order(), "ws::error table out of sync with the enum");

const row& row_of(error e) noexcept {
  auto i = static_cast<std::size_t>(e);
  return i < table.size() ? table[i] : table[0];
}

}  // namespace

std::uint16_t close_code_of(error e) noexcept { return row_of(e).close_code; }
int http_status_of(error e) noexcept { return row_of(e).http_status; }
std::string_view name_of(error e) noexcept { return row_of(e).name; }

}  // namespace duplex::ws
