#include "server/jwt.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace duplex::service {
namespace {

constexpr std::int64_t t0 = 1700000000;
const std::string secret = "test-secret-0123456789";

std::string b64(std::string_view s) {
  std::string out;
  base64url_encode(s, out);
  return out;
}

// A token with an arbitrary header, HMAC-signed with `key` (for alg/header tests).
std::string sign_hs256(std::string_view header, std::string_view claims, std::string_view key) {
  std::string input = b64(header) + "." + b64(claims);
  unsigned char mac[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  EXPECT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                      reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
                      sizeof mac, &len),
            nullptr);
  return input + "." + b64(std::string_view(reinterpret_cast<char*>(mac), len));
}

struct rsa_pair {
  std::string public_pem, private_pem;
};

std::string bio_string(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string s(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return s;
}

rsa_pair make_rsa(unsigned bits) {
  EVP_PKEY* key = EVP_RSA_gen(bits);
  EXPECT_NE(key, nullptr);
  BIO* pub = BIO_new(BIO_s_mem());
  BIO* priv = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(pub, key);
  PEM_write_bio_PrivateKey(priv, key, nullptr, nullptr, 0, nullptr, nullptr);
  EVP_PKEY_free(key);
  return {bio_string(pub), bio_string(priv)};
}

// Key generation is slow under sanitizers: two keys for the whole suite.
const rsa_pair& rsa_a() {
  static const rsa_pair k = make_rsa(2048);
  return k;
}
const rsa_pair& rsa_b() {
  static const rsa_pair k = make_rsa(2048);
  return k;
}

class JwtTest : public ::testing::Test {
 protected:
  jwt_verifier_ptr make(jwt_config cfg) {
    cfg.now = [this] { return now_; };
    std::string why;
    auto v = jwt_verifier::create(std::move(cfg), why);
    EXPECT_NE(v, nullptr) << why;
    return v;
  }
  jwt_verifier_ptr hs() { return make({.hmac_secret = secret}); }

  jwt_error connect(const jwt_verifier& v, std::string_view token) {
    connection_claims c;
    return v.verify_connection(token, c);
  }

  std::int64_t now_ = t0;
};

TEST(Base64Url, RoundTripsEveryLength) {
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    std::string enc = b64(bytes);
    EXPECT_EQ(enc.find('='), std::string::npos);
    std::string dec;
    ASSERT_TRUE(base64url_decode(enc, dec)) << enc;
    EXPECT_EQ(dec, bytes);
    bytes.push_back(static_cast<char>(i * 37 + 250));
  }
}

TEST(Base64Url, KnownValuesAndStrictRejects) {
  std::string out;
  EXPECT_TRUE(base64url_decode("-_8", out));
  EXPECT_EQ(out, "\xfb\xff");
  const std::vector<std::string_view> bads = {"A",     "AB",    "AAA=",   "AA==",
                                               "+/AA",  "AA AA", "AA\nA", "AQ=",
                                               "AAAAA", "Zm9vYh", std::string_view("A\0A", 3)};
  for (std::string_view bad : bads) {
    out.clear();
    EXPECT_FALSE(base64url_decode(bad, out)) << bad;
  }
  out.clear();
  EXPECT_TRUE(base64url_decode("AQ", out));  // unused bits zero
  EXPECT_EQ(out, "\x01");
}

TEST_F(JwtTest, IssuerMatchesJwtIoReferenceToken) {
  // The reference token of jwt.io: an independent implementation's output.
  const std::string ref =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
      "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
      "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
  EXPECT_EQ(make_hs256_token(R"({"sub":"1234567890","name":"John Doe","iat":1516239022})",
                             "your-256-bit-secret"),
            ref);
  auto v = make({.hmac_secret = "your-256-bit-secret"});
  connection_claims c;
  ASSERT_EQ(v->verify_connection(ref, c), jwt_error::ok);
  EXPECT_EQ(c.user, "1234567890");
  EXPECT_EQ(c.iat, 1516239022);
  EXPECT_FALSE(c.exp.has_value());
}

