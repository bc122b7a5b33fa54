// Standard base64 (RFC 4648 §4, alphabet A-Z a-z 0-9 + /, '=' padding) for Engine.IO v4
// polling payloads, where a binary packet travels as 'b' + base64(bytes).
//
// The decoder is strict and accepts only the canonical encoding, which is what every
// Engine.IO client sends (Node's Buffer, the browser's FileReader, Python's b64encode):
// length a multiple of 4, padding only at the end, no whitespace, and zero pad bits
// (RFC 4648 §3.5 lets a decoder reject non-zero pad bits). Canonical-only means that
// decode followed by encode gives back the exact input, which the payload fuzzer checks.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace duplex::sio::codec {

// Length of the encoding of `n` bytes, padding included.
constexpr std::size_t base64_encoded_size(std::size_t n) noexcept { return (n + 2) / 3 * 4; }

// Appends the encoding of `bytes` to `out`.
void base64_append(std::string& out, std::string_view bytes);

// Appends the decoded bytes of `text` to `out`. Returns false, with `out` unchanged, when
// `text` is not canonical base64 (see above). The empty text is valid and decodes to nothing.
[[nodiscard]] bool base64_decode_append(std::string_view text, std::string& out);

}  // namespace duplex::sio::codec
