#include "ws/inflater.h"

#include <algorithm>

#include <zlib.h>

namespace duplex::ws {

struct inflater::stream {
  z_stream z{};
  bool initialised = false;
  ~stream() {
    if (initialised) inflateEnd(&z);
  }
};

inflater::inflater(std::uint8_t window_bits, bool no_context_takeover)
    : window_bits_(std::clamp<std::uint8_t>(window_bits, 8, 15)),
      no_context_takeover_(no_context_takeover) {}

inflater::~inflater() = default;
inflater::inflater(inflater&&) noexcept = default;
inflater& inflater::operator=(inflater&&) noexcept = default;

bool inflater::ensure_stream() noexcept {
  if (z_) return true;
  auto s = std::make_unique<stream>();
  if (inflateInit2(&s->z, -static_cast<int>(window_bits_)) != Z_OK) return false;
  s->initialised = true;
  z_ = std::move(s);
  return true;
}

void inflater::reset() noexcept {
  if (z_) inflateReset(&z_->z);
  ended_ = false;
  fed_ = false;
}

inflater::status inflater::run(std::span<const std::byte> in, std::vector<std::byte>& out,
                               std::size_t max_size) {
  if (!ensure_stream()) return status::internal;
  z_stream& z = z_->z;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  bool more = true;
  while (more) {
    if (ended_) {
      if (z.avail_in != 0) return status::corrupt;  // bytes after the final block
      break;
    }
    const std::size_t used = out.size();
    const bool probing = used >= max_size;
    std::byte probe{};
    std::size_t room = 1;
    if (probing) {
      // Full: one more byte of output means the message is too big. Probe with a 1-byte
      // buffer on the stack rather than growing `out` past the cap.
      z.next_out = reinterpret_cast<Bytef*>(&probe);
    } else {
      // Grow geometrically, never past the cap: a bomb reaches the cap after O(log) resizes.
      const std::size_t want =
          std::max<std::size_t>(4096, std::min<std::size_t>(used, std::size_t{1} << 20));
      room = std::min(want, max_size - used);
      out.resize(used + room);
      z.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    }
    z.avail_out = static_cast<uInt>(room);
    const int rc = ::inflate(&z, Z_SYNC_FLUSH);
    const std::size_t produced = room - z.avail_out;
    if (probing) {
      if (produced != 0) return status::too_big;
    } else {
      out.resize(used + produced);
    }
    if (rc == Z_STREAM_END) {
      ended_ = true;
      continue;
    }
    if (rc == Z_BUF_ERROR) break;  // no progress possible: needs more input
    if (rc != Z_OK) return rc == Z_MEM_ERROR ? status::internal : status::corrupt;
    // Output may still be pending inside zlib when the buffer filled up exactly.
    more = z.avail_in != 0 || z.avail_out == 0;
  }
  return status::ok;
}

inflater::status inflater::inflate(std::span<const std::byte> in, std::vector<std::byte>& out,
                                   std::size_t max_size) {
  if (in.empty()) return status::ok;
  fed_ = true;
  return run(in, out, max_size);
}

inflater::status inflater::finish(std::vector<std::byte>& out, std::size_t max_size) {
  static constexpr std::byte tail[4] = {std::byte{0}, std::byte{0}, std::byte{0xff},
                                        std::byte{0xff}};
  status s = status::ok;
  if (!fed_) {
    // An empty compressed payload (a lenient peer's empty message): there is no block to
    // terminate, and inflating the tail alone would leave a half-read stored block behind.
    return status::ok;
  }
  fed_ = false;
  if (!ended_) {
    s = run(tail, out, max_size);
  } else if (!ensure_stream()) {
    return status::internal;
  }
  // A message that ended with BFINAL also starts the next one from an empty window.
  if (s == status::ok && (no_context_takeover_ || ended_)) {
    inflateReset(&z_->z);
    ended_ = false;
  }
  return s;
}

}  // namespace duplex::ws
