#include "server/event_id.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace duplex::service {
namespace {

event_position at(std::uint64_t offset, std::string epoch) {
  return hub::stream_position{offset, std::move(epoch)};
}

TEST(EventId, OneChannelIsOffsetColonEpoch) {
  std::vector<event_position> p{at(17, "Ab3xY9qK")};
  EXPECT_EQ(encode_event_id(p), "17:Ab3xY9qK");
}

TEST(EventId, SeveralChannelsInRequestOrderWithDashForUnknown) {
  std::vector<event_position> p{at(17, "Ab3xY9qK"), std::nullopt, at(0, "Zz")};
  EXPECT_EQ(encode_event_id(p), "17:Ab3xY9qK,-,0:Zz");
}

TEST(EventId, EpochOutsideTheAlphabetIsWrittenAsDash) {
  std::vector<event_position> p{at(3, "a,b"), at(4, "a:b"), at(5, ""), at(6, std::string(65, 'x')),
                                at(7, "sp ace")};
  EXPECT_EQ(encode_event_id(p), "-,-,-,-,-");
}

TEST(EventId, RoundTrip) {
  std::vector<event_position> p{at(18446744073709551615ULL, std::string(64, '~')), std::nullopt,
                                at(0, "!")};
  auto d = decode_event_id(encode_event_id(p), 3);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(*d, p);
}

TEST(EventId, DecodesWhatClientsSendBack) {
  auto d = decode_event_id("5:abc,-", 2);
  ASSERT_TRUE(d.has_value());
  ASSERT_EQ(d->size(), 2u);
  EXPECT_EQ((*d)[0], at(5, "abc"));
  EXPECT_FALSE((*d)[1].has_value());
}

TEST(EventId, RefusesAnotherChannelCount) {
  EXPECT_FALSE(decode_event_id("5:abc", 2).has_value());
  EXPECT_FALSE(decode_event_id("5:abc,6:def", 1).has_value());
  EXPECT_FALSE(decode_event_id("5:abc", 0).has_value());
}

TEST(EventId, RefusesMalformedText) {
  for (const char* bad :
       {"", ",", "5:abc,", ",5:abc", "5", ":abc", "5:", "-5:abc", "+5:abc", "05:abc", "5a:abc",
        "18446744073709551616:abc", "5:ab c", "5:a\tb", "--", "5:abc\n", "0x5:abc"}) {
    EXPECT_FALSE(decode_event_id(bad, 1).has_value()) << bad;
  }
  // An epoch may itself not hold ':' (the first colon splits), and ',' splits entries.
  EXPECT_FALSE(decode_event_id("5:a:b", 1).has_value());
}

TEST(EventId, RefusesOverlongInputBeforeParsing) {
  std::string huge(100000, '-');
  EXPECT_FALSE(decode_event_id(huge, 2).has_value());
  std::string many;
  for (int i = 0; i < 1000; ++i) many += i == 0 ? "-" : ",-";
  EXPECT_FALSE(decode_event_id(many, 999).has_value());
  EXPECT_TRUE(decode_event_id(many, 1000).has_value());
}

TEST(EventId, OffsetZeroIsAPosition) {
  auto d = decode_event_id("0:e", 1);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ((*d)[0], at(0, "e"));
}

}  // namespace
}  // namespace duplex::service
