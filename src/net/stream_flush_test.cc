// When a stream's output goes to the kernel: loop_options::flush_after_read and the inline
// write fast path.
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>

#include "net/connect.h"
#include "net/listener.h"
#include "net/stream.h"
#include "support/net_test_util.h"

namespace duplex::net {
namespace {

using namespace std::chrono_literals;
using test::run_until;

struct handler : stream_handler {
  std::string data;
  int closes = 0;
  std::error_code close_ec;
  std::function<void(stream&, std::span<std::byte>)> on_data_fn;
  void on_data(stream& s, std::span<std::byte> d) override {
    data.append(reinterpret_cast<const char*>(d.data()), d.size());
    if (on_data_fn) on_data_fn(s, d);
  }
  void on_close(stream&, std::error_code ec) override {
    ++closes;
    close_ec = ec;
  }
};

// The server answers each read with `reply` bytes. A task posted from on_data runs at the start
// of the next turn, before that turn's deferred flush: it sees whether the reply already went.
struct reply_probe {
  std::size_t reply = 0;
  std::size_t buffered_seen = SIZE_MAX;
  std::uint64_t sends_seen = 0;
};

void run_reply_probe(loop& l, reply_probe& probe) {
  handler server;
  std::error_code ec;
  auto lst = listener::open(l, "127.0.0.1", 0, [&](stream& s) { s.set_handler(&server); }, ec);
  ASSERT_TRUE(lst) << ec.message();
  server.on_data_fn = [&](stream& s, std::span<std::byte>) {
    const std::string reply(probe.reply, 'r');
    const std::uint64_t before = l.stats().writev_calls;
    s.write(std::string_view(reply));
    l.post([&, before, sp = &s] {
      probe.buffered_seen = sp->buffered_amount();
      probe.sends_seen = l.stats().writev_calls - before;
    });
  };
  handler client;
  stream* c = connect(l, "127.0.0.1", lst->port(), nullptr, {}, &client, ec);
  ASSERT_NE(c, nullptr) << ec.message();
  c->write(std::string_view("ping"));
  ASSERT_TRUE(run_until(l, [&] { return client.data.size() == probe.reply; }));
  EXPECT_EQ(client.data, std::string(probe.reply, 'r'));
}

TEST(StreamFlush, LargeReplyToAReadIsSentRightAfterOnData) {
  loop_options opts;
  opts.flush_after_read = 1024;
  loop l(opts);
  reply_probe probe{.reply = 4096};
  run_reply_probe(l, probe);
  EXPECT_EQ(probe.buffered_seen, 0u);  // sent before the turn ended
  EXPECT_EQ(probe.sends_seen, 1u);     // in one send
}

TEST(StreamFlush, SmallReplyWaitsForTheEndOfTheTurn) {
  loop_options opts;
  opts.flush_after_read = 1024;
  loop l(opts);
  reply_probe probe{.reply = 1000};
  run_reply_probe(l, probe);
  EXPECT_EQ(probe.buffered_seen, 1000u);
  EXPECT_EQ(probe.sends_seen, 0u);
}

TEST(StreamFlush, ZeroDisablesFlushAfterRead) {
  loop_options opts;
  opts.flush_after_read = 0;
  loop l(opts);
  reply_probe probe{.reply = 32 * 1024};  // below the 64 KiB flush_threshold
  run_reply_probe(l, probe);
  EXPECT_EQ(probe.buffered_seen, 32u * 1024);
  EXPECT_EQ(probe.sends_seen, 0u);
}

TEST(StreamFlush, ManySmallWritesCoalesceAcrossChunksInOrder) {
  loop l;
  handler server;
  std::error_code ec;
  auto lst = listener::open(l, "127.0.0.1", 0, [&](stream& s) { s.set_handler(&server); }, ec);
  ASSERT_TRUE(lst) << ec.message();
  handler client;
  stream* c = connect(l, "127.0.0.1", lst->port(), nullptr, {}, &client, ec);
  ASSERT_NE(c, nullptr) << ec.message();
  // 3,000 writes of 17 bytes cross several chunks and the inline fast path's limits.
  std::string expect;
  for (int i = 0; i < 3000; ++i) {
    char buf[18];
    std::snprintf(buf, sizeof buf, "%016d\n", i);
    c->write(std::string_view(buf, 17));
    expect.append(buf, 17);
  }
  EXPECT_EQ(c->buffered_amount(), expect.size());  // 51,000 bytes: under flush_threshold
  ASSERT_TRUE(run_until(l, [&] { return server.data.size() >= expect.size(); }));
  EXPECT_EQ(server.data, expect);
}


TEST(StreamFlush, PrepareAndCommitWriteInPlaceInterleavedWithWrites) {
  loop l;
  handler server;
  std::error_code ec;
  auto lst = listener::open(l, "127.0.0.1", 0, [&](stream& s) { s.set_handler(&server); }, ec);
  ASSERT_TRUE(lst) << ec.message();
  handler client;
  stream* c = connect(l, "127.0.0.1", lst->port(), nullptr, {}, &client, ec);
  ASSERT_NE(c, nullptr) << ec.message();
  std::string expect;
  // Enough rounds to cross chunk boundaries with both kinds of write.
  for (int i = 0; i < 2000; ++i) {
    auto room = c->prepare_write(12);
    ASSERT_GE(room.size(), 12u);
    char text[16];
    std::snprintf(text, sizeof text, "<%010u>", static_cast<unsigned>(i));
    std::memcpy(room.data(), text, 12);
    c->commit_write(i % 3 == 0 ? 6 : 12);  // commits a prefix: the rest is not sent
    expect.append(text, i % 3 == 0 ? 6 : 12);
    c->write(std::string_view("."));
    expect += '.';
  }
  (void)c->prepare_write(100);
  c->commit_write(0);  // nothing
  EXPECT_EQ(c->buffered_amount(), expect.size());
  ASSERT_TRUE(run_until(l, [&] { return server.data.size() >= expect.size(); }));
  EXPECT_EQ(server.data, expect);

  // Once closing, the span is empty and nothing is queued.
  c->close();
  EXPECT_TRUE(c->prepare_write(8).empty());
  c->commit_write(0);
  EXPECT_EQ(c->buffered_amount(), 0u);
  ASSERT_TRUE(run_until(l, [&] { return client.closes == 1 && server.closes == 1; }));
  EXPECT_EQ(server.data, expect);
}

}  // namespace
}  // namespace duplex::net
