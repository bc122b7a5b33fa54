#include "server/jwt.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/pem.h>

#include <array>
#include <cmath>
#include <limits>
#include <simdjson.h>
#include <utility>

namespace duplex::service {

namespace {

// ---- OpenSSL handles -------------------------------------------------------------------------

struct pkey_free {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct mac_free {
  void operator()(EVP_MAC* p) const noexcept { EVP_MAC_free(p); }
};
struct mac_ctx_free {
  void operator()(EVP_MAC_CTX* p) const noexcept { EVP_MAC_CTX_free(p); }
};
struct md_ctx_free {
  void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
struct bio_free {
  void operator()(BIO* p) const noexcept { BIO_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using mac_ptr = std::unique_ptr<EVP_MAC, mac_free>;
using mac_ctx_ptr = std::unique_ptr<EVP_MAC_CTX, mac_ctx_free>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_free>;
using bio_ptr = std::unique_ptr<BIO, bio_free>;

constexpr std::size_t sha256_size = 32;
// RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used with these algorithms."
constexpr int min_rsa_bits = 2048;

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

bio_ptr memory_bio(std::string_view pem) {
  return bio_ptr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// HMAC-SHA256 with an already fetched HMAC implementation. False on an OpenSSL failure.
bool hmac_sha256(EVP_MAC* mac, std::string_view key, std::string_view data,
                 std::array<unsigned char, sha256_size>& out) {
  mac_ctx_ptr ctx(EVP_MAC_CTX_new(mac));
  if (!ctx) return false;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  std::size_t len = 0;
  bool ok = EVP_MAC_init(ctx.get(), bytes_of(key), key.size(), params) == 1 &&
            EVP_MAC_update(ctx.get(), bytes_of(data), data.size()) == 1 &&
            EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) == 1 && len == out.size();
  return ok;
}

// ---- base64url -----------------------------------------------------------------------------

constexpr std::array<std::int8_t, 256> make_b64url_table() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 26; ++i) {
    t[static_cast<std::size_t>('A' + i)] = static_cast<std::int8_t>(i);
    t[static_cast<std::size_t>('a' + i)] = static_cast<std::int8_t>(26 + i);
  }
  for (int i = 0; i < 10; ++i) t[static_cast<std::size_t>('0' + i)] = static_cast<std::int8_t>(52 + i);
  t[static_cast<std::size_t>('-')] = 62;
  t[static_cast<std::size_t>('_')] = 63;
  return t;
}
constexpr auto b64url_table = make_b64url_table();
constexpr char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// ---- JSON helpers --------------------------------------------------------------------------

namespace dom = simdjson::dom;

// NumericDate (RFC 7519 §2): a JSON number of seconds, possibly non-integer. Values outside
// int64 are clamped, so a far-future exp stays far in the future.
bool numeric_date(dom::element v, std::int64_t& out) {
  switch (v.type()) {
    case dom::element_type::INT64:
      return v.get_int64().get(out) == simdjson::SUCCESS;
    case dom::element_type::UINT64: {
      std::uint64_t u = 0;
      if (v.get_uint64().get(u) != simdjson::SUCCESS) return false;
      out = u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())
                ? std::numeric_limits<std::int64_t>::max()
                : static_cast<std::int64_t>(u);
      return true;
    }
    case dom::element_type::DOUBLE: {
      double d = 0;
      if (v.get_double().get(d) != simdjson::SUCCESS || !std::isfinite(d)) return false;
      constexpr double lim = 9.0e18;  // inside int64, so the cast below is defined
      out = d >= lim ? static_cast<std::int64_t>(lim)
                     : d <= -lim ? -static_cast<std::int64_t>(lim)
                                 : static_cast<std::int64_t>(std::floor(d));
      return true;
    }
    default:
      return false;
  }
}

bool string_of(dom::element v, std::string& out) {
  std::string_view s;
  if (v.get_string().get(s) != simdjson::SUCCESS) return false;
  out.assign(s);
  return true;
}

// The union of the claims both token kinds use, as parsed from the claims set.
struct parsed_claims {
  std::optional<std::string> sub, channel, iss;
  std::optional<std::int64_t> exp, iat, nbf, expire_at;
  std::string info;
  std::vector<std::string> channels;
  std::optional<std::vector<std::string>> aud;
};

enum claim_bit : std::uint32_t {
  c_sub = 1u << 0,
  c_channel = 1u << 1,
  c_iss = 1u << 2,
  c_exp = 1u << 3,
  c_iat = 1u << 4,
  c_nbf = 1u << 5,
  c_expire_at = 1u << 6,
  c_info = 1u << 7,
  c_channels = 1u << 8,
  c_aud = 1u << 9,
};

// RFC 7519 §4: claims we do not understand are ignored; claims we use must not repeat (§4
// lets a parser reject duplicate names, and a repeated `sub` or `exp` is a forgery attempt).
jwt_error parse_claims(const std::string& json, parsed_claims& out) {
  dom::parser parser;
  dom::element doc;
  if (parser.parse(json).get(doc) != simdjson::SUCCESS) return jwt_error::bad_claims;
  dom::object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) return jwt_error::bad_claims;
  std::uint32_t seen = 0;
  auto once = [&seen](claim_bit b) {
    if (seen & b) return false;
    seen |= b;
    return true;
  };
  for (dom::key_value_pair field : obj) {
    std::string_view k = field.key;
    dom::element v = field.value;
    bool ok = true;
    if (k == "sub") {
      ok = once(c_sub) && string_of(v, out.sub.emplace());
    } else if (k == "channel") {
      ok = once(c_channel) && string_of(v, out.channel.emplace());
    } else if (k == "iss") {
      ok = once(c_iss) && string_of(v, out.iss.emplace());
    } else if (k == "exp") {
      ok = once(c_exp) && numeric_date(v, out.exp.emplace());
    } else if (k == "iat") {
      ok = once(c_iat) && numeric_date(v, out.iat.emplace());
    } else if (k == "nbf") {
      ok = once(c_nbf) && numeric_date(v, out.nbf.emplace());
    } else if (k == "expire_at") {
      ok = once(c_expire_at) && numeric_date(v, out.expire_at.emplace());
    } else if (k == "info") {
      ok = once(c_info);
      if (ok && !v.is_null()) out.info = simdjson::minify(v);
    } else if (k == "channels") {
      dom::array arr;
      ok = once(c_channels) && v.get_array().get(arr) == simdjson::SUCCESS;
      if (ok) {
        for (dom::element ch : arr) {
          if (!ok) break;
          ok = string_of(ch, out.channels.emplace_back());
        }
      }
    } else if (k == "aud") {
      // RFC 7519 §4.1.3: a single string or an array of strings.
      ok = once(c_aud);
      auto& list = out.aud.emplace();
      dom::array arr;
      if (ok && v.get_array().get(arr) == simdjson::SUCCESS) {
        for (dom::element a : arr) {
          if (!ok) break;
          ok = string_of(a, list.emplace_back());
        }
      } else if (ok) {
        ok = string_of(v, list.emplace_back());
      }
    }
    if (!ok) return jwt_error::bad_claims;
  }
  return jwt_error::ok;
}

enum class alg_kind : std::uint8_t { hs256, rs256 };

// RFC 7515 §4.1: the header is a JSON object; `alg` is required. A `crit` header names
// extensions the recipient must understand (§4.1.11); we understand none, so any is refused.
jwt_error parse_header(const std::string& json, alg_kind& alg) {
  dom::parser parser;
  dom::element doc;
  dom::object obj;
  if (parser.parse(json).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(obj) != simdjson::SUCCESS) {
    return jwt_error::bad_header;
  }
  std::optional<std::string_view> alg_name;
  for (dom::key_value_pair field : obj) {
    if (field.key == "alg") {
      std::string_view s;
      if (alg_name || field.value.get_string().get(s) != simdjson::SUCCESS) {
        return jwt_error::bad_header;
      }
      alg_name = s;
    } else if (field.key == "crit") {
      return jwt_error::bad_header;
    }
  }
  if (!alg_name) return jwt_error::bad_header;
  // Algorithm names are case-sensitive (RFC 7515 §4.1.1): "hs256" and "None" are unknown.
  if (*alg_name == "HS256") {
    alg = alg_kind::hs256;
  } else if (*alg_name == "RS256") {
    alg = alg_kind::rs256;
  } else {
    return jwt_error::unsupported_alg;
  }
  return jwt_error::ok;
}

}  // namespace

// ---- base64url (public) --------------------------------------------------------------------

bool base64url_decode(std::string_view in, std::string& out) {
  // RFC 7515 §2: base64url with all trailing '=' omitted; 4n+1 characters cannot occur.
  if (in.size() % 4 == 1) return false;
  out.reserve(out.size() + in.size() / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    std::int8_t v = b64url_table[static_cast<unsigned char>(c)];
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // The bits left over (2 or 4) must be zero, or two encodings would decode to one value.
  return (acc & ((1u << bits) - 1)) == 0;
}

void base64url_encode(std::string_view in, std::string& out) {
  out.reserve(out.size() + (in.size() * 4 + 2) / 3);
  std::size_t i = 0;
  auto byte = [&in](std::size_t j) { return static_cast<std::uint32_t>(static_cast<unsigned char>(in[j])); };
  for (; i + 3 <= in.size(); i += 3) {
    std::uint32_t n = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out.push_back(b64url_alphabet[(n >> 18) & 63]);
    out.push_back(b64url_alphabet[(n >> 12) & 63]);
    out.push_back(b64url_alphabet[(n >> 6) & 63]);
    out.push_back(b64url_alphabet[n & 63]);
  }
  std::size_t rest = in.size() - i;
  if (rest == 1) {
    std::uint32_t n = byte(i) << 16;
    out.push_back(b64url_alphabet[(n >> 18) & 63]);
    out.push_back(b64url_alphabet[(n >> 12) & 63]);
  } else if (rest == 2) {
    std::uint32_t n = (byte(i) << 16) | (byte(i + 1) << 8);
    out.push_back(b64url_alphabet[(n >> 18) & 63]);
    out.push_back(b64url_alphabet[(n >> 12) & 63]);
    out.push_back(b64url_alphabet[(n >> 6) & 63]);
  }
}

// ---- errors --------------------------------------------------------------------------------

std::string_view to_string(jwt_error e) noexcept {
  switch (e) {
    case jwt_error::ok: return "ok";
    case jwt_error::too_long: return "too_long";
    case jwt_error::malformed: return "malformed";
    case jwt_error::bad_header: return "bad_header";
    case jwt_error::unsupported_alg: return "unsupported_alg";
    case jwt_error::alg_mismatch: return "alg_mismatch";
    case jwt_error::bad_signature: return "bad_signature";
    case jwt_error::bad_claims: return "bad_claims";
    case jwt_error::expired: return "expired";
    case jwt_error::not_yet_valid: return "not_yet_valid";
    case jwt_error::wrong_audience: return "wrong_audience";
    case jwt_error::wrong_issuer: return "wrong_issuer";
    case jwt_error::wrong_channel: return "wrong_channel";
    case jwt_error::wrong_user: return "wrong_user";
  }
  return "unknown";
}

std::string_view message(jwt_error e) noexcept {
  switch (e) {
    case jwt_error::ok: return "token is valid";
    case jwt_error::too_long: return "token is too long";
    case jwt_error::malformed: return "token is not a compact JWS (three base64url segments)";
    case jwt_error::bad_header: return "token header is not a JSON object with a string alg";
    case jwt_error::unsupported_alg: return "token algorithm is not supported (HS256, RS256 only)";
    case jwt_error::alg_mismatch: return "token algorithm does not match the configured key";
    case jwt_error::bad_signature: return "token signature is invalid";
    case jwt_error::bad_claims: return "token claims are not valid JSON of the expected types";
    case jwt_error::expired: return "token expired";
    case jwt_error::not_yet_valid: return "token is not valid yet (nbf)";
    case jwt_error::wrong_audience: return "token audience does not match";
    case jwt_error::wrong_issuer: return "token issuer does not match";
    case jwt_error::wrong_channel: return "subscription token is for another channel";
    case jwt_error::wrong_user: return "subscription token is for another user";
  }
  return "unknown token error";
}

// ---- verifier ------------------------------------------------------------------------------

struct jwt_verifier::keys {
  mac_ptr hmac;  // fetched once; a context per verification
  pkey_ptr rsa;
};

jwt_verifier::jwt_verifier(private_tag, jwt_config config, std::unique_ptr<keys> k)
    : config_(std::move(config)), keys_(std::move(k)) {}

jwt_verifier::~jwt_verifier() = default;

jwt_verifier_ptr jwt_verifier::create(jwt_config config, std::string& why) {
  auto k = std::make_unique<keys>();
  if (!config.hmac_secret.empty()) {
    k->hmac.reset(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
    if (!k->hmac) {
      ERR_clear_error();
      why = "OpenSSL has no HMAC implementation";
      return nullptr;
    }
  }
  if (!config.rsa_public_key_pem.empty()) {
    bio_ptr bio = memory_bio(config.rsa_public_key_pem);
    if (bio) k->rsa.reset(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
    ERR_clear_error();
    if (!k->rsa || EVP_PKEY_is_a(k->rsa.get(), "RSA") != 1) {
      why = "rsa public key: not a PEM \"PUBLIC KEY\" holding an RSA key";
      return nullptr;
    }
    if (EVP_PKEY_get_bits(k->rsa.get()) < min_rsa_bits) {
      why = "rsa public key: shorter than 2048 bits (RFC 7518 section 3.3)";
      return nullptr;
    }
  }
  if (!k->hmac && !k->rsa) {
    why = "no token key configured (an HMAC secret or an RSA public key)";
    return nullptr;
  }
  return std::make_unique<jwt_verifier>(private_tag{}, std::move(config), std::move(k));
}

std::int64_t jwt_verifier::now() const {
  if (config_.now) return config_.now();
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

jwt_error jwt_verifier::verify_signed(std::string_view token, std::string& claims_json) const {
  if (token.size() > config_.max_token_size) return jwt_error::too_long;
  // RFC 7515 §7.1: exactly three segments; none may be empty here (we have no unsecured JWS).
  std::size_t d1 = token.find('.');
  if (d1 == std::string_view::npos) return jwt_error::malformed;
  std::size_t d2 = token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) {
    return jwt_error::malformed;
  }
  std::string_view header_b64 = token.substr(0, d1);
  std::string_view claims_b64 = token.substr(d1 + 1, d2 - d1 - 1);
  std::string_view sig_b64 = token.substr(d2 + 1);
  if (header_b64.empty() || claims_b64.empty() || sig_b64.empty()) return jwt_error::malformed;

  std::string header, sig;
  claims_json.clear();
  if (!base64url_decode(header_b64, header) || !base64url_decode(claims_b64, claims_json) ||
      !base64url_decode(sig_b64, sig)) {
    return jwt_error::malformed;
  }
  alg_kind alg{};
  if (jwt_error e = parse_header(header, alg); e != jwt_error::ok) return e;

  // RFC 7515 §5.2: the signing input is the encoded header and payload as sent.
  std::string_view signing_input = token.substr(0, d2);
  if (alg == alg_kind::hs256) {
    if (!keys_->hmac) return jwt_error::alg_mismatch;
    std::array<unsigned char, sha256_size> mac{};
    if (!hmac_sha256(keys_->hmac.get(), config_.hmac_secret, signing_input, mac)) {
      ERR_clear_error();
      return jwt_error::bad_signature;
    }
    if (sig.size() != mac.size() || CRYPTO_memcmp(sig.data(), mac.data(), mac.size()) != 0) {
      return jwt_error::bad_signature;
    }
  } else {
    if (!keys_->rsa) return jwt_error::alg_mismatch;
    // RFC 7518 §3.3 / RFC 8017 §8.2.2: the signature is exactly the modulus length.
    if (sig.size() != static_cast<std::size_t>(EVP_PKEY_get_size(keys_->rsa.get()))) {
      return jwt_error::bad_signature;
    }
    md_ctx_ptr ctx(EVP_MD_CTX_new());
    bool ok = ctx &&
              EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, keys_->rsa.get()) == 1 &&
              EVP_DigestVerify(ctx.get(), bytes_of(sig), sig.size(), bytes_of(signing_input),
                               signing_input.size()) == 1;
    // Leave no error on this thread's queue: the TLS code reads it after SSL_* calls.
    ERR_clear_error();
    if (!ok) return jwt_error::bad_signature;
  }
  return jwt_error::ok;
}

namespace {

jwt_error check_common(const parsed_claims& c, const jwt_config& cfg, std::int64_t now) {
  const std::int64_t leeway = cfg.leeway.count();
  // RFC 7519 §4.1.4: the current time MUST be before exp.
  if (c.exp && now - leeway >= *c.exp) return jwt_error::expired;
  // RFC 7519 §4.1.5: the current time MUST be after or equal to nbf.
  if (c.nbf && now + leeway < *c.nbf) return jwt_error::not_yet_valid;
  if (!cfg.issuer.empty() && (!c.iss || *c.iss != cfg.issuer)) return jwt_error::wrong_issuer;
  if (!cfg.audience.empty()) {
    bool found = false;
    if (c.aud) {
      for (const auto& a : *c.aud) found = found || a == cfg.audience;
    }
    if (!found) return jwt_error::wrong_audience;
  }
  return jwt_error::ok;
}

}  // namespace

jwt_error jwt_verifier::verify_connection(std::string_view token, connection_claims& out) const {
  std::string json;
  if (jwt_error e = verify_signed(token, json); e != jwt_error::ok) return e;
  parsed_claims c;
  if (jwt_error e = parse_claims(json, c); e != jwt_error::ok) return e;
  if (jwt_error e = check_common(c, config_, now()); e != jwt_error::ok) return e;
  out.user = c.sub.value_or(std::string());
  out.exp = c.exp;
  out.iat = c.iat;
  out.nbf = c.nbf;
  out.expire_at = c.expire_at;
  out.info = std::move(c.info);
  out.channels = std::move(c.channels);
  return jwt_error::ok;
}

jwt_error jwt_verifier::verify_subscription(std::string_view token, std::string_view channel,
                                            std::string_view user,
                                            subscription_claims& out) const {
  std::string json;
  if (jwt_error e = verify_signed(token, json); e != jwt_error::ok) return e;
  parsed_claims c;
  if (jwt_error e = parse_claims(json, c); e != jwt_error::ok) return e;
  if (jwt_error e = check_common(c, config_, now()); e != jwt_error::ok) return e;
  // Centrifugo: `channel` is required and must be the channel being subscribed; `sub` must be
  // the connection's user, a missing `sub` meaning the anonymous user.
  if (!c.channel) return jwt_error::bad_claims;
  if (*c.channel != channel) return jwt_error::wrong_channel;
  if (c.sub.value_or(std::string()) != user) return jwt_error::wrong_user;
  out.user = c.sub.value_or(std::string());
  out.channel = std::move(*c.channel);
  out.exp = c.exp;
  out.iat = c.iat;
  out.nbf = c.nbf;
  out.expire_at = c.expire_at;
  out.info = std::move(c.info);
  return jwt_error::ok;
}

// ---- issuing -------------------------------------------------------------------------------

namespace {

std::string signing_input(std::string_view alg, std::string_view claims_json) {
  std::string out;
  base64url_encode("{\"alg\":\"" + std::string(alg) + "\",\"typ\":\"JWT\"}", out);
  out.push_back('.');
  base64url_encode(claims_json, out);
  return out;
}

}  // namespace

std::string make_hs256_token(std::string_view claims_json, std::string_view secret) {
  std::string token = signing_input("HS256", claims_json);
  mac_ptr mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  std::array<unsigned char, sha256_size> sig{};
  if (!mac || !hmac_sha256(mac.get(), secret, token, sig)) {
    ERR_clear_error();
    return {};
  }
  token.push_back('.');
  base64url_encode(std::string_view(reinterpret_cast<const char*>(sig.data()), sig.size()), token);
  return token;
}

std::string make_rs256_token(std::string_view claims_json, std::string_view private_key_pem) {
  bio_ptr bio = memory_bio(private_key_pem);
  pkey_ptr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key || EVP_PKEY_is_a(key.get(), "RSA") != 1) {
    ERR_clear_error();
    return {};
  }
  std::string token = signing_input("RS256", claims_json);
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  std::string sig(static_cast<std::size_t>(EVP_PKEY_get_size(key.get())), '\0');
  std::size_t len = sig.size();
  bool ok = ctx && EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
            EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                           bytes_of(token), token.size()) == 1;
  ERR_clear_error();
  if (!ok) return {};
  sig.resize(len);
  token.push_back('.');
  base64url_encode(sig, token);
  return token;
}

}  // namespace duplex::service