TEST_F(JwtTest, Hs256ConnectionClaims) {
  auto v = hs();
  std::string token = make_hs256_token(
      R"({"sub":"42","exp":1700000060,"nbf":1699999000,"info":{ "name" : "Ann" },)"
      R"("channels":["news","$user:42"],"expire_at":0,"unknown":{"x":[1]}})",
      secret);
  connection_claims c;
  ASSERT_EQ(v->verify_connection(token, c), jwt_error::ok);
  EXPECT_EQ(c.user, "42");
  EXPECT_EQ(c.exp, 1700000060);
  EXPECT_EQ(c.nbf, 1699999000);
  EXPECT_EQ(c.expire_at, 0);
  EXPECT_EQ(c.info, R"({"name":"Ann"})");
  EXPECT_EQ(c.channels, (std::vector<std::string>{"news", "$user:42"}));
}

TEST_F(JwtTest, EmptyOrMissingSubIsAnonymous) {
  auto v = hs();
  connection_claims c;
  c.user = "stale";
  ASSERT_EQ(v->verify_connection(make_hs256_token(R"({"sub":""})", secret), c), jwt_error::ok);
  EXPECT_EQ(c.user, "");
  ASSERT_EQ(v->verify_connection(make_hs256_token(R"({"info":null})", secret), c), jwt_error::ok);
  EXPECT_EQ(c.user, "");
  EXPECT_EQ(c.info, "");
}

TEST_F(JwtTest, TamperedWrongKeyAndTruncatedSignatureFail) {
  auto v = hs();
  std::string token = make_hs256_token(R"({"sub":"42"})", secret);
  std::size_t d1 = token.find('.'), d2 = token.rfind('.');
  std::string payload_swap = token.substr(0, d1 + 1) + b64(R"({"sub":"1"})") + token.substr(d2);
  EXPECT_EQ(connect(*v, payload_swap), jwt_error::bad_signature);
  std::string sig_flip = token;
  sig_flip[d2 + 1] = sig_flip[d2 + 1] == 'A' ? 'B' : 'A';
  EXPECT_EQ(connect(*v, sig_flip), jwt_error::bad_signature);
  EXPECT_EQ(connect(*v, token.substr(0, token.size() - 3)), jwt_error::bad_signature);
  EXPECT_EQ(connect(*v, make_hs256_token(R"({"sub":"42"})", "other-secret")),
            jwt_error::bad_signature);
  EXPECT_EQ(connect(*v, token), jwt_error::ok);
}

TEST_F(JwtTest, AlgNoneAndUnknownAlgorithmsAreRefused) {
  auto v = hs();
  std::string none = b64(R"({"alg":"none"})") + "." + b64(R"({"sub":"42"})") + ".";
  EXPECT_EQ(connect(*v, none), jwt_error::malformed);  // empty signature segment
  EXPECT_EQ(connect(*v, b64(R"({"alg":"none"})") + "." + b64(R"({"sub":"42"})") + ".AA"),
            jwt_error::unsupported_alg);
  for (std::string_view alg : {"none", "None", "hs256", "HS512", "ES256", "PS256", ""}) {
    std::string header = R"({"alg":")" + std::string(alg) + R"("})";
    EXPECT_EQ(connect(*v, sign_hs256(header, R"({"sub":"42"})", secret)),
              jwt_error::unsupported_alg)
        << alg;
  }
}

TEST_F(JwtTest, HeaderRules) {
  auto v = hs();
  auto with_header = [&](std::string_view h) { return connect(*v, sign_hs256(h, "{}", secret)); };
  EXPECT_EQ(with_header(R"({"alg":"HS256"})"), jwt_error::ok);
  EXPECT_EQ(with_header(R"({"alg":"HS256","typ":"JWT","kid":"k1"})"), jwt_error::ok);
  EXPECT_EQ(with_header(R"({"typ":"JWT"})"), jwt_error::bad_header);
  EXPECT_EQ(with_header(R"({"alg":256})"), jwt_error::bad_header);
  EXPECT_EQ(with_header(R"({"alg":"HS256","alg":"HS256"})"), jwt_error::bad_header);
  EXPECT_EQ(with_header(R"({"alg":"HS256","crit":["exp"]})"), jwt_error::bad_header);
  EXPECT_EQ(with_header(R"(["HS256"])"), jwt_error::bad_header);
  EXPECT_EQ(with_header(R"({"alg":"HS256")"), jwt_error::bad_header);
}

