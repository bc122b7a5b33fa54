// Which close status codes may appear in a Close frame on the wire (RFC 6455 §7.4).
#pragma once

#include <cstdint>

namespace duplex::ws {

namespace close_code {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t unsupported_data = 1003;
inline constexpr std::uint16_t no_status = 1005;   // never sent: "no code in the frame"
inline constexpr std::uint16_t abnormal = 1006;    // never sent: "closed without a Close"
inline constexpr std::uint16_t invalid_payload = 1007;
inline constexpr std::uint16_t policy_violation = 1008;
inline constexpr std::uint16_t message_too_big = 1009;
inline constexpr std::uint16_t missing_extension = 1010;
inline constexpr std::uint16_t internal_error = 1011;
inline constexpr std::uint16_t try_again_later = 1013;
}  // namespace close_code

// True when `code` may be sent or received in a Close frame.
constexpr bool is_valid_close_code(std::uint16_t code) noexcept {
  // RFC 6455 §7.4.2: 0-999 are not used.
  if (code < 1000) return false;
  if (code <= 1003) return true;  // §7.4.1: 1000-1003 defined
  // §7.4.1: 1004 reserved; 1005 and 1006 MUST NOT be set in a Close frame;
  // 1015 (TLS failure) MUST NOT be set either.
  if (code <= 1006) return false;
  // §7.4.1 defines 1007-1011; 1012-1014 are registered with IANA (§11.7: service restart,
  // try again later, bad gateway) and are sent by real servers.
  if (code <= 1014) return true;
  // 1015 forbidden (above); 1016-2999 are reserved for future RFCs and not assigned (§7.4.2).
  if (code < 3000) return false;
  // §7.4.2: 3000-3999 registered with IANA for libraries/frameworks, 4000-4999 private use.
  return code <= 4999;  // >= 5000 is undefined by the RFC
}

}  // namespace duplex::ws
