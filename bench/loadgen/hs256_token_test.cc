// Tests of the generator's HS256 tokens against values computed independently (Python's hmac,
// hashlib and base64 modules), so a wrong signature or encoding cannot pass.
#include "hs256_token.h"

#include <gtest/gtest.h>

namespace duplex::bench {
namespace {

TEST(Hs256Token, Base64urlHasNoPaddingAndTheUrlAlphabet) {
  // RFC 4648 §10 test vectors, without padding.
  EXPECT_EQ(base64url(""), "");
  EXPECT_EQ(base64url("f"), "Zg");
  EXPECT_EQ(base64url("fo"), "Zm8");
  EXPECT_EQ(base64url("foo"), "Zm9v");
  EXPECT_EQ(base64url("foob"), "Zm9vYg");
  EXPECT_EQ(base64url("fooba"), "Zm9vYmE");
  EXPECT_EQ(base64url("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64url("\xfb\xff\xfe"), "-__-");  // '+' and '/' in standard base64
}

TEST(Hs256Token, MatchesAnIndependentlyComputedToken) {
  EXPECT_EQ(make_hs256_token("bench-secret", "bench", "bench7", 2000000000),
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
            "eyJzdWIiOiJiZW5jaCIsImNoYW5uZWxzIjpbImJlbmNoNyJdLCJleHAiOjIwMDAwMDAwMDB9."
            "y9tLMSA0UXahh8zG2KminIiVlpq2eeIGAITNq3--Ofg");
  // Another secret, another signature; same header and claims.
  const std::string other = make_hs256_token("other", "bench", "bench7", 2000000000);
  EXPECT_NE(other.substr(other.rfind('.')), "y9tLMSA0UXahh8zG2KminIiVlpq2eeIGAITNq3--Ofg");
}

}  // namespace
}  // namespace duplex::bench
