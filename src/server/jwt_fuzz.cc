// Fuzzes JWT verification against a fixed HS256 secret. The first byte picks what the rest is:
//   0: a token, verified as is (structure, base64url, header parsing, signature rejection);
//   1: a claims set, signed correctly, so that claim parsing is reached;
//   2: "<header JSON>\n<claims JSON>", signed correctly, so that header parsing is reached.
// Oracle: a token is never accepted unless an independent HMAC-SHA256 of its signing input
// equals its signature.
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "server/jwt.h"

namespace {

constexpr std::string_view secret = "fuzz-secret";

std::string hmac_b64(std::string_view input) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  if (!EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, secret.data(), secret.size(),
                 reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
                 sizeof mac, &len)) {
    std::abort();
  }
  std::string out;
  duplex::service::base64url_encode(std::string_view(reinterpret_cast<char*>(mac), len), out);
  return out;
}

const duplex::service::jwt_verifier& verifier() {
  static const duplex::service::jwt_verifier_ptr v = [] {
    std::string why;
    auto p = duplex::service::jwt_verifier::create(
        {.hmac_secret = std::string(secret), .now = [] { return std::int64_t{1700000000}; }},
        why);
    if (!p) std::abort();
    return p;
  }();
  return *v;
}

void check(std::string_view token) {
  using duplex::service::jwt_error;
  duplex::service::connection_claims cc;
  duplex::service::subscription_claims sc;
  jwt_error a = verifier().verify_connection(token, cc);
  jwt_error b = verifier().verify_subscription(token, "news", "", sc);
  if (a == jwt_error::ok || b == jwt_error::ok) {
    std::size_t dot = token.rfind('.');
    if (dot == std::string_view::npos || token.substr(dot + 1) != hmac_b64(token.substr(0, dot))) {
      std::abort();  // accepted without a valid signature
    }
  }
  (void)duplex::service::message(a);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0:
      check(rest);
      break;
    case 1:
      check(duplex::service::make_hs256_token(rest, secret));
      break;
    default: {
      std::size_t nl = rest.find('\n');
      std::string_view header = rest.substr(0, nl);
      std::string_view claims = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      std::string token;
      duplex::service::base64url_encode(header, token);
      token.push_back('.');
      duplex::service::base64url_encode(claims, token);
      token += '.' + hmac_b64(token);
      check(token);
      break;
    }
  }
  return 0;
}
