// Fuzz target: a server-role protocol with permessage-deflate negotiated (parameters from the
// first byte) fed arbitrary bytes in pseudo-random chunks, echoing what it receives. Oracles:
// no crash or sanitizer report; text messages are valid UTF-8; limits hold; after on_fail (or
// the peer's close) nothing more is delivered.
#include <cstdint>
#include <vector>

#include "base/utf8.h"
#include "ws/protocol.h"

namespace {

using namespace duplex;
using namespace duplex::ws;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

constexpr std::size_t max_message = 256 * 1024;

struct handler final : protocol_handler {
  protocol* self = nullptr;
  bool finished = false;
  std::size_t written = 0;
  void on_message(opcode op, std::span<const std::byte> p) override {
    check(!finished);
    check(op == opcode::text || op == opcode::binary);
    check(p.size() <= max_message);
    if (op == opcode::text) check(is_valid_utf8(p));
    self->send(op, p, p.size() % 2 == 0);
  }
  void on_ping(std::span<const std::byte> p) override {
    check(!finished && p.size() <= 125);
  }
  void on_pong(std::span<const std::byte> p) override { check(!finished && p.size() <= 125); }
  void on_close(std::uint16_t code, std::string_view reason) override {
    check(!finished);
    check(code == close_code::no_status || is_valid_close_code(code));
    check(is_valid_utf8(reason));
    finished = true;
  }
  void on_fail(error e, std::uint16_t code) override {
    check(!finished);
    check(code >= 1002 && code <= 1011);
    finished = true;
  }
  void write(std::span<const std::byte> b) override { written += b.size(); }
  void write(const shared_payload& p) override { written += p.size(); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t cfg = data[0];
  deflate_params d;
  d.server_no_context_takeover = cfg & 1;
  d.client_no_context_takeover = cfg & 2;
  d.server_max_window_bits = static_cast<std::uint8_t>(8 + ((cfg >> 2) & 7));
  d.client_max_window_bits = static_cast<std::uint8_t>(15 - ((cfg >> 5) & 7));
  protocol_options o;
  o.max_message_size = max_message;
  o.max_fragments = 128;
  o.deflate = d;
  handler h;
  protocol p(o, h);
  h.self = &p;

  std::uint32_t seed = data[1];
  std::vector<std::byte> buf;
  std::size_t off = 2;
  while (off < size) {
    seed = seed * 1103515245u + 12345u;
    const std::size_t n = std::min<std::size_t>(size - off, 1 + (seed >> 16) % 64);
    buf.assign(reinterpret_cast<const std::byte*>(data + off),
               reinterpret_cast<const std::byte*>(data + off + n));
    const std::size_t used = p.feed(buf);
    check(used <= n);
    if (used < n) {
      check(h.finished);
      break;
    }
    off += n;
  }
  if (h.finished) {
    // Nothing more is delivered once failed or closed.
    std::vector<std::byte> more = {std::byte{0x81}, std::byte{0x80}, std::byte{0}, std::byte{0},
                                   std::byte{0}, std::byte{0}};
    check(p.feed(more) == 0);
  }
  check(p.buffered_bytes() <= 2 * max_message + 64 * 1024);
  return 0;
}
