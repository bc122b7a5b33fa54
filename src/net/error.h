// Errors the net layer reports through stream_handler::on_close and its factories, besides
// plain errno values (std::system_category(), e.g. ECONNREFUSED, ECONNRESET, EPIPE).
//
//   on_close(ec) with ec == {}                        : close() completed (all output written)
//                                                       and the linger ended (peer EOF/timeout)
//   ec == std::errc::operation_canceled               : abort() (or loop destroyed)
//   ec == net::errc::eof                              : the peer closed its side
//   ec == net::errc::tls_handshake_failed / tls_error : OpenSSL rejected the session
#pragma once

#include <system_error>
#include <type_traits>

namespace duplex::net {

enum class errc {
  eof = 1,               // orderly shutdown by the peer
  tls_handshake_failed,  // certificate verification, protocol mismatch, bad ClientHello
  tls_error,             // a TLS error after the handshake (bad record, unexpected message)
  resolve_failed,        // getaddrinfo found no usable address
  invalid_address,       // the text is not a numeric IPv4/IPv6 address (listeners)
};

const std::error_category& net_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), net_category()};
}

}  // namespace duplex::net

template <>
struct std::is_error_code_enum<duplex::net::errc> : std::true_type {};
