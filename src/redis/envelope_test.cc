#include "redis/envelope.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace duplex::redis {
namespace {

hub::publication sample_pub() {
  hub::publication p;
  p.channel = "chat:room:42";
  p.offset = 17;
  p.epoch = "aB3dE5gH";
  p.data = shared_payload::copy_of(std::string("{\"text\":\"hi\"}\0\xff", 15));
  hub::client_info who;
  who.client_id = "c-1";
  who.user_id = "alice";
  who.conn_info = shared_payload::copy_of("{\"name\":\"A\"}");
  p.info = who;
  p.tags = {{"k", "v"}, {"", "empty key"}};
  return p;
}

TEST(Envelope, PublicationRoundTrip) {
  const hub::publication p = sample_pub();
  const std::string bytes = encode_publication(p);
  envelope e;
  ASSERT_EQ(decode(bytes, e), envelope_error::ok);
  EXPECT_EQ(e.kind, envelope_kind::publication);
  EXPECT_EQ(e.pub.channel, p.channel);
  EXPECT_EQ(e.pub.offset, 17u);
  EXPECT_EQ(e.pub.epoch, p.epoch);
  EXPECT_EQ(e.pub.data.view(), p.data.view());
  ASSERT_TRUE(e.pub.info);
  EXPECT_EQ(e.pub.info->client_id, "c-1");
  EXPECT_EQ(e.pub.info->user_id, "alice");
  EXPECT_EQ(e.pub.info->conn_info.view(), "{\"name\":\"A\"}");
  EXPECT_TRUE(e.pub.info->chan_info.empty());
  EXPECT_EQ(e.pub.tags, p.tags);
}

TEST(Envelope, LayoutIsTheDocumentedOne) {
  hub::publication p;
  p.channel = "c";
  p.data = shared_payload::copy_of("xy");
  EXPECT_EQ(encode_publication(p), "D1p1:00:1:c2:xy-1:0");
  p.offset = 42;
  p.epoch = "ep";
  p.tags = {{"a", "b"}};
  EXPECT_EQ(encode_publication(p), "D1p2:422:ep1:c2:xy-1:11:a1:b");
  // What the publish script builds: its own head plus the body the node sent.
  std::string body;
  encode_publication_body(p, body);
  EXPECT_EQ(encode_publication_head(42, "ep") + body, encode_publication(p));
  hub::client_info who{"id", "u", {}, {}};
  EXPECT_EQ(encode_join("c", who), "D1j1:c2:id1:u0:0:");
  EXPECT_EQ(encode_leave("c", who), "D1l1:c2:id1:u0:0:");
  EXPECT_EQ(encode_client(who), "D1c2:id1:u0:0:");
}

TEST(Envelope, JoinLeaveAndClientRoundTrip) {
  hub::client_info who{"c9", "bob", shared_payload::copy_of("ci"), shared_payload::copy_of("ch")};
  envelope e;
  ASSERT_EQ(decode(encode_join("news", who), e), envelope_error::ok);
  EXPECT_EQ(e.kind, envelope_kind::join);
  EXPECT_EQ(e.channel, "news");
  EXPECT_EQ(e.who.client_id, "c9");
  EXPECT_EQ(e.who.chan_info.view(), "ch");
  ASSERT_EQ(decode(encode_leave("news", who), e), envelope_error::ok);
  EXPECT_EQ(e.kind, envelope_kind::leave);
  ASSERT_EQ(decode(encode_client(who), e), envelope_error::ok);
  EXPECT_EQ(e.kind, envelope_kind::client);
  EXPECT_EQ(e.who.user_id, "bob");
  EXPECT_EQ(e.who.conn_info.view(), "ci");
}

TEST(Envelope, RefusesMalformedInput) {
  struct bad {
    std::string bytes;
    envelope_error want;
  };
  const std::vector<bad> cases = {
      {"", envelope_error::bad_magic},
      {"D1", envelope_error::bad_magic},
      {"D2p1:00:1:c0:-1:0", envelope_error::bad_magic},
      {"D1x", envelope_error::bad_magic},
      {"D1p", envelope_error::truncated},
      {"D1p1:", envelope_error::truncated},
      {"D1p1:00:1:c5:ab", envelope_error::truncated},                // data shorter than said
      {"D1p01:0", envelope_error::bad_number},                       // leading zero length
      {"D1p2:010:1:c0:-1:0", envelope_error::bad_number},            // leading zero offset
      {"D1p1:x0:1:c0:-1:0", envelope_error::bad_number},             // offset not a number
      {"D1p-1:0", envelope_error::bad_number},
      {"D1p20:99999999999999999999", envelope_error::bad_number},    // > 19 digits
      {"D1p19:99999999999999999990:1:c0:-1:0", envelope_error::bad_number},  // > INT64_MAX
      {"D1p99999999999999999999:", envelope_error::bad_number},      // length too long
      {"D1p1:00:0:0:-1:0", envelope_error::bad_channel},             // empty channel
      {"D1p1:00:3:a b0:-1:0", envelope_error::bad_channel},          // space in channel
      {"D1p1:00:1:c0:?1:0", envelope_error::bad_marker},
      {"D1p1:00:1:c0:-3:100", envelope_error::too_many_tags},        // 100 tags in 0 bytes
      {"D1p1:00:1:c0:-1:11:a1:", envelope_error::truncated},         // tag value cut
      {"D1p1:00:1:c0:-1:0x", envelope_error::trailing},
      {"D1j1:c2:id", envelope_error::truncated},
      {"D1c0:0:0:0:0:", envelope_error::trailing},
  };
  for (const bad& b : cases) {
    envelope e;
    EXPECT_EQ(decode(b.bytes, e), b.want) << "input: " << b.bytes;
  }
}

// Every prefix of a valid envelope is refused (never read past the end), and so is every
// one-byte mutation that does not happen to produce another valid envelope; none crashes.
TEST(Envelope, TruncationsAndMutationsNeverCrash) {
  const std::string good = encode_publication(sample_pub());
  envelope e;
  for (std::size_t n = 0; n < good.size(); ++n) {
    EXPECT_NE(decode(good.substr(0, n), e), envelope_error::ok) << "prefix " << n;
  }
  std::mt19937 rng(7);
  std::size_t accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string m = good;
    const std::size_t at = rng() % m.size();
    m[at] = static_cast<char>(rng() % 256);
    if (decode(m, e) == envelope_error::ok) {
      ++accepted;
      // A mutation inside data/epoch/tag bytes is still a well-formed envelope, and the
      // format has one encoding per value: encoding what was decoded gives the input back.
      EXPECT_EQ(encode_publication(e.pub), m);
    }
  }
  EXPECT_GT(accepted, 0u);
  EXPECT_LT(accepted, 20000u);
}

}  // namespace
}  // namespace duplex::redis