TEST_F(JwtTest, Rs256ValidWrongKeyAndTampered) {
  auto v = make({.rsa_public_key_pem = rsa_a().public_pem});
  std::string token = make_rs256_token(R"({"sub":"7","exp":1700000100})", rsa_a().private_pem);
  ASSERT_FALSE(token.empty());
  connection_claims c;
  ASSERT_EQ(v->verify_connection(token, c), jwt_error::ok);
  EXPECT_EQ(c.user, "7");
  EXPECT_EQ(connect(*v, make_rs256_token(R"({"sub":"7"})", rsa_b().private_pem)),
            jwt_error::bad_signature);
  std::size_t d1 = token.find('.'), d2 = token.rfind('.');
  std::string swapped = token.substr(0, d1 + 1) + b64(R"({"sub":"8"})") + token.substr(d2);
  EXPECT_EQ(connect(*v, swapped), jwt_error::bad_signature);
  EXPECT_EQ(make_rs256_token("{}", "not a key"), "");
}

TEST_F(JwtTest, AlgorithmConfusionIsRefused) {
  // The classic attack: an HS256 token whose HMAC key is the server's public RSA key.
  auto rsa_only = make({.rsa_public_key_pem = rsa_a().public_pem});
  std::string forged = make_hs256_token(R"({"sub":"admin"})", rsa_a().public_pem);
  EXPECT_EQ(connect(*rsa_only, forged), jwt_error::alg_mismatch);
  // And the reverse: an RS256 token against an HMAC-only configuration.
  auto hmac_only = hs();
  EXPECT_EQ(connect(*hmac_only, make_rs256_token(R"({"sub":"1"})", rsa_a().private_pem)),
            jwt_error::alg_mismatch);
  // With both keys, an RS256 header with an HMAC signature fails the RSA check.
  auto both = make({.hmac_secret = secret, .rsa_public_key_pem = rsa_a().public_pem});
  EXPECT_EQ(connect(*both, sign_hs256(R"({"alg":"RS256"})", R"({"sub":"1"})", secret)),
            jwt_error::bad_signature);
  EXPECT_EQ(connect(*both, make_hs256_token(R"({"sub":"1"})", secret)), jwt_error::ok);
}

TEST_F(JwtTest, ExpiryFollowsTheInjectedClock) {
  auto v = hs();
  std::string token = make_hs256_token(R"({"sub":"42","exp":1700000010})", secret);
  EXPECT_EQ(connect(*v, token), jwt_error::ok);
  now_ = t0 + 9;
  EXPECT_EQ(connect(*v, token), jwt_error::ok);
  now_ = t0 + 10;  // RFC 7519 §4.1.4: now must be strictly before exp
  EXPECT_EQ(connect(*v, token), jwt_error::expired);
  EXPECT_EQ(message(jwt_error::expired), "token expired");
  EXPECT_EQ(to_string(jwt_error::expired), "expired");
  auto lenient = make({.hmac_secret = secret, .leeway = std::chrono::seconds(5)});
  now_ = t0 + 14;
  EXPECT_EQ(connect(*lenient, token), jwt_error::ok);
  now_ = t0 + 15;
  EXPECT_EQ(connect(*lenient, token), jwt_error::expired);
}

TEST_F(JwtTest, NumericDatesMayBeFractionalOrHuge) {
  auto v = hs();
  EXPECT_EQ(connect(*v, make_hs256_token(R"({"exp":1700000000.5})", secret)), jwt_error::expired);
  EXPECT_EQ(connect(*v, make_hs256_token(R"({"exp":1700000001.5})", secret)), jwt_error::ok);
  EXPECT_EQ(connect(*v, make_hs256_token(R"({"exp":18446744073709551615})", secret)),
            jwt_error::ok);
  EXPECT_EQ(connect(*v, make_hs256_token(R"({"exp":1e300})", secret)), jwt_error::ok);
  EXPECT_EQ(connect(*v, make_hs256_token(R"({"exp":-1e300})", secret)), jwt_error::expired);
}

