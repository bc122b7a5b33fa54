#include "net/loop_group.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "net/connect.h"
#include "net/listener.h"
#include "net/stream.h"
#include "support/net_test_util.h"

namespace duplex::net {
namespace {

struct echo : stream_handler {
  void on_data(stream& s, std::span<std::byte> d) override { s.write(d); }
  void on_close(stream&, std::error_code) override {}
};

struct client : stream_handler {
  std::string data;
  bool closed = false;
  void on_connect(stream& s) override { s.write(std::string_view("ping")); }
  void on_data(stream& s, std::span<std::byte> d) override {
    data.append(reinterpret_cast<const char*>(d.data()), d.size());
    if (data == "ping") s.close();
  }
  void on_close(stream&, std::error_code) override { closed = true; }
};

TEST(LoopGroupThreads, ReusePortSpreadsConnectionsAcrossLoops) {
  loop_group group(2);
  ASSERT_EQ(group.size(), 2u);
  std::vector<listener_ptr> listeners(2);  // listeners[i] is touched only by loop i's thread
  echo server;                              // stateless, shared by both loops
  std::atomic<std::uint16_t> port{0};
  std::atomic<int> inits{0};
  group.start([&](loop& l, std::size_t i) {
    EXPECT_TRUE(l.in_thread());
    EXPECT_EQ(loop::current(), &l);
    std::error_code ec;
    // Inits run in index order: loop 0 picks the port, loop 1 joins it.
    listeners[i] = listener::open(l, "127.0.0.1", port.load(),
                                  [&server](stream& s) { s.set_handler(&server); }, ec);
    ASSERT_TRUE(listeners[i]) << ec.message();
    if (i == 0) port = listeners[i]->port();
    EXPECT_EQ(listeners[i]->port(), port.load());
    ++inits;
  });
  ASSERT_EQ(inits.load(), 2);  // start() returns after every init

  loop l;
  constexpr int n = 40;
  std::vector<client> clients(n);
  for (auto& c : clients) {
    std::error_code ec;
    ASSERT_TRUE(connect(l, "127.0.0.1", port.load(), nullptr, {}, &c, ec)) << ec.message();
  }
  ASSERT_TRUE(test::run_until(l, [&] {
    for (auto& c : clients) if (!c.closed) return false;
    return true;
  }));
  for (auto& c : clients) EXPECT_EQ(c.data, "ping");

  // Graceful stop: each loop closes its own listener on its own thread, then the group stops.
  for (std::size_t i = 0; i < group.size(); ++i) {
    group.at(i).post([&listeners, i] { listeners[i].reset(); });
  }
  group.stop();
  EXPECT_FALSE(group.running());
  // Safe to read now: the loop threads have been joined.
  const auto a0 = group.at(0).stats().accepted, a1 = group.at(1).stats().accepted;
  EXPECT_EQ(a0 + a1, static_cast<std::uint64_t>(n));
  EXPECT_GT(a0, 0u);
  EXPECT_GT(a1, 0u);
  group.stop();  // idempotent
}

TEST(LoopGroupThreads, DefaultSizeUsesHardwareConcurrency) {
  loop_group group;
  EXPECT_EQ(group.size(), std::max(1u, std::thread::hardware_concurrency()));
  group.start(nullptr);
  std::atomic<int> ran{0};
  for (std::size_t i = 0; i < group.size(); ++i) group.at(i).post([&] { ++ran; });
  // post() is FIFO: a second round-trip proves the first tasks ran.
  for (int spins = 0; ran.load() != static_cast<int>(group.size()) && spins < 5000; ++spins) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(ran.load(), static_cast<int>(group.size()));
  group.stop();
}

}  // namespace
}  // namespace duplex::net
