// TLS over streams, OpenSSL 3 with memory BIOs: the socket path (loop buffer reads, queued
// writev, corking) is the same for TLS and plain TCP; the session only transforms bytes.
//
// tls_context holds the configuration (SSL_CTX); share one per listener or per client
// configuration. It must outlive every stream created with it. Thread safety: a context may be
// used by streams on several loops at once (OpenSSL's SSL_CTX is thread-safe for that use);
// a tls_session belongs to one stream.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "net/output_queue.h"

struct ssl_ctx_st;
struct ssl_st;

namespace duplex::net {

class tls_context {
 public:
  // Server context from a PEM certificate chain and private key.
  static std::unique_ptr<tls_context> server(const std::string& cert_chain_file,
                                             const std::string& key_file, std::error_code& ec);
  // Client context. ca_file: PEM trust anchors (empty: the system's default paths). With
  // verify_peer, the handshake fails unless the chain verifies and matches the server name
  // given to net::connect().
  static std::unique_ptr<tls_context> client(const std::string& ca_file, bool verify_peer,
                                             std::error_code& ec);
  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  bool is_server() const noexcept { return server_; }
  bool verify_peer() const noexcept { return verify_; }
  ssl_ctx_st* native_handle() const noexcept { return ctx_; }

 private:
  struct key {};

 public:
  // Internal (use server()/client()); takes ownership of ctx.
  tls_context(key, ssl_ctx_st* ctx, bool server, bool verify) noexcept
      : ctx_(ctx), server_(server), verify_(verify) {}

 private:
  ssl_ctx_st* ctx_;
  bool server_;
  bool verify_;
};

// One TLS connection's state machine (internal to net/). Ciphertext in via feed(), plaintext
// out via read(); plaintext in via write(), ciphertext out via take_output().
class tls_session {
 public:
  enum class status { ok, want_input, peer_closed, error };

  // server_name: SNI and, when the context verifies, the expected host (client side only).
  static std::unique_ptr<tls_session> create(tls_context& ctx, std::string_view server_name,
                                             std::error_code& ec);
  ~tls_session();
  tls_session(const tls_session&) = delete;
  tls_session& operator=(const tls_session&) = delete;

  // Buffers received ciphertext. Returns false on allocation failure.
  bool feed(std::span<const std::byte> cipher) noexcept;
  // Advances the handshake: ok when done, want_input when waiting for the peer, else error.
  status handshake() noexcept;
  bool handshake_done() const noexcept;
  // Decrypts into out. Sets n to the bytes produced (ok), or returns why none were.
  status read(std::span<std::byte> out, std::size_t& n) noexcept;
  // Encrypts all of plain (memory BIOs never block). False on error.
  bool write(std::span<const std::byte> plain) noexcept;
  // Queues close_notify.
  void shutdown() noexcept;
  // Moves produced ciphertext to the wire queue.
  void take_output(chunk_pool& pool);
  bool has_output() const noexcept;

  output_queue& wire() noexcept { return wire_; }

 private:
  struct key {};

 public:
  // Internal (use create()); takes ownership of ssl.
  tls_session(key, ssl_st* ssl) noexcept : ssl_(ssl) {}

 private:
  ssl_st* ssl_;
  output_queue wire_;  // ciphertext not yet written to the socket
};

}  // namespace duplex::net
