// endpoint: where a Redis server is, as written in `--broker redis://...` and the config file.
//
// Accepted form: redis://[[user]:password@]host[:port][/db]
//   host  a name or an IPv4 address, or an IPv6 address in brackets ("[::1]")
//   port  1-65535, default 6379
//   db    0-15 decimal, default 0 (SELECT after connecting)
// "rediss://" (TLS) is refused: Debian's hiredis 0.14 has no TLS support.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace duplex::redis {

struct endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::string user;      // Redis 6 ACL user; empty: AUTH with the password only
  std::string password;  // empty: no AUTH
  int db = 0;
};

// Parses a URL as above. On failure returns nullopt and, when `why` is given, a one-line
// reason for the operator ("redis url: port out of range").
std::optional<endpoint> parse_url(std::string_view url, std::string* why = nullptr);

}  // namespace duplex::redis
