#include "net/error.h"

#include <string>

namespace duplex::net {
namespace {
class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "duplex.net"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::eof: return "connection closed by peer";
      case errc::tls_handshake_failed: return "TLS handshake failed";
      case errc::tls_error: return "TLS error";
      case errc::resolve_failed: return "name resolution failed";
      case errc::invalid_address: return "invalid address";
    }
    return "unknown net error";
  }
};
}  // namespace

const std::error_category& net_category() noexcept {
  static const category c;
  return c;
}

}  // namespace duplex::net
