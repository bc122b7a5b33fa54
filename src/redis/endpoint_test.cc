#include "redis/endpoint.h"

#include <gtest/gtest.h>

namespace duplex::redis {
namespace {

TEST(RedisUrl, ParsesTheAcceptedForms) {
  auto e = parse_url("redis://10.0.0.5:7000");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "10.0.0.5");
  EXPECT_EQ(e->port, 7000);
  EXPECT_EQ(e->db, 0);
  EXPECT_TRUE(e->password.empty());

  e = parse_url("redis://localhost");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "localhost");
  EXPECT_EQ(e->port, 6379);

  e = parse_url("redis://:s3cret@redis.internal:6380/2");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "redis.internal");
  EXPECT_EQ(e->port, 6380);
  EXPECT_EQ(e->user, "");
  EXPECT_EQ(e->password, "s3cret");
  EXPECT_EQ(e->db, 2);

  e = parse_url("redis://app:pw@h/");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->user, "app");
  EXPECT_EQ(e->password, "pw");

  e = parse_url("redis://[::1]:6390");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->port, 6390);
}

TEST(RedisUrl, RefusesBadUrlsWithAReason) {
  const char* bad[] = {"",
                       "http://h:1",
                       "rediss://h:6379",
                       "redis://",
                       "redis://h:",
                       "redis://h:0",
                       "redis://h:65536",
                       "redis://h:12ab",
                       "redis://h/16",
                       "redis://h/x",
                       "redis://[::1",
                       "redis://[::1]x",
                       "redis://h o:1"};
  for (const char* url : bad) {
    std::string why;
    EXPECT_FALSE(parse_url(url, &why)) << url;
    EXPECT_TRUE(why.starts_with("redis url: ")) << url << " -> " << why;
  }
}

}  // namespace
}  // namespace duplex::redis
