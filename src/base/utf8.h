// UTF-8 validation for WebSocket text messages and close reasons (RFC 6455 §5.6, §8.1) and for
// any other layer that must reject malformed text.
//
// utf8_validator is incremental: a fragmented text message is validated as its bytes arrive,
// and feed() fails on the FIRST byte that no continuation could make valid (an overlong lead,
// a surrogate, a code point above U+10FFFF, a stray continuation byte), not only at the end
// of the message. Autobahn's "fail fast" cases (6.4.x) depend on this.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace duplex {

class utf8_validator {
 public:
  // Validates the next bytes of the stream. Returns false as soon as the stream can no longer
  // be valid UTF-8; the validator then stays failed (further calls return false) until
  // reset(). Never reads past `bytes`.
  bool feed(std::span<const std::byte> bytes) noexcept;
  bool feed(std::string_view s) noexcept {
    return feed(std::as_bytes(std::span<const char>(s.data(), s.size())));
  }

  // True when everything fed so far is valid and ends on a code point boundary: call at the
  // end of a message (a message ending inside a multi-byte sequence is invalid).
  bool complete() const noexcept { return state_ == 0; }
  bool failed() const noexcept { return state_ == reject_state; }

  void reset() noexcept { state_ = 0; }

  // Internal DFA state; 0 = between code points. Exposed for tests.
  static constexpr std::uint8_t reject_state = 1;

 private:
  std::uint8_t state_ = 0;
};

// One-shot validation of a complete text with the incremental DFA (ASCII fast path).
bool is_valid_utf8_dfa(std::span<const std::byte> bytes) noexcept;

// One-shot validation of a complete text: the DFA below 64 bytes, simdjson's SIMD validator
// above, whichever is faster for the size (see utf8_bench.cc).
bool is_valid_utf8(std::span<const std::byte> bytes) noexcept;
inline bool is_valid_utf8(std::string_view s) noexcept {
  return is_valid_utf8(std::as_bytes(std::span<const char>(s.data(), s.size())));
}

}  // namespace duplex
