// JWT verification for connection and subscription tokens, as Centrifugo defines them
// (centrifugal.dev docs/server/authentication.md and channel_token_auth.md).
//
// Tokens are RFC 7519 JWTs in RFC 7515 compact JWS form: BASE64URL(header) "." BASE64URL(claims)
// "." BASE64URL(signature). Two algorithms are supported: HS256 (HMAC-SHA256 with a shared secret)
// and RS256 (RSASSA-PKCS1-v1_5 with SHA-256, RSA public key in PEM). A token's `alg` must name an
// algorithm for which a key is configured: `none`, unknown algorithms and an HS256 token checked
// against an RSA-only configuration (the classic alg-confusion attack) are all refused.
//
// The signature is checked before the claims are parsed: unauthenticated claim bytes are never
// interpreted. Verification runs once per connect/subscribe, not per message, so it allocates
// freely; it never throws and never aborts on bad input.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace duplex::service {

enum class jwt_error : std::uint8_t {
  ok = 0,
  too_long,         // longer than jwt_config::max_token_size
  malformed,        // not three non-empty base64url segments (bad char, padding, length)
  bad_header,       // header is not a JSON object with a string `alg`, or has `crit`
  unsupported_alg,  // `alg` is none or an algorithm we do not implement
  alg_mismatch,     // `alg` is implemented but no key of that type is configured
  bad_signature,    // signature does not verify with the configured key
  bad_claims,       // claims are not a JSON object, a claim has the wrong type, or repeats
  expired,          // now >= exp (+ leeway)                          RFC 7519 §4.1.4
  not_yet_valid,    // now < nbf (- leeway)                           RFC 7519 §4.1.5
  wrong_audience,   // audience configured and not in `aud`           RFC 7519 §4.1.3
  wrong_issuer,     // issuer configured and `iss` differs            RFC 7519 §4.1.1
  wrong_channel,    // subscription token for another channel
  wrong_user,       // subscription token's `sub` is not the connection's user
};

// Stable lower_snake name, e.g. "expired" (logs, metric labels).
std::string_view to_string(jwt_error e) noexcept;
// One human sentence for logs and error replies, e.g. "token expired".
std::string_view message(jwt_error e) noexcept;

struct jwt_config {
  std::string hmac_secret;         // enables HS256 when non-empty
  std::string rsa_public_key_pem;  // enables RS256 when non-empty ("BEGIN PUBLIC KEY", SPKI)
  std::string audience;            // when non-empty, `aud` must contain it
  std::string issuer;              // when non-empty, `iss` must equal it
  std::chrono::seconds leeway{0};  // clock skew tolerated for exp and nbf
  std::size_t max_token_size = 16 * 1024;
  // Wall-clock time in UNIX seconds; null means std::chrono::system_clock. Tests inject a fake.
  std::function<std::int64_t()> now;
};

// Claims of a connection token. Times are UNIX seconds.
struct connection_claims {
  std::string user;  // `sub`; empty (or absent) means an anonymous user with a token
  std::optional<std::int64_t> exp, iat, nbf;
  std::optional<std::int64_t> expire_at;  // Centrifugo: overrides exp for connection expiry
  std::string info;                       // raw JSON of `info` (minified), empty when absent
  std::vector<std::string> channels;      // server-side subscriptions
};

// Claims of a subscription token.
struct subscription_claims {
  std::string user;     // `sub`; absent means anonymous
  std::string channel;  // required
  std::optional<std::int64_t> exp, iat, nbf;
  std::optional<std::int64_t> expire_at;
  std::string info;
};

class jwt_verifier;
using jwt_verifier_ptr = std::unique_ptr<jwt_verifier>;

// Holds the keys; verify_* are const and may be called from any number of threads at once
// (the OpenSSL key is read-only after create()).
class jwt_verifier {
  struct keys;
  struct private_tag {
    explicit private_tag() = default;
  };

 public:
  // Returns nullptr and sets `why` when the configuration cannot verify anything: no key at
  // all, or a PEM that does not hold an RSA public key.
  static jwt_verifier_ptr create(jwt_config config, std::string& why);
  jwt_verifier(private_tag, jwt_config config, std::unique_ptr<keys> k);  // use create()
  ~jwt_verifier();
  jwt_verifier(const jwt_verifier&) = delete;
  jwt_verifier& operator=(const jwt_verifier&) = delete;

  // Verifies a connection token. `out` is filled only when the result is ok.
  jwt_error verify_connection(std::string_view token, connection_claims& out) const;

  // Verifies a subscription token for `channel`, presented by a connection of `user` (empty for
  // anonymous). `out` is filled only when the result is ok.
  jwt_error verify_subscription(std::string_view token, std::string_view channel,
                                std::string_view user, subscription_claims& out) const;

 private:
  // Checks structure, header and signature; on ok, `claims_json` holds the decoded claims.
  jwt_error verify_signed(std::string_view token, std::string& claims_json) const;
  std::int64_t now() const;

  jwt_config config_;
  std::unique_ptr<keys> keys_;
};

// Signs `claims_json` (a JSON object, used verbatim) as an HS256 compact JWS. For
// `duplex gentoken` and tests. Returns "" when OpenSSL fails to sign.
std::string make_hs256_token(std::string_view claims_json, std::string_view secret);

// Signs `claims_json` as RS256 with a PEM private key. Returns "" when the key is not an RSA
// private key.
std::string make_rs256_token(std::string_view claims_json, std::string_view private_key_pem);

// base64url without padding (RFC 4648 §5, as RFC 7515 §2 requires). decode is strict: it
// rejects '=', characters outside the alphabet, a length of 4n+1 and non-zero unused bits, so
// each byte string has exactly one accepted encoding. Appends to `out`; on false, `out` holds
// an unspecified prefix.
bool base64url_decode(std::string_view in, std::string& out);
void base64url_encode(std::string_view in, std::string& out);

}  // namespace duplex::service
