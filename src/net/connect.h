// net::connect: opens a client stream (TCP, optionally TLS) on a loop.
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

namespace duplex::net {

class loop;
class stream;
class stream_handler;
class tls_context;

// Starts a non-blocking connect to host:port; host is resolved synchronously (getaddrinfo;
// fine for tests and start-up, not for a hot path) and the first address is used.
// tls: nullptr for plain TCP; otherwise the handshake follows the TCP connect, with SNI
// server_name (defaults to host when empty), verified against it when the context verifies.
//
// Returns the stream, already owned by the loop, with `handler` set: on_connect fires when
// the connection (and handshake) is up, or on_close with the error (e.g. ECONNREFUSED,
// errc::tls_handshake_failed) otherwise. Returns nullptr with ec set when no connect could be
// started (resolution or socket failure); then no callback fires. Loop thread only.
stream* connect(loop& l, std::string_view host, std::uint16_t port, tls_context* tls,
                std::string_view server_name, stream_handler* handler, std::error_code& ec);

}  // namespace duplex::net
