// deflater: compresses whole messages for permessage-deflate (RFC 7692 §7.2.1).
//
// Memory: the zlib stream (about 2^(window+2) + 2^(mem_level+9) bytes: 256 KiB at 15/8) is
// allocated on the first compress() call, not by the constructor, so a connection that
// negotiated compression but never sends a compressed message costs nothing.
// Not thread-safe; one deflater per connection (or one per loop thread for broadcast frames).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace duplex::ws {

class deflater {
 public:
  // window_bits: the agreed max window (8..15). zlib cannot produce raw deflate with an 8-bit
  // window, so 8 is compressed with 9: a 9-bit zlib window never emits a distance above
  // 512 - 262 = 250 bytes (MIN_LOOKAHEAD), which a 256-byte inflate window can resolve.
  // no_context_takeover: reset the LZ77 window after every message (RFC 7692 §7.1.1).
  deflater(std::uint8_t window_bits, bool no_context_takeover, int level = 1, int mem_level = 8);
  ~deflater();
  deflater(deflater&&) noexcept;
  deflater& operator=(deflater&&) noexcept;

  // Compresses one complete message and appends the result to `out`: raw deflate blocks ended
  // by Z_SYNC_FLUSH with the final 00 00 ff ff removed (RFC 7692 §7.2.1). Returns false on a
  // zlib failure (out of memory); `out` is then unspecified and the stream is reset.
  bool compress(std::span<const std::byte> message, std::vector<std::byte>& out);

  bool no_context_takeover() const noexcept { return no_context_takeover_; }

 private:
  struct stream;  // zlib's z_stream; kept out of this header
  bool ensure_stream() noexcept;

  std::unique_ptr<stream> z_;
  std::uint8_t window_bits_;
  bool no_context_takeover_;
  int level_;
  int mem_level_;
};

}  // namespace duplex::ws
