// The hiredis adapter and its reconnect policy, on a loop driven by the test thread.
#include "redis/connection.h"

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "redis/redis_test_util.h"
#include "support/net_test_util.h"

namespace duplex::redis {
namespace {

using namespace std::chrono_literals;
using duplex::test::run_until;

// A listening socket whose accept queue is full: connects to it never complete.
class black_hole {
 public:
  black_hole() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    filler_ = ::socket(AF_INET, SOCK_STREAM, 0);  // takes the one slot backlog 0 allows
    ::connect(filler_, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  ~black_hole() {
    ::close(filler_);
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  int filler_ = -1;
  std::uint16_t port_ = 0;
};

connection_options fast(std::uint16_t port) {
  connection_options o;
  o.where.host = "127.0.0.1";
  o.where.port = port;
  o.connect_timeout = 50ms;
  o.command_timeout = 300ms;
  o.reconnect_min = 10ms;
  o.reconnect_max = 40ms;
  return o;
}

TEST(RedisConnection, ConnectTimeoutsAreRetriedAndCommandsRefused) {
  black_hole hole;
  net::loop l;
  connection c(l, fast(hole.port()));
  c.start();
  ASSERT_TRUE(run_until(l, [&] { return c.stats().timeouts >= 3; }, 5s));
  EXPECT_FALSE(c.up());
  EXPECT_GE(c.stats().connect_failures, 3u);
  EXPECT_EQ(c.stats().connects, 0u);
  bool called = false;
  const std::string_view ping[] = {"PING"};
  EXPECT_FALSE(c.command(ping, [&](redisReply*) { called = true; }));
  c.stop();
  EXPECT_FALSE(called) << "a refused command's callback is never kept";
}

TEST(RedisConnection, RefusedConnectsAreRetried) {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);  // a port with nobody listening
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  net::loop l;
  connection c(l, fast(ntohs(a.sin_port)));
  c.start();
  ASSERT_TRUE(run_until(l, [&] { return c.stats().connect_failures >= 3; }, 5s));
  EXPECT_FALSE(c.up());
  c.stop();
}

class RedisConnectionLive : public ::testing::Test {
 protected:
  void SetUp() override {
    DUPLEX_REQUIRE_REDIS_SERVER();
    std::string why;
    ASSERT_TRUE(server_.start(0, &why)) << why;
  }
  test::redis_server server_;
};

TEST_F(RedisConnectionLive, RunsCommandsAndReconnectsAfterARestart) {
  net::loop l;
  connection c(l, fast(server_.port()));
  int ups = 0, downs = 0;
  c.on_up = [&] { ++ups; };
  c.on_down = [&] { ++downs; };
  c.start();
  ASSERT_TRUE(run_until(l, [&] { return c.up(); }));
  EXPECT_EQ(ups, 1);

  std::optional<std::string> got;
  const std::string value(100000, 'v');  // more than one socket write
  const std::string_view set[] = {"SET", "k", value};
  const std::string_view get[] = {"GET", "k"};
  ASSERT_TRUE(c.command(set, {}));
  ASSERT_TRUE(c.command(get, [&](redisReply* r) {
    if (r && r->type == REDIS_REPLY_STRING) got.emplace(r->str, r->len);
  }));
  ASSERT_TRUE(run_until(l, [&] { return got.has_value(); }));
  EXPECT_EQ(*got, value);

  const std::uint16_t port = server_.port();
  server_.stop();
  ASSERT_TRUE(run_until(l, [&] { return downs == 1; }));
  EXPECT_FALSE(c.up());
  std::string why;
  ASSERT_TRUE(server_.start(port, &why)) << why;
  ASSERT_TRUE(run_until(l, [&] { return c.up(); }));
  EXPECT_EQ(ups, 2);
  EXPECT_EQ(c.stats().disconnects, 1u);
  c.stop();
  EXPECT_EQ(downs, 2) << "stop() of an up link reports it";
}

TEST_F(RedisConnectionLive, RetryNowSkipsTheBackoff) {
  const std::uint16_t port = server_.port();
  server_.stop();
  net::loop l;
  auto o = fast(port);
  o.reconnect_min = 20s;  // after the refused first attempt: 10-20 s until the next
  o.reconnect_max = 20s;
  connection c(l, o);
  c.start();
  ASSERT_TRUE(run_until(l, [&] { return c.stats().connect_failures >= 1; }, 3s));
  std::string why;
  ASSERT_TRUE(server_.start(port, &why)) << why;
  run_until(l, [] { return false; }, 200ms);
  EXPECT_FALSE(c.up()) << "it waits out its backoff";
  c.retry_now();
  ASSERT_TRUE(run_until(l, [&] { return c.up(); }, 3s));
  EXPECT_EQ(c.stats().connect_failures, 1u);
  EXPECT_EQ(c.stats().connects, 1u);
  c.retry_now();  // up: nothing happens
  run_until(l, [] { return false; }, 50ms);
  EXPECT_TRUE(c.up());
  EXPECT_EQ(c.stats().connects, 1u);
  c.stop();
}

TEST_F(RedisConnectionLive, AStalledCommandDropsTheLinkAndFailsItsCallback) {
  net::loop l;
  connection c(l, fast(server_.port()));
  c.start();
  ASSERT_TRUE(run_until(l, [&] { return c.up(); }));
  bool failed = false;
  const std::string_view block[] = {"BLPOP", "nothing", "0"};  // never answers
  ASSERT_TRUE(c.command(block, [&](redisReply* r) { failed = r == nullptr; }));
  ASSERT_TRUE(run_until(l, [&] { return failed; }, 3s));
  EXPECT_EQ(c.stats().timeouts, 1u);
  ASSERT_TRUE(run_until(l, [&] { return c.up(); })) << "and it reconnects";
  EXPECT_EQ(c.stats().connects, 2u);
}

TEST_F(RedisConnectionLive, StopFailsOutstandingCallbacks) {
  net::loop l;
  connection c(l, fast(server_.port()));
  c.start();
  ASSERT_TRUE(run_until(l, [&] { return c.up(); }));
  int nulls = 0;
  const std::string_view block[] = {"BLPOP", "nothing", "0"};
  ASSERT_TRUE(c.command(block, [&](redisReply* r) { nulls += r == nullptr; }));
  ASSERT_TRUE(c.command(block, [&](redisReply* r) { nulls += r == nullptr; }));
  run_until(l, [] { return false; }, 50ms);  // let them reach Redis
  c.stop();
  EXPECT_EQ(nulls, 2);
  EXPECT_FALSE(c.up());
}

}  // namespace
}  // namespace duplex::redis
