// Fuzz target: frame headers and chunked parsing. Oracles: encode(parse(x)) parses back to
// the same header; the word-wise mask equals the byte loop; and a server-role protocol fed
// the input in pseudo-random chunks reports exactly the events it reports for one buffer.
#include <cstdint>
#include <cstring>
#include <vector>

#include "ws/frame.h"
#include "ws/protocol.h"

namespace {

using namespace duplex;
using namespace duplex::ws;

struct log_handler final : protocol_handler {
  std::vector<std::uint8_t> log;  // a compact trace of events and written bytes
  void add(std::uint8_t tag, std::span<const std::byte> p) {
    log.push_back(tag);
    for (auto b : p) log.push_back(std::to_integer<std::uint8_t>(b));
  }
  void on_message(opcode op, std::span<const std::byte> p) override { add(static_cast<std::uint8_t>(op), p); }
  void on_ping(std::span<const std::byte> p) override { add(0x19, p); }
  void on_pong(std::span<const std::byte> p) override { add(0x1A, p); }
  void on_close(std::uint16_t code, std::string_view) override {
    log.push_back(0x18);
    log.push_back(static_cast<std::uint8_t>(code >> 8));
    log.push_back(static_cast<std::uint8_t>(code));
  }
  void on_fail(error e, std::uint16_t) override {
    log.push_back(0xEE);
    log.push_back(static_cast<std::uint8_t>(e));
  }
  void write(std::span<const std::byte> b) override { add(0x77, b); }
  void write(const shared_payload& p) override { add(0x77, p.bytes()); }
};

void check(bool ok) {
  if (!ok) __builtin_trap();
}

std::vector<std::uint8_t> run(std::span<const std::uint8_t> in, std::uint32_t seed, bool chunked) {
  log_handler h;
  protocol_options o;
  o.max_message_size = 64 * 1024;
  o.max_fragments = 64;
  protocol p(o, h);
  std::vector<std::byte> buf;
  std::size_t off = 0;
  while (off < in.size()) {
    std::size_t n = in.size() - off;
    if (chunked) {
      seed = seed * 1103515245u + 12345u;
      n = std::min<std::size_t>(n, 1 + (seed >> 16) % 17);
    }
    buf.assign(reinterpret_cast<const std::byte*>(in.data() + off),
               reinterpret_cast<const std::byte*>(in.data() + off + n));
    const std::size_t used = p.feed(buf);
    check(used <= n);
    if (used < n) break;
    off += n;
  }
  return h.log;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  frame_header h;
  auto r = parse_frame_header(bytes, h);
  check(r.consumed <= size);
  if (r.status == parse_status::done) {
    std::array<std::byte, max_frame_header_size> enc;
    const std::size_t n = encode_frame_header(h, enc);
    check(n == r.consumed);  // we only accept minimal lengths, so encoding is canonical
    frame_header back;
    auto r2 = parse_frame_header(std::span<const std::byte>(enc.data(), n), back);
    check(r2.status == parse_status::done && r2.consumed == n);
    check(back.fin == h.fin && back.rsv1 == h.rsv1 && back.rsv2 == h.rsv2 && back.rsv3 == h.rsv3 &&
          back.op == h.op && back.masked == h.masked && back.mask_key == h.mask_key &&
          back.payload_length == h.payload_length);
    for (std::size_t cut = 0; cut < n; ++cut) {
      frame_header tmp;
      auto pr = parse_frame_header(std::span<const std::byte>(enc.data(), cut), tmp);
      check(pr.status != parse_status::done);
    }
  }
  if (size >= 4) {
    std::uint32_t key;
    std::memcpy(&key, data, 4);
    std::vector<std::byte> a(bytes.begin(), bytes.end()), b = a;
    apply_mask(a, key, data[0]);
    apply_mask_bytewise(b, key, data[0]);
    check(a == b);
  }
  const std::span<const std::uint8_t> in(data, size);
  const std::uint32_t seed = size ? data[size - 1] : 0;
  check(run(in, seed, false) == run(in, seed, true));
  return 0;
}