TEST_F(JwtTest, NotBeforeInTheFuture) {
  auto v = hs();
  std::string token = make_hs256_token(R"({"nbf":1700000100})", secret);
  EXPECT_EQ(connect(*v, token), jwt_error::not_yet_valid);
  now_ = t0 + 100;
  EXPECT_EQ(connect(*v, token), jwt_error::ok);
}

TEST_F(JwtTest, AudienceAndIssuerWhenConfigured) {
  auto v = make({.hmac_secret = secret, .audience = "duplex", .issuer = "app"});
  EXPECT_EQ(connect(*v, make_hs256_token(R"({"aud":"duplex","iss":"app"})", secret)),
            jwt_error::ok);
  EXPECT_EQ(connect(*v, make_hs256_token(R"({"aud":["x","duplex"],"iss":"app"})", secret)),
            jwt_error::ok);
  EXPECT_EQ(connect(*v, make_hs256_token(R"({"aud":"other","iss":"app"})", secret)),
            jwt_error::wrong_audience);
  EXPECT_EQ(connect(*v, make_hs256_token(R"({"iss":"app"})", secret)), jwt_error::wrong_audience);
  EXPECT_EQ(connect(*v, make_hs256_token(R"({"aud":"duplex","iss":"evil"})", secret)),
            jwt_error::wrong_issuer);
  EXPECT_EQ(connect(*v, make_hs256_token(R"({"aud":"duplex"})", secret)), jwt_error::wrong_issuer);
  // Not configured: not checked, but still type-checked.
  auto plain = hs();
  EXPECT_EQ(connect(*plain, make_hs256_token(R"({"aud":"anything","iss":"x"})", secret)),
            jwt_error::ok);
  EXPECT_EQ(connect(*plain, make_hs256_token(R"({"aud":[1]})", secret)), jwt_error::bad_claims);
}

TEST_F(JwtTest, SubscriptionTokens) {
  auto v = hs();
  subscription_claims s;
  std::string token =
      make_hs256_token(R"({"sub":"42","channel":"$gossips","exp":1700000060,"info":[1,2]})",
                       secret);
  ASSERT_EQ(v->verify_subscription(token, "$gossips", "42", s), jwt_error::ok);
  EXPECT_EQ(s.channel, "$gossips");
  EXPECT_EQ(s.user, "42");
  EXPECT_EQ(s.exp, 1700000060);
  EXPECT_EQ(s.info, "[1,2]");
  EXPECT_EQ(v->verify_subscription(token, "$other", "42", s), jwt_error::wrong_channel);
  EXPECT_EQ(v->verify_subscription(token, "$gossips", "43", s), jwt_error::wrong_user);
  EXPECT_EQ(v->verify_subscription(token, "$gossips", "", s), jwt_error::wrong_user);
  std::string anon = make_hs256_token(R"({"channel":"news"})", secret);
  EXPECT_EQ(v->verify_subscription(anon, "news", "", s), jwt_error::ok);
  EXPECT_EQ(v->verify_subscription(make_hs256_token(R"({"sub":"42"})", secret), "news", "42", s),
            jwt_error::bad_claims);
  now_ = t0 + 60;
  EXPECT_EQ(v->verify_subscription(token, "$gossips", "42", s), jwt_error::expired);
}

TEST_F(JwtTest, TooLongTokenIsRefusedBeforeDecoding) {
  auto v = make({.hmac_secret = secret, .max_token_size = 64});
  std::string token = make_hs256_token(R"({"sub":"42","info":"padding padding"})", secret);
  ASSERT_GT(token.size(), 64u);
  EXPECT_EQ(connect(*v, token), jwt_error::too_long);
  auto def = hs();
  EXPECT_EQ(connect(*def, std::string(16 * 1024 + 1, 'A')), jwt_error::too_long);
}

