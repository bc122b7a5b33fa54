#include "net/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <climits>

#include "net/error.h"

namespace duplex::net {
namespace {

void log_openssl(const char* what) {
  char buf[256];
  unsigned long e;
  bool any = false;
  while ((e = ERR_get_error()) != 0) {
    ERR_error_string_n(e, buf, sizeof buf);
    spdlog::warn("tls: {}: {}", what, buf);
    any = true;
  }
  if (!any) spdlog::warn("tls: {}", what);
}

SSL_CTX* new_ctx(bool server) {
  SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (!ctx) return nullptr;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // Renegotiation would let the peer demand reads from inside SSL_write; we never need it.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  // Our output queue keeps the plaintext alive until SSL_write succeeds, so OpenSSL need not
  // check that a retried write uses the same buffer; and release idle record buffers.
  SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  return ctx;
}

}  // namespace

std::unique_ptr<tls_context> tls_context::server(const std::string& cert_chain_file,
                                                 const std::string& key_file,
                                                 std::error_code& ec) {
  ec.clear();
  SSL_CTX* ctx = new_ctx(true);
  if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, cert_chain_file.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    log_openssl("cannot load server certificate/key");
    SSL_CTX_free(ctx);
    ec = errc::tls_error;
    return nullptr;
  }
  return std::make_unique<tls_context>(key{}, ctx, true, false);
}

std::unique_ptr<tls_context> tls_context::client(const std::string& ca_file, bool verify_peer,
                                                 std::error_code& ec) {
  ec.clear();
  SSL_CTX* ctx = new_ctx(false);
  if (!ctx) {
    log_openssl("SSL_CTX_new");
    ec = errc::tls_error;
    return nullptr;
  }
  if (verify_peer) {
    const int ok = ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx)
                                   : SSL_CTX_load_verify_locations(ctx, ca_file.c_str(), nullptr);
    if (ok != 1) {
      log_openssl("cannot load CA file");
      SSL_CTX_free(ctx);
      ec = errc::tls_error;
      return nullptr;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  return std::make_unique<tls_context>(key{}, ctx, false, verify_peer);
}

tls_context::~tls_context() { SSL_CTX_free(ctx_); }

std::unique_ptr<tls_session> tls_session::create(tls_context& ctx, std::string_view server_name,
                                                 std::error_code& ec) {
  ec.clear();
  SSL* ssl = SSL_new(ctx.native_handle());
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  if (!ssl || !rbio || !wbio) {
    log_openssl("SSL_new");
    SSL_free(ssl);
    BIO_free(rbio);
    BIO_free(wbio);
    ec = errc::tls_error;
    return nullptr;
  }
  // An empty memory BIO reports "retry" instead of EOF, which is what a non-blocking socket
  // that has no data yet means.
  BIO_set_mem_eof_return(rbio, -1);
  SSL_set_bio(ssl, rbio, wbio);  // ssl owns both now
  auto s = std::make_unique<tls_session>(key{}, ssl);
  if (ctx.is_server()) {
    SSL_set_accept_state(ssl);
    return s;
  }
  SSL_set_connect_state(ssl);
  if (!server_name.empty()) {
    const std::string name(server_name);
    if (SSL_set_tlsext_host_name(ssl, name.c_str()) != 1) {
      log_openssl("SNI");
      ec = errc::tls_error;
      return nullptr;
    }
    if (ctx.verify_peer()) {
      // Match an IP address literal against the IP SANs, anything else as a DNS name.
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      const bool ok = X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str()) == 1 ||
                      SSL_set1_host(ssl, name.c_str()) == 1;
      ERR_clear_error();
      if (!ok) {
        ec = errc::tls_error;
        return nullptr;
      }
    }
  }
  return s;
}

tls_session::~tls_session() { SSL_free(ssl_); }

bool tls_session::feed(std::span<const std::byte> cipher) noexcept {
  while (!cipher.empty()) {
    const int chunk = static_cast<int>(std::min<std::size_t>(cipher.size(), INT_MAX));
    const int n = BIO_write(SSL_get_rbio(ssl_), cipher.data(), chunk);
    if (n <= 0) return false;
    cipher = cipher.subspan(static_cast<std::size_t>(n));
  }
  return true;
}

tls_session::status tls_session::handshake() noexcept {
  const int r = SSL_do_handshake(ssl_);
  if (r == 1) return status::ok;
  const int err = SSL_get_error(ssl_, r);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return status::want_input;
  log_openssl("handshake failed");
  return status::error;
}

bool tls_session::handshake_done() const noexcept { return SSL_is_init_finished(ssl_) == 1; }

tls_session::status tls_session::read(std::span<std::byte> out, std::size_t& n) noexcept {
  n = 0;
  if (SSL_read_ex(ssl_, out.data(), out.size(), &n) == 1) return status::ok;
  const int err = SSL_get_error(ssl_, 0);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return status::want_input;
  if (err == SSL_ERROR_ZERO_RETURN) return status::peer_closed;
  log_openssl("read failed");
  return status::error;
}

bool tls_session::write(std::span<const std::byte> plain) noexcept {
  while (!plain.empty()) {
    std::size_t n = 0;
    if (SSL_write_ex(ssl_, plain.data(), plain.size(), &n) != 1) {
      log_openssl("write failed");
      return false;
    }
    plain = plain.subspan(n);
  }
  return true;
}

void tls_session::shutdown() noexcept {
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

bool tls_session::has_output() const noexcept { return BIO_ctrl_pending(SSL_get_wbio(ssl_)) != 0; }

void tls_session::take_output(chunk_pool& pool) {
  BIO* wbio = SSL_get_wbio(ssl_);
  for (std::size_t pending; (pending = BIO_ctrl_pending(wbio)) != 0;) {
    std::span<std::byte> room = wire_.prepare(1, pool);
    const int want = static_cast<int>(std::min<std::size_t>({room.size(), pending, INT_MAX}));
    const int n = BIO_read(wbio, room.data(), want);
    if (n <= 0) break;
    wire_.commit(static_cast<std::size_t>(n));
  }
}

}  // namespace duplex::net
