#include "server/events_endpoint.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "hub/wire_format.h"

namespace duplex::service {
namespace {

// Tokens "user:<name>" are valid for <name>, "expired" is expired, anything else invalid.
class fake_auth final : public centrifuge::authenticator {
 public:
  centrifuge::auth_status verify_connect(std::string_view token,
                                         centrifuge::connect_identity& out) const override {
    if (token == "expired") return centrifuge::auth_status::expired;
    if (token.starts_with("user:")) {
      out.user = std::string(token.substr(5));
      return centrifuge::auth_status::ok;
    }
    return centrifuge::auth_status::invalid;
  }
  centrifuge::auth_status verify_subscribe(std::string_view, std::string_view, std::string_view,
                                           centrifuge::subscribe_grant&) const override {
    return centrifuge::auth_status::invalid;
  }
  std::int64_t now_unix() const override { return 1000; }
};

hub::namespace_table table() {
  hub::namespace_options open;
  open.subscribe = hub::access::anonymous;
  hub::namespace_table t(open);
  hub::namespace_options members;  // subscribe: authenticated
  t.add("members", members);
  return t;
}

TEST(ChannelQuery, ReadsRepeatedChannelsAndTokenPercentDecoded) {
  channel_query q;
  std::string why;
  ASSERT_TRUE(
      parse_channel_query("channel=a&x=1&channel=chat%3Aroom+1&token=t%2Bk&channel=", q, why));
  ASSERT_EQ(q.channels.size(), 3u);
  EXPECT_EQ(q.channels[0], "a");
  EXPECT_EQ(q.channels[1], "chat:room 1");
  EXPECT_EQ(q.channels[2], "");
  EXPECT_EQ(q.token, "t+k");
}

TEST(ChannelQuery, RefusesBrokenEscapesAndNul) {
  channel_query q;
  std::string why;
  for (const char* bad : {"channel=%", "channel=%4", "channel=%zz", "channel=a%00b", "token=%G1"}) {
    EXPECT_FALSE(parse_channel_query(bad, q, why)) << bad;
    EXPECT_FALSE(why.empty());
  }
  // Other parameters are not ours to judge.
  EXPECT_TRUE(parse_channel_query("other=%&channel=a", q, why));
}

TEST(AdmitChannels, StatusPerRefusal) {
  fake_auth auth;
  const auto t = table();
  auto admit = [&](std::vector<std::string> chans, std::string token = {}, bool anon = true) {
    channel_query q{std::move(chans), std::move(token)};
    return admit_channels(q, t, &auth, anon, 3);
  };
  EXPECT_EQ(admit({}).status, 400);
  EXPECT_EQ(admit({"a", "b", "c", "d"}).status, 400);
  EXPECT_EQ(admit({"a", "a"}).status, 400);
  EXPECT_EQ(admit({"bad channel"}).status, 400);
  EXPECT_EQ(admit({"nope:x"}).status, 404);
  EXPECT_EQ(admit({"members:x"}).status, 403);
  EXPECT_EQ(admit({"a"}, "garbage").status, 401);
  EXPECT_EQ(admit({"a"}, "expired").status, 401);
  EXPECT_EQ(admit({"a"}, {}, false).status, 401);

  auto ok = admit({"a", "members:x"}, "user:ann");
  EXPECT_EQ(ok.status, 200) << ok.reason;
  EXPECT_EQ(ok.user, "ann");
  EXPECT_EQ(ok.cred, hub::credential::authenticated);

  auto anon = admit({"a"});
  EXPECT_EQ(anon.status, 200);
  EXPECT_EQ(anon.cred, hub::credential::anonymous);
}

TEST(AdmitChannels, ReasonNamesTheChannelPrintably) {
  fake_auth auth;
  channel_query q{{"nope:x\r\n"}, {}};
  auto a = admit_channels(q, table(), &auth, true, 8);
  EXPECT_EQ(a.status, 400);
  EXPECT_NE(a.reason.find("nope:x??"), std::string::npos) << a.reason;
  EXPECT_EQ(a.reason.find('\n'), std::string::npos);
}

TEST(ConnectionId, IsAUuidV4AndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string id = new_connection_id();
    ASSERT_EQ(id.size(), 36u);
    EXPECT_EQ(id[14], '4');
    EXPECT_TRUE(seen.insert(id).second);
  }
}

TEST(EventsFormats, EncodeEachPublicationAsOneEvent) {
  hub::format_registry reg;
  const events_formats f = events_endpoint::register_formats(reg);
  hub::publication p;
  p.channel = "chat:1";
  p.offset = 7;
  p.epoch = "EP";
  p.data = shared_payload::copy_of("{\"a\":\n1}");
  EXPECT_EQ(reg.encoder_of(f.with_id)(hub::push_kind::publication, p).view(),
            "id: 7:EP\nevent: chat:1\ndata: {\"a\":\ndata: 1}\n\n");
  EXPECT_EQ(reg.encoder_of(f.without_id)(hub::push_kind::publication, p).view(),
            "event: chat:1\ndata: {\"a\":\ndata: 1}\n\n");
  p.epoch.clear();
  p.offset = 0;
  EXPECT_EQ(reg.encoder_of(f.with_id)(hub::push_kind::publication, p).view(),
            "event: chat:1\ndata: {\"a\":\ndata: 1}\n\n");
  shared_payload join = reg.encoder_of(f.with_id)(hub::push_kind::join, p);
  EXPECT_TRUE(static_cast<bool>(join));
  EXPECT_TRUE(join.empty());
}

}  // namespace
}  // namespace duplex::service