// Every row is one bad token; each must be refused with exactly this error.
TEST_F(JwtTest, BadTokenTable) {
  auto v = hs();
  const std::string h = b64(R"({"alg":"HS256","typ":"JWT"})");
  const std::string good = make_hs256_token(R"({"sub":"42"})", secret);
  const std::string sig = good.substr(good.rfind('.') + 1);
  auto signed_claims = [&](std::string_view claims) { return make_hs256_token(claims, secret); };
  struct row {
    std::string token;
    jwt_error want;
  };
  const std::vector<row> rows = {
      {"", jwt_error::malformed},
      {"abc", jwt_error::malformed},
      {"a.b", jwt_error::malformed},
      {"a.b.c.d", jwt_error::malformed},
      {h + ".." + sig, jwt_error::malformed},
      {"." + b64("{}") + "." + sig, jwt_error::malformed},
      {good + "=", jwt_error::malformed},
      {h + "=." + b64("{}") + "." + sig, jwt_error::malformed},
      {h + "." + b64("{}") + "+." + sig, jwt_error::malformed},
      {h + "." + b64("{}") + "." + sig + "/", jwt_error::malformed},
      {" " + good, jwt_error::malformed},
      {good + "\n", jwt_error::malformed},
      {h + "A." + b64("{}") + "." + sig, jwt_error::malformed},  // 4n+1 characters
      {b64("not json") + "." + b64("{}") + "." + sig, jwt_error::bad_header},
      {b64("{\"alg\":\"HS256\"") + "." + b64("{}") + "." + sig, jwt_error::bad_header},
      {b64("{\"alg\":\"none\"}") + "." + b64("{}") + "." + sig, jwt_error::unsupported_alg},
      {signed_claims("not json"), jwt_error::bad_claims},
      {signed_claims("[1,2]"), jwt_error::bad_claims},
      {signed_claims(R"({"sub":"42")"), jwt_error::bad_claims},
      {signed_claims(R"({"sub":42})"), jwt_error::bad_claims},
      {signed_claims(R"({"exp":"soon"})"), jwt_error::bad_claims},
      {signed_claims(R"({"exp":null})"), jwt_error::bad_claims},
      {signed_claims(R"({"channels":"news"})"), jwt_error::bad_claims},
      {signed_claims(R"({"channels":["a",1]})"), jwt_error::bad_claims},
      {signed_claims(R"({"sub":"1","sub":"2"})"), jwt_error::bad_claims},
      {signed_claims(R"({"exp":1,"exp":9999999999})"), jwt_error::bad_claims},
      {signed_claims("{\"sub\":\"\xff\"}"), jwt_error::bad_claims},  // not UTF-8
      {signed_claims(R"({"exp":1600000000})"), jwt_error::expired},
  };
  for (const auto& r : rows) {
    connection_claims c;
    EXPECT_EQ(v->verify_connection(r.token, c), r.want) << "token: " << r.token;
  }
  EXPECT_GE(rows.size(), 15u);
}

TEST(JwtVerifierCreate, RefusesUnusableConfigurations) {
  std::string why;
  EXPECT_EQ(jwt_verifier::create({}, why), nullptr);
  EXPECT_NE(why.find("no token key"), std::string::npos);
  why.clear();
  EXPECT_EQ(jwt_verifier::create({.rsa_public_key_pem = "-----BEGIN PUBLIC KEY-----\nxx\n"}, why),
            nullptr);
  EXPECT_NE(why.find("rsa public key"), std::string::npos);
  why.clear();
  EXPECT_EQ(jwt_verifier::create({.rsa_public_key_pem = rsa_a().private_pem}, why), nullptr);
  why.clear();
  EXPECT_EQ(jwt_verifier::create({.rsa_public_key_pem = make_rsa(1024).public_pem}, why), nullptr);
  EXPECT_NE(why.find("2048"), std::string::npos);
}

}  // namespace
}  // namespace duplex::service
