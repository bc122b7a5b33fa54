// Test helpers for ws::protocol (used by the *_test.cc files of this folder only): a recorder
// that is both handler and sink, a raw frame builder that can produce invalid frames, and an
// echo server driven by an in-memory client.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ws/protocol.h"

namespace duplex::ws::test {

inline std::vector<std::byte> to_bytes(std::string_view s) {
  std::vector<std::byte> v(s.size());
  if (!s.empty()) std::memcpy(v.data(), s.data(), s.size());
  return v;
}
inline std::string to_string(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}
inline std::vector<std::byte> concat(std::initializer_list<std::vector<std::byte>> parts) {
  std::vector<std::byte> v;
  for (const auto& p : parts) v.insert(v.end(), p.begin(), p.end());
  return v;
}

// A frame as a client would send it (masked by default), including invalid ones: any opcode
// 0..15, any RSV bits (rsv = RSV1<<2 | RSV2<<1 | RSV3, as Autobahn numbers them).
inline std::vector<std::byte> frame(unsigned op, std::span<const std::byte> payload,
                                    bool fin = true, unsigned rsv = 0, bool masked = true,
                                    std::uint32_t key = 0x37fa213d) {
  std::vector<std::byte> v;
  v.push_back(std::byte(static_cast<std::uint8_t>((fin ? 0x80 : 0) | ((rsv & 7) << 4) | (op & 0xF))));
  const std::uint8_t m = masked ? 0x80 : 0;
  const std::uint64_t n = payload.size();
  if (n < 126) {
    v.push_back(std::byte(static_cast<std::uint8_t>(m | n)));
  } else if (n <= 0xFFFF) {
    v.push_back(std::byte(static_cast<std::uint8_t>(m | 126)));
    v.push_back(std::byte(static_cast<std::uint8_t>(n >> 8)));
    v.push_back(std::byte(static_cast<std::uint8_t>(n)));
  } else {
    v.push_back(std::byte(static_cast<std::uint8_t>(m | 127)));
    for (int i = 7; i >= 0; --i) v.push_back(std::byte(static_cast<std::uint8_t>(n >> (8 * i))));
  }
  const std::size_t start = v.size() + (masked ? 4 : 0);
  if (masked) {
    std::byte k[4];
    std::memcpy(k, &key, 4);
    v.insert(v.end(), k, k + 4);
  }
  v.insert(v.end(), payload.begin(), payload.end());
  if (masked) apply_mask(std::span(v.data() + start, payload.size()), key, 0);
  return v;
}
inline std::vector<std::byte> frame(unsigned op, std::string_view payload, bool fin = true,
                                    unsigned rsv = 0, bool masked = true) {
  return frame(op, to_bytes(payload), fin, rsv, masked);
}
inline std::vector<std::byte> close_frame(std::uint16_t code, std::string_view reason = {}) {
  std::string p;
  p.push_back(static_cast<char>(code >> 8));
  p.push_back(static_cast<char>(code & 0xFF));
  p += reason;
  return frame(0x8, p);
}

struct event {
  enum kind_t { message, ping, pong, close, fail } kind;
  opcode op = opcode::text;
  std::string data;
  std::uint16_t code = 0;
  error err = error::none;
  bool operator==(const event&) const = default;
};

inline event msg(opcode op, std::string data) { return {event::message, op, std::move(data)}; }
inline event text(std::string data) { return msg(opcode::text, std::move(data)); }
inline event binary(std::string data) { return msg(opcode::binary, std::move(data)); }
inline event pong(std::string data) { return {event::pong, opcode::pong, std::move(data)}; }

inline void PrintTo(const event& e, std::ostream* os) {
  static const char* kinds[] = {"message", "ping", "pong", "close", "fail"};
  *os << kinds[e.kind] << "(op=" << int(e.op) << ", " << e.data.size() << " bytes";
  if (e.data.size() <= 32) *os << " \"" << e.data << "\"";
  *os << ", code=" << e.code << ")";
}

class recorder : public protocol_handler {
 public:
  std::vector<event> events;
  std::vector<std::byte> out;
  protocol* self = nullptr;
  bool echo = false;           // echo messages back (the Autobahn echo server)
  bool echo_compress = false;  // ... compressed, when negotiated
  std::size_t shared_writes = 0;

  void on_message(opcode op, std::span<const std::byte> p) override {
    events.push_back(msg(op, to_string(p)));
    if (echo && self) self->send(op, p, echo_compress);
  }
  void on_ping(std::span<const std::byte> p) override {
    events.push_back({event::ping, opcode::ping, to_string(p)});
  }
  void on_pong(std::span<const std::byte> p) override {
    events.push_back({event::pong, opcode::pong, to_string(p)});
  }
  void on_close(std::uint16_t code, std::string_view reason) override {
    events.push_back({event::close, opcode::close, std::string(reason), code});
  }
  void on_fail(error e, std::uint16_t code) override {
    events.push_back({event::fail, opcode::close, {}, code, e});
  }
  void write(std::span<const std::byte> b) override { out.insert(out.end(), b.begin(), b.end()); }
  void write(const shared_payload& p) override {
    ++shared_writes;
    write(p.bytes());
  }

  std::vector<event> messages_and_pongs() const {
    std::vector<event> v;
    for (const auto& e : events) {
      if (e.kind == event::message || e.kind == event::pong) v.push_back(e);
    }
    return v;
  }
  std::optional<event> last_of(event::kind_t k) const {
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
      if (it->kind == k) return *it;
    }
    return std::nullopt;
  }
};

// Feeds `bytes` to `p` in chunks of `chop` bytes (copied into a scratch buffer each time, as
// a loop's receive buffer would be). Stops when the protocol stops consuming.
inline void feed_chopped(protocol& p, std::span<const std::byte> bytes, std::size_t chop) {
  std::vector<std::byte> buf;
  for (std::size_t off = 0; off < bytes.size(); off += chop) {
    const std::size_t n = std::min(chop, bytes.size() - off);
    buf.assign(bytes.begin() + static_cast<std::ptrdiff_t>(off),
               bytes.begin() + static_cast<std::ptrdiff_t>(off + n));
    if (p.feed(buf) != n) return;
    if (p.state() == protocol_state::failed || p.state() == protocol_state::closed) return;
  }
}

// An echo server (server role) and a client (client role) that decodes what the server wrote.
struct echo_pair {
  recorder srv, cli;
  protocol server, client;

  explicit echo_pair(protocol_options server_opt = {}, std::optional<deflate_params> deflate = {},
                     bool compress = false)
      : server(with(server_opt, role::server, deflate), srv),
        client(with(server_opt, role::client, deflate), cli) {
    srv.self = &server;
    srv.echo = true;
    srv.echo_compress = compress;
  }
  static protocol_options with(protocol_options o, role r, std::optional<deflate_params> d) {
    o.role = r;
    o.deflate = d;
    return o;
  }
  // Client bytes into the server, then the server's output into the client.
  void run(std::span<const std::byte> client_bytes, std::size_t chop) {
    feed_chopped(server, client_bytes, chop == 0 ? client_bytes.size() + 1 : chop);
    std::vector<std::byte> out;
    out.swap(srv.out);
    client.feed(out);
  }
  // Whatever the client protocol has written (its own frames) goes to the server.
  void flush_client(std::size_t chop = 0) {
    std::vector<std::byte> bytes;
    bytes.swap(cli.out);
    run(bytes, chop);
  }
};

}  // namespace duplex::ws::test
