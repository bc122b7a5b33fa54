#include "ws/deflater.h"

#include <algorithm>
#include <cstring>

#include <zlib.h>

namespace duplex::ws {

struct deflater::stream {
  z_stream z{};
  bool initialised = false;
  ~stream() {
    if (initialised) deflateEnd(&z);
  }
};

deflater::deflater(std::uint8_t window_bits, bool no_context_takeover, int level, int mem_level)
    : window_bits_(std::clamp<std::uint8_t>(window_bits, 9, 15)),  // 8 -> 9, see header
      no_context_takeover_(no_context_takeover),
      level_(std::clamp(level, 0, 9)),
      mem_level_(std::clamp(mem_level, 1, 9)) {}

deflater::~deflater() = default;
deflater::deflater(deflater&&) noexcept = default;
deflater& deflater::operator=(deflater&&) noexcept = default;

bool deflater::ensure_stream() noexcept {
  if (z_) return true;
  auto s = std::make_unique<stream>();
  // Negative window bits: raw deflate, no zlib header or checksum (RFC 7692 §7.2.1).
  if (deflateInit2(&s->z, level_, Z_DEFLATED, -static_cast<int>(window_bits_), mem_level_,
                   Z_DEFAULT_STRATEGY) != Z_OK) {
    return false;
  }
  s->initialised = true;
  z_ = std::move(s);
  return true;
}

bool deflater::compress(std::span<const std::byte> message, std::vector<std::byte>& out) {
  if (!ensure_stream()) return false;
  z_stream& z = z_->z;
  const std::size_t start = out.size();
  z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(message.data()));
  z.avail_in = static_cast<uInt>(message.size());
  // Typical text compresses well; start near the input size and grow geometrically.
  std::size_t chunk = std::max<std::size_t>(64, message.size() / 2 + 16);
  for (;;) {
    const std::size_t used = out.size();
    out.resize(used + chunk);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    z.avail_out = static_cast<uInt>(chunk);
    const int rc = deflate(&z, Z_SYNC_FLUSH);
    out.resize(used + (chunk - z.avail_out));
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      deflateReset(&z);
      return false;
    }
    // Done when all input is consumed and the flush fitted (output space left over).
    if (z.avail_in == 0 && z.avail_out != 0) break;
    chunk = std::min<std::size_t>(chunk * 2, std::size_t{1} << 30);
  }
  // RFC 7692 §7.2.1: remove the 4 octets 00 00 ff ff that end a sync flush.
  static constexpr std::byte tail[4] = {std::byte{0}, std::byte{0}, std::byte{0xff},
                                        std::byte{0xff}};
  if (out.size() - start >= 4 && std::memcmp(out.data() + out.size() - 4, tail, 4) == 0) {
    out.resize(out.size() - 4);
  }
  // A sync flush right after another emits nothing (an empty message following a message).
  // An empty payload would make the receiver inflate 00 00 ff ff alone, which is not a
  // complete block; RFC 7692 §7.2.3.6 sends an empty stored block's first octet, 0x00.
  if (out.size() == start) out.push_back(std::byte{0});
  if (no_context_takeover_) deflateReset(&z);
  return true;
}

}  // namespace duplex::ws
