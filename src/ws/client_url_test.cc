#include "ws/client_url.h"

#include <gtest/gtest.h>

namespace duplex::ws {
namespace {

TEST(ClientUrl, ParsesSchemesHostsPortsAndResources) {
  auto u = parse_client_url("ws://example.com/chat?room=1");
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->secure);
  EXPECT_EQ(u->host, "example.com");
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->resource, "/chat?room=1");
  EXPECT_EQ(u->host_header(), "example.com");

  u = parse_client_url("WSS://127.0.0.1:9443");
  ASSERT_TRUE(u);
  EXPECT_TRUE(u->secure);
  EXPECT_EQ(u->port, 9443);
  EXPECT_EQ(u->resource, "/");
  EXPECT_EQ(u->host_header(), "127.0.0.1:9443");

  u = parse_client_url("ws://[::1]:8080?x=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->resource, "/?x=1");
  EXPECT_EQ(u->host_header(), "[::1]:8080");

  u = parse_client_url("wss://[::1]/");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->host_header(), "[::1]");
}

TEST(ClientUrl, RejectsWhatRfc6455Forbids) {
  for (const char* bad : {"http://a/", "ws://", "ws:///x", "ws://a/#frag", "ws://u@a/", "ws://a:0/",
                          "ws://a:65536/", "ws://a:/", "ws://a:12x/", "ws://[::1/", "ws://[]:80/",
                          "ws://[::1]x/", "ws://::1/", "wss//a"}) {
    EXPECT_FALSE(parse_client_url(bad)) << bad;
  }
}

}  // namespace
}  // namespace duplex::ws
