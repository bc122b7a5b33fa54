// Parsing ws:// and wss:// URLs for the client (RFC 6455 §3).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace duplex::ws {

struct client_url {
  bool secure = false;      // wss://
  std::string host;         // without brackets for IPv6 literals
  std::uint16_t port = 0;   // 80 / 443 when absent
  std::string resource;     // path + query, "/" when absent; never holds a fragment

  // Host header value: host, bracketed if IPv6, with ":port" unless it is the default.
  std::string host_header() const;
};

// nullopt for anything that is not an absolute ws/wss URL: other schemes, a fragment
// (§3: "Fragment identifiers are meaningless ... MUST NOT be used"), userinfo, an empty host,
// a port that is not 1..65535.
std::optional<client_url> parse_client_url(std::string_view url);

}  // namespace duplex::ws
