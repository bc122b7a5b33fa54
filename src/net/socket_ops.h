// Small socket helpers shared by stream, listener and connect (internal to net/).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>

namespace duplex::net::detail {

inline std::error_code last_error() noexcept { return {errno, std::system_category()}; }

// Parses a numeric IPv4 or IPv6 address ("127.0.0.1", "::1", "0.0.0.0", "::") and port.
bool parse_address(std::string_view text, std::uint16_t port, sockaddr_storage& out,
                   socklen_t& len) noexcept;
// "ip:port" or "[ip6]:port"; empty on failure.
std::string format_address(const sockaddr* sa, socklen_t len);
// Disables Nagle: we cork ourselves (one writev per turn), so small writes must go out now.
void set_nodelay(int fd) noexcept;

}  // namespace duplex::net::detail
