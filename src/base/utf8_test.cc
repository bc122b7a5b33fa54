#include "base/utf8.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace duplex {
namespace {

std::string bytes(std::initializer_list<unsigned> b) {
  std::string s;
  for (unsigned c : b) s.push_back(static_cast<char>(c));
  return s;
}

struct sample {
  std::string text;
  bool valid;
};

// Boundaries from RFC 3629 §4 / Unicode Table 3-7 and Markus Kuhn's stress-test categories.
const std::vector<sample>& samples() {
  static const std::vector<sample> s = {
      {"", true},
      {"hello, world", true},
      {bytes({0x7F}), true},
      {bytes({0xC2, 0x80}), true},              // U+0080
      {bytes({0xDF, 0xBF}), true},              // U+07FF
      {bytes({0xE0, 0xA0, 0x80}), true},        // U+0800
      {bytes({0xED, 0x9F, 0xBF}), true},        // U+D7FF
      {bytes({0xEE, 0x80, 0x80}), true},        // U+E000
      {bytes({0xEF, 0xBF, 0xBF}), true},        // U+FFFF
      {bytes({0xF0, 0x90, 0x80, 0x80}), true},  // U+10000
      {bytes({0xF4, 0x8F, 0xBF, 0xBF}), true},  // U+10FFFF
      {"κόσμε", true},
      {bytes({0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5}), true},
      {bytes({0x80}), false},                   // lone continuation
      {bytes({0xBF}), false},
      {bytes({0xC0, 0x80}), false},             // overlong NUL
      {bytes({0xC1, 0xBF}), false},             // overlong
      {bytes({0xE0, 0x80, 0x80}), false},       // overlong
      {bytes({0xE0, 0x9F, 0xBF}), false},       // overlong U+07FF
      {bytes({0xF0, 0x80, 0x80, 0x80}), false}, // overlong
      {bytes({0xF0, 0x8F, 0xBF, 0xBF}), false}, // overlong U+FFFF
      {bytes({0xED, 0xA0, 0x80}), false},       // U+D800
      {bytes({0xED, 0xBF, 0xBF}), false},       // U+DFFF
      {bytes({0xED, 0xA0, 0x80, 0xED, 0xB0, 0x80}), false},  // surrogate pair
      {bytes({0xF4, 0x90, 0x80, 0x80}), false}, // U+110000
      {bytes({0xF5, 0x80, 0x80, 0x80}), false},
      {bytes({0xFE}), false},
      {bytes({0xFF}), false},
      {bytes({0xC2}), false},                   // truncated
      {bytes({0xE1, 0x80}), false},             // truncated
      {bytes({0xF1, 0x80, 0x80}), false},       // truncated
      {bytes({0xC2, 0x41}), false},             // lead followed by ASCII
      {"abcdefghijklmnop" + bytes({0xC3, 0x28}) + "qrstuvwx", false},
      {std::string(1000, 'a') + bytes({0xE2, 0x82, 0xAC}), true},
      {std::string(1000, 'a') + bytes({0xE2, 0x82}), false},
  };
  return s;
}

TEST(utf8, one_shot_dfa_and_simd_agree_with_expectation) {
  for (const auto& s : samples()) {
    auto b = std::as_bytes(std::span<const char>(s.text.data(), s.text.size()));
    EXPECT_EQ(is_valid_utf8_dfa(b), s.valid) << testing::PrintToString(s.text);
    EXPECT_EQ(is_valid_utf8(b), s.valid) << testing::PrintToString(s.text);
  }
}

TEST(utf8, incremental_byte_by_byte_matches_one_shot) {
  for (const auto& s : samples()) {
    utf8_validator v;
    bool ok = true;
    for (char c : s.text) ok = v.feed(std::string_view(&c, 1)) && ok;
    EXPECT_EQ(ok && v.complete(), s.valid) << testing::PrintToString(s.text);
  }
}

TEST(utf8, every_split_point_matches_one_shot) {
  for (const auto& s : samples()) {
    for (std::size_t cut = 0; cut <= s.text.size(); ++cut) {
      utf8_validator v;
      const bool a = v.feed(std::string_view(s.text).substr(0, cut));
      const bool b = v.feed(std::string_view(s.text).substr(cut));
      EXPECT_EQ(a && b && v.complete(), s.valid) << cut;
    }
  }
}

// "Fail fast": the validator rejects at the first byte that can never be completed.
TEST(utf8, fails_on_first_impossible_byte) {
  struct c {
    std::string prefix;  // must fail exactly at its last byte
  };
  for (const auto& p : {bytes({0xF4, 0x90}), bytes({0xED, 0xA0}), bytes({0xE0, 0x80}),
                        bytes({0xF0, 0x8F}), bytes({0xC0}), bytes({0xF8}),
                        bytes({0x41, 0x80})}) {
    utf8_validator v;
    EXPECT_TRUE(v.feed(p.substr(0, p.size() - 1)));
    EXPECT_FALSE(v.feed(p.substr(p.size() - 1)));
    EXPECT_TRUE(v.failed());
    EXPECT_FALSE(v.feed("a")) << "stays failed";
    v.reset();
    EXPECT_TRUE(v.feed("a"));
  }
}

TEST(utf8, incomplete_sequence_is_not_complete_but_not_failed) {
  utf8_validator v;
  EXPECT_TRUE(v.feed(bytes({0xF0, 0x9F, 0x98})));
  EXPECT_FALSE(v.complete());
  EXPECT_FALSE(v.failed());
  EXPECT_TRUE(v.feed(bytes({0x80})));  // U+1F600
  EXPECT_TRUE(v.complete());
}

TEST(utf8, all_code_points_round_trip) {
  // Encode every scalar value and check it is accepted; every surrogate is rejected.
  for (std::uint32_t cp = 0; cp <= 0x10FFFF; cp += (cp < 0x1000 ? 1 : 97)) {
    std::string s;
    if (cp < 0x80) {
      s.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      s = bytes({0xC0 | (cp >> 6), 0x80 | (cp & 0x3F)});
    } else if (cp < 0x10000) {
      s = bytes({0xE0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3F), 0x80 | (cp & 0x3F)});
    } else {
      s = bytes({0xF0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3F), 0x80 | ((cp >> 6) & 0x3F),
                 0x80 | (cp & 0x3F)});
    }
    const bool surrogate = cp >= 0xD800 && cp <= 0xDFFF;
    EXPECT_EQ(is_valid_utf8_dfa(std::as_bytes(std::span<const char>(s.data(), s.size()))),
              !surrogate)
        << cp;
  }
}

}  // namespace
}  // namespace duplex
