#include "hub/channel_name.h"

#include <gtest/gtest.h>

#include <string>

#include "hub/namespace_options.h"

namespace duplex::hub {
namespace {

TEST(ChannelName, DefaultNamespaceWhenNoColon) {
  auto r = parse_channel("news");
  ASSERT_EQ(r.err, channel_error::ok);
  EXPECT_EQ(r.name.ns, "");
  EXPECT_EQ(r.name.rest, "news");
  EXPECT_EQ(r.name.full, "news");
}

TEST(ChannelName, NamespaceIsBeforeFirstColon) {
  auto r = parse_channel("chat:room:42");
  ASSERT_EQ(r.err, channel_error::ok);
  EXPECT_EQ(r.name.ns, "chat");
  EXPECT_EQ(r.name.rest, "room:42");
}

TEST(ChannelName, Errors) {
  EXPECT_EQ(parse_channel("").err, channel_error::empty);
  EXPECT_EQ(parse_channel(":x").err, channel_error::bad_namespace);
  EXPECT_EQ(parse_channel("a@b:x").err, channel_error::bad_namespace);  // '@' ok in rest only
  EXPECT_EQ(parse_channel("ns:").err, channel_error::empty_rest);
  EXPECT_EQ(parse_channel("has space").err, channel_error::bad_char);
  EXPECT_EQ(parse_channel("quote\"").err, channel_error::bad_char);
  EXPECT_EQ(parse_channel("nul\0x").err, channel_error::ok);  // string_view stops at the NUL
  EXPECT_EQ(parse_channel(std::string_view("nul\0x", 5)).err, channel_error::bad_char);
  EXPECT_EQ(parse_channel("caf\xc3\xa9").err, channel_error::bad_char);
  EXPECT_EQ(parse_channel("user#42,43").err, channel_error::ok);
  EXPECT_EQ(parse_channel("$private/a=b~c+d!e").err, channel_error::ok);
}

TEST(ChannelName, LengthLimitIsInclusive) {
  EXPECT_EQ(parse_channel(std::string(255, 'a')).err, channel_error::ok);
  EXPECT_EQ(parse_channel(std::string(256, 'a')).err, channel_error::too_long);
  EXPECT_EQ(parse_channel("abcd", 3).err, channel_error::too_long);
}

TEST(ChannelName, ErrorNames) {
  EXPECT_EQ(to_string(channel_error::too_long), "too_long");
  EXPECT_EQ(to_string(error::too_many_subscribers), "too_many_subscribers");
}

TEST(NamespaceTable, ResolvesDefaultAndNamed) {
  namespace_options def;
  def.history_size = 1;
  namespace_options chat;
  chat.presence = true;
  namespace_table t(def);
  t.add("chat", chat);

  const namespace_options* o = nullptr;
  ASSERT_EQ(resolve_channel(t, "lobby", &o), error::ok);
  EXPECT_EQ(o->history_size, 1u);
  ASSERT_EQ(resolve_channel(t, "chat:1", &o), error::ok);
  EXPECT_TRUE(o->presence);
  EXPECT_EQ(resolve_channel(t, "game:1", &o), error::unknown_namespace);
  channel_error why{};
  EXPECT_EQ(resolve_channel(t, "bad channel", &o, &why), error::bad_channel);
  EXPECT_EQ(why, channel_error::bad_char);
}

TEST(NamespaceTable, TableLengthLimitApplies) {
  namespace_table t;
  t.max_channel_length = 4;
  const namespace_options* o = nullptr;
  EXPECT_EQ(resolve_channel(t, "abcd", &o), error::ok);
  EXPECT_EQ(resolve_channel(t, "abcde", &o), error::bad_channel);
}

TEST(Access, CredentialRanks) {
  EXPECT_TRUE(allows(access::anonymous, credential::anonymous));
  EXPECT_FALSE(allows(access::authenticated, credential::anonymous));
  EXPECT_TRUE(allows(access::authenticated, credential::authenticated));
  EXPECT_FALSE(allows(access::token_only, credential::authenticated));
  EXPECT_TRUE(allows(access::token_only, credential::subscription_token));
  EXPECT_FALSE(allows(access::server_only, credential::subscription_token));
  EXPECT_TRUE(allows(access::server_only, credential::server));
}

}  // namespace
}  // namespace duplex::hub
