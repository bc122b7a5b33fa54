// Fuzz target: permessage-deflate streams. Oracles: inflate(deflate(x)) == x for the window and
// takeover settings chosen by the first byte, over several messages; and inflating arbitrary
// bytes never produces more than the cap.
#include <cstdint>
#include <vector>

#include "ws/deflater.h"
#include "ws/inflater.h"

namespace {
void check(bool ok) {
  if (!ok) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace duplex::ws;
  if (size == 0) return 0;
  const std::uint8_t cfg = data[0];
  const auto bits = static_cast<std::uint8_t>(8 + (cfg & 7));
  const bool nct = (cfg & 8) != 0;
  const std::span<const std::byte> body(reinterpret_cast<const std::byte*>(data + 1), size - 1);

  // Round trip: split the body into up to three messages on one pair of streams.
  {
    deflater d(bits, nct, 1 + (cfg >> 4) % 9);
    inflater i(bits, nct);
    const std::size_t parts = 1 + cfg % 3;
    for (std::size_t k = 0; k < parts; ++k) {
      const std::size_t from = body.size() * k / parts;
      const std::size_t to = body.size() * (k + 1) / parts;
      auto msg = body.subspan(from, to - from);
      std::vector<std::byte> z, out;
      check(d.compress(msg, z));
      check(!z.empty());
      // Inflate in two pieces to exercise the incremental path.
      const std::size_t half = z.size() / 2;
      check(i.inflate(std::span(z).first(half), out, msg.size()) == inflater::status::ok);
      check(i.inflate(std::span(z).subspan(half), out, msg.size()) == inflater::status::ok);
      check(i.finish(out, msg.size()) == inflater::status::ok);
      check(out.size() == msg.size() && std::equal(out.begin(), out.end(), msg.begin()));
    }
  }
  // Arbitrary input with a small cap: any status, but never more output than the cap.
  {
    const std::size_t cap = 1 + (cfg >> 3) * 64;
    inflater i(bits, nct);
    std::vector<std::byte> out;
    auto s = i.inflate(body, out, cap);
    check(out.size() <= cap);
    if (s == inflater::status::ok) s = i.finish(out, cap);
    check(out.size() <= cap);
    if (s != inflater::status::ok) i.reset();
  }
  return 0;
}
