#include "hs256_token.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdio>
#include <cstdlib>

namespace duplex::bench {

std::string base64url(std::string_view bytes) {
  // OpenSSL's encoder gives standard base64 with padding; the URL alphabet differs in two
  // characters and JWS drops the padding.
  std::string out((bytes.size() + 2) / 3 * 4 + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    else if (c == '/') c = '_';
  }
  return out;
}

std::string make_hs256_token(std::string_view secret, std::string_view user,
                             std::string_view channel, std::int64_t exp) {
  std::string claims = R"({"sub":")";
  claims += user;
  claims += R"(","channels":[")";
  claims += channel;
  claims += R"("],"exp":)";
  claims += std::to_string(exp);
  claims += '}';
  std::string token = base64url(R"({"alg":"HS256","typ":"JWT"})");
  token += '.';
  token += base64url(claims);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(token.data()), token.size(), mac,
           &mac_len) == nullptr) {
    std::fprintf(stderr, "loadgen: HMAC-SHA256 failed\n");
    std::abort();  // OpenSSL without SHA-256: nothing sensible to run
  }
  token += '.';
  token += base64url(std::string_view(reinterpret_cast<const char*>(mac), mac_len));
  return token;
}

}  // namespace duplex::bench
