#include "sio/codec/base64.h"

#include <gtest/gtest.h>

#include <string>

namespace duplex::sio::codec {
namespace {

std::string encode(std::string_view bytes) {
  std::string out;
  base64_append(out, bytes);
  return out;
}

// RFC 4648 §10 test vectors.
TEST(Base64, Rfc4648Vectors) {
  const std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""},          {"f", "Zg=="},         {"fo", "Zm8="},     {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    SCOPED_TRACE(plain);
    EXPECT_EQ(encode(plain), encoded);
    EXPECT_EQ(base64_encoded_size(plain.size()), encoded.size());
    std::string decoded;
    ASSERT_TRUE(base64_decode_append(encoded, decoded));
    EXPECT_EQ(decoded, plain);
  }
}

// The Engine.IO v4 document's example: <Buffer 01 02 03 04> is "AQIDBA==".
TEST(Base64, EngineIoSpecExample) {
  EXPECT_EQ(encode(std::string("\x01\x02\x03\x04", 4)), "AQIDBA==");
}

TEST(Base64, EveryByteValueRoundTrips) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t len = 0; len <= all.size(); ++len) {
    const std::string text = encode(all.substr(0, len));
    ASSERT_EQ(text.size(), base64_encoded_size(len));
    std::string back;
    ASSERT_TRUE(base64_decode_append(text, back)) << len;
    EXPECT_EQ(back, all.substr(0, len));
  }
  const std::string text = encode(all);
  EXPECT_EQ(text.substr(0, 8), "AAECAwQF");
  EXPECT_EQ(text.substr(text.size() - 8), "/P3+/w==");
}

TEST(Base64, AppendsAfterExistingContent) {
  std::string out = "b";
  base64_append(out, "foo");
  EXPECT_EQ(out, "bZm9v");
  std::string decoded = "x";
  ASSERT_TRUE(base64_decode_append("Zm9v", decoded));
  EXPECT_EQ(decoded, "xfoo");
}

TEST(Base64, RejectsNonCanonicalInputAndLeavesOutputUnchanged) {
  const std::string_view bad[] = {
      "Zg=",       // length not a multiple of 4
      "Zg",        // unpadded
      "Zg==Zg==",  // padding in the middle
      "Zh==",      // non-zero pad bits ('h' = 0b100001)
      "Zm9=",      // non-zero pad bits ('9' = 0b111101)
      "Zm9v\n",    // whitespace
      "Zm-v",      // base64url alphabet
      "Zm_v",
      "====",      // padding only
      "A===",      // three '='
      "Z=g=",      // '=' before a character
      "Zm9\x80",   // byte outside ASCII
      std::string_view("Zm9\0", 4),
  };
  for (const std::string_view text : bad) {
    SCOPED_TRACE(testing::PrintToString(std::string(text)));
    std::string out = "keep";
    EXPECT_FALSE(base64_decode_append(text, out));
    EXPECT_EQ(out, "keep");
  }
}

}  // namespace
}  // namespace duplex::sio::codec
