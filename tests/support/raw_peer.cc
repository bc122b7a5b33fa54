#include "raw_peer.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

namespace duplex::test {

raw_peer::~raw_peer() { close(); }

void raw_peer::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool raw_peer::connect(const std::string& host, std::uint16_t port) {
  close();
  closed_ = false;
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family = AF_INET;
  if (host.find(':') != std::string::npos) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    if (inet_pton(AF_INET6, host.c_str(), &a->sin6_addr) != 1) return false;
    len = sizeof(*a);
    family = AF_INET6;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    if (inet_pton(AF_INET, host.c_str(), &a->sin_addr) != 1) return false;
    len = sizeof(*a);
  }
  fd_ = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return false;
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return ::connect(fd_, reinterpret_cast<sockaddr*>(&ss), len) == 0;
}

bool raw_peer::send(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string raw_peer::read_at_least(std::size_t want, std::chrono::milliseconds timeout) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  while (fd_ >= 0 && !closed_ && out.size() < want) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      closed_ = true;
      break;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

std::string raw_peer::read_until_close(std::chrono::milliseconds timeout) {
  return read_at_least(static_cast<std::size_t>(-1), timeout);
}

int raw_peer::upgrade(std::uint16_t port, std::string_view path, std::string& rest,
                      std::string_view extra_headers) {
  rest.clear();
  if (!connect("127.0.0.1", port) || !send(upgrade_request(path, extra_headers))) return 0;
  std::string head;
  std::size_t end;
  while ((end = head.find("\r\n\r\n")) == std::string::npos && !closed_) {
    std::string more = read_at_least(1, std::chrono::milliseconds(2000));
    if (more.empty()) return http_status(head);
    head += more;
  }
  if (end == std::string::npos) return http_status(head);
  rest = head.substr(end + 4);
  return http_status(head);
}

std::string ws_frame(std::uint8_t first_byte, std::string_view payload, bool mask,
                     std::optional<std::uint64_t> declared_length) {
  std::string f;
  f += static_cast<char>(first_byte);
  std::uint64_t len = declared_length.value_or(payload.size());
  std::uint8_t mask_bit = mask ? 0x80 : 0;
  if (len < 126) {
    f += static_cast<char>(mask_bit | len);
  } else if (len <= 0xFFFF) {
    f += static_cast<char>(mask_bit | 126);
    f += static_cast<char>(len >> 8);
    f += static_cast<char>(len & 0xFF);
  } else {
    f += static_cast<char>(mask_bit | 127);
    for (int i = 7; i >= 0; --i) f += static_cast<char>((len >> (8 * i)) & 0xFF);
  }
  if (!mask) return f + std::string(payload);
  static std::mt19937 rng(12345);
  char key[4];
  for (char& k : key) k = static_cast<char>(rng() & 0xFF);
  f.append(key, 4);
  for (std::size_t i = 0; i < payload.size(); ++i) f += static_cast<char>(payload[i] ^ key[i % 4]);
  return f;
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
  std::string p;
  p += static_cast<char>(code >> 8);
  p += static_cast<char>(code & 0xFF);
  p += reason;
  return p;
}

std::string upgrade_request(std::string_view path, std::string_view extra_headers) {
  std::string r = "GET ";
  r += path;
  r +=
      " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
  r += extra_headers;
  r += "\r\n";
  return r;
}

std::vector<server_frame> parse_server_frames(std::string_view b) {
  std::vector<server_frame> out;
  while (b.size() >= 2) {
    auto u = [&](std::size_t i) { return static_cast<std::uint8_t>(b[i]); };
    std::uint64_t len = u(1) & 0x7F;
    std::size_t hdr = 2;
    if (len == 126) {
      if (b.size() < 4) break;
      len = (std::uint64_t{u(2)} << 8) | u(3);
      hdr = 4;
    } else if (len == 127) {
      if (b.size() < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | u(2 + i);
      hdr = 10;
    }
    if (u(1) & 0x80) hdr += 4;  // a server must not mask, but skip the key if it did
    if (b.size() < hdr + len) break;
    out.push_back({u(0), std::string(b.substr(hdr, len))});
    b.remove_prefix(hdr + len);
  }
  return out;
}

int http_status(std::string_view r) {
  if (r.size() < 12 || r.substr(0, 5) != "HTTP/") return 0;
  std::size_t sp = r.find(' ');
  if (sp == std::string_view::npos || sp + 4 > r.size()) return 0;
  int code = 0;
  for (std::size_t i = sp + 1; i < sp + 4; ++i) {
    if (r[i] < '0' || r[i] > '9') return 0;
    code = code * 10 + (r[i] - '0');
  }
  return code;
}

}  // namespace duplex::test
