// raw_peer: a blocking TCP client for tests that must send bytes no real WebSocket library
// would send (malformed handshakes and frames). Every read is bounded by a deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace duplex::test {

class raw_peer {
 public:
  raw_peer() = default;
  ~raw_peer();
  raw_peer(const raw_peer&) = delete;
  raw_peer& operator=(const raw_peer&) = delete;

  bool connect(const std::string& host, std::uint16_t port);
  bool send(std::string_view bytes);
  // Reads until the peer closes or `timeout` passes; returns everything read so far.
  std::string read_until_close(std::chrono::milliseconds timeout);
  // Reads until at least `n` bytes were read in total since the last call (or close/timeout).
  std::string read_at_least(std::size_t n, std::chrono::milliseconds timeout);
  // True when the peer closed the TCP connection (read returned 0 or a reset).
  bool peer_closed() const { return closed_; }
  void close();

  // Connects, sends a valid upgrade request for `path` (plus extra header lines), reads the
  // response head and returns its status; bytes after the head (early frames) go to `rest`.
  int upgrade(std::uint16_t port, std::string_view path, std::string& rest,
              std::string_view extra_headers = {});

 private:
  int fd_ = -1;
  bool closed_ = false;
};

// A client-role WebSocket frame (masked unless mask == false).
std::string ws_frame(std::uint8_t first_byte, std::string_view payload, bool mask = true,
                     std::optional<std::uint64_t> declared_length = std::nullopt);
// Common shortcut: FIN + opcode.
inline std::string ws_frame_fin(std::uint8_t opcode, std::string_view payload, bool mask = true) {
  return ws_frame(static_cast<std::uint8_t>(0x80 | opcode), payload, mask);
}
// A close frame payload: 2-byte code + reason.
std::string close_payload(std::uint16_t code, std::string_view reason = {});

// A valid upgrade request for `path`, with extra header lines appended (each ending in \r\n).
std::string upgrade_request(std::string_view path = "/", std::string_view extra_headers = {});

// Parsed server frames (unmasked), as far as the bytes are complete.
struct server_frame {
  std::uint8_t first = 0;  // FIN/RSV/opcode byte
  std::string payload;
  std::uint8_t opcode() const { return first & 0x0F; }
};
std::vector<server_frame> parse_server_frames(std::string_view bytes);

// The HTTP status code of a response's status line, or 0.
int http_status(std::string_view response);

}  // namespace duplex::test
