#include "net/stream.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "net/connect.h"
#include "net/error.h"
#include "net/listener.h"
#include "support/net_test_util.h"

namespace duplex::net {
namespace {

using namespace std::chrono_literals;
using test::run_until;

std::string_view as_text(std::span<std::byte> d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

// Records everything; optional hooks add behaviour per test.
struct recorder : stream_handler {
  std::string data;
  int connects = 0, drains = 0, closes = 0;
  std::error_code close_ec;
  std::function<void(stream&)> on_connect_fn, on_drain_fn;
  std::function<void(stream&, std::error_code)> on_close_fn;
  std::function<void(stream&, std::span<std::byte>)> on_data_fn;

  void on_data(stream& s, std::span<std::byte> d) override {
    data.append(as_text(d));
    if (on_data_fn) on_data_fn(s, d);
  }
  void on_drain(stream& s) override {
    ++drains;
    if (on_drain_fn) on_drain_fn(s);
  }
  void on_close(stream& s, std::error_code ec) override {
    ++closes;
    close_ec = ec;
    if (on_close_fn) on_close_fn(s, ec);
  }
  void on_connect(stream& s) override {
    ++connects;
    if (on_connect_fn) on_connect_fn(s);
  }
};

struct echo : stream_handler {
  int closes = 0;
  std::error_code close_ec;
  void on_data(stream& s, std::span<std::byte> d) override { s.write(d); }
  void on_close(stream&, std::error_code ec) override {
    ++closes;
    close_ec = ec;
  }
};

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

class EchoOverTcp : public ::testing::TestWithParam<const char*> {};

TEST_P(EchoOverTcp, RoundTripAndCleanClose) {
  loop l;
  echo server;
  stream* accepted = nullptr;
  std::error_code ec;
  auto lst = listener::open(l, GetParam(), 0, [&](stream& s) {
    accepted = &s;
    s.set_handler(&server);
  }, ec);
  ASSERT_TRUE(lst) << ec.message();
  ASSERT_NE(lst->port(), 0);

  recorder client;
  client.on_connect_fn = [](stream& s) {
    s.write(std::string_view("hello"));
    s.write(shared_payload::copy_of(std::string(1000, 'x')));
    s.write(std::string_view(" world"));
  };
  stream* c = connect(l, GetParam(), lst->port(), nullptr, {}, &client, ec);
  ASSERT_NE(c, nullptr) << ec.message();
  const std::string expect = "hello" + std::string(1000, 'x') + " world";
  ASSERT_TRUE(run_until(l, [&] { return client.data.size() >= expect.size(); }));
  EXPECT_EQ(client.data, expect);
  EXPECT_EQ(client.connects, 1);
  EXPECT_FALSE(c->is_tls());
  ASSERT_NE(accepted, nullptr);
  const std::string want_prefix = std::string_view(GetParam()) == "::1" ? "[::1]:" : "127.0.0.1:";
  EXPECT_EQ(c->remote_address(), want_prefix + std::to_string(lst->port()));
  EXPECT_EQ(accepted->remote_address().rfind(want_prefix, 0), 0u);
  EXPECT_EQ(l.stats().accepted, 1u);
  EXPECT_EQ(l.stream_count(), 2u);

  c->close();
  ASSERT_TRUE(run_until(l, [&] { return client.closes == 1 && server.closes == 1; }));
  EXPECT_FALSE(client.close_ec) << client.close_ec.message();
  EXPECT_EQ(server.close_ec, errc::eof);
  EXPECT_EQ(l.stream_count(), 0u);
  EXPECT_EQ(l.stats().closed, 2u);
}

INSTANTIATE_TEST_SUITE_P(Addresses, EchoOverTcp, ::testing::Values("127.0.0.1", "::1"));

// Accepts one connection and records it; returns the listener.
listener_ptr listen_with(loop& l, recorder& server, stream** accepted = nullptr) {
  std::error_code ec;
  auto lst = listener::open(l, "127.0.0.1", 0, [&server, accepted](stream& s) {
    s.set_handler(&server);
    if (accepted) *accepted = &s;
  }, ec);
  EXPECT_TRUE(lst) << ec.message();
  return lst;
}

TEST(Stream, SmallWritesInOneTurnGoOutInOneWritev) {
  loop l;
  recorder server;
  auto lst = listen_with(l, server);
  recorder client;
  std::uint64_t writevs_for_batch = 0;
  bool checked = false;
  client.on_connect_fn = [&](stream& s) {
    const std::uint64_t before = l.stats().writev_calls;
    for (int i = 0; i < 100; ++i) s.write(std::string_view("0123456789"));
    EXPECT_EQ(l.stats().writev_calls, before);  // nothing is sent inline
    EXPECT_EQ(s.buffered_amount(), 1000u);
    // The outer task runs before this turn's flush, the inner one after it.
    l.post([&, before] {
      l.post([&, before] {
        writevs_for_batch = l.stats().writev_calls - before;
        EXPECT_EQ(s.buffered_amount(), 0u);
        checked = true;
      });
    });
  };
  std::error_code ec;
  ASSERT_TRUE(connect(l, "127.0.0.1", lst->port(), nullptr, {}, &client, ec)) << ec.message();
  ASSERT_TRUE(run_until(l, [&] { return checked && server.data.size() == 1000; }));
  EXPECT_EQ(writevs_for_batch, 1u);
  std::string expect;
  for (int i = 0; i < 100; ++i) expect += "0123456789";
  EXPECT_EQ(server.data, expect);
}

TEST(Stream, LargeWriteBackpressureThenDrainDeliversAllBytes) {
  loop l;
  recorder server;
  // The server does not read for a while, so the kernel buffers fill up.
  std::error_code ec;
  auto lst = listener::open(l, "127.0.0.1", 0, [&](stream& s) {
    s.set_handler(&server);
    s.pause_reading();
    l.run_after(50ms, [&s] { s.resume_reading(); });
  }, ec);
  ASSERT_TRUE(lst);

  const std::string half = pattern(4 * 1024 * 1024);
  const std::string second = pattern(4 * 1024 * 1024 + 13).substr(13);
  recorder client;
  std::size_t after_write = 0, after_flush = 0;
  client.on_connect_fn = [&](stream& s) {
    s.write(std::as_bytes(std::span<const char>(half.data(), half.size())));
    s.write(shared_payload::copy_of(second));
    after_write = s.buffered_amount();
    l.post([&] { l.post([&] { after_flush = s.buffered_amount(); }); });
  };
  stream* c = connect(l, "127.0.0.1", lst->port(), nullptr, {}, &client, ec);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(run_until(l, [&] { return server.data.size() >= 8u * 1024 * 1024 && client.drains > 0; }));
  EXPECT_GT(after_write, 0u);
  EXPECT_GT(after_flush, 0u);  // the kernel could not take 8 MiB while the reader slept
  EXPECT_EQ(c->buffered_amount(), 0u);
  EXPECT_EQ(client.drains, 1);
  ASSERT_EQ(server.data.size(), half.size() + second.size());
  EXPECT_TRUE(server.data.compare(0, half.size(), half) == 0);
  EXPECT_TRUE(server.data.compare(half.size(), second.size(), second) == 0);
  EXPECT_GE(l.stats().bytes_out, 8u * 1024 * 1024);
}

TEST(Stream, CloseAfterWriteDeliversEverythingThenCloses) {
  loop l;
  recorder server;
  auto lst = listen_with(l, server);
  const std::string body = pattern(1024 * 1024 + 7);
  recorder client;
  client.on_connect_fn = [&](stream& s) {
    s.write(std::as_bytes(std::span<const char>(body.data(), body.size())));
    s.close();
    s.write(std::string_view("ignored after close"));
    s.close();  // idempotent
  };
  std::error_code ec;
  ASSERT_TRUE(connect(l, "127.0.0.1", lst->port(), nullptr, {}, &client, ec));
  ASSERT_TRUE(run_until(l, [&] { return server.closes == 1 && client.closes == 1; }));
  EXPECT_EQ(server.data.size(), body.size());
  EXPECT_TRUE(server.data == body);
  EXPECT_EQ(server.close_ec, errc::eof);
  EXPECT_FALSE(client.close_ec) << client.close_ec.message();
  // No second on_close, however long we run.
  run_until(l, [] { return false; }, 20ms);
  EXPECT_EQ(server.closes, 1);
  EXPECT_EQ(client.closes, 1);
}

TEST(Stream, AbortDropsQueuedOutputAndResetsPeer) {
  loop l;
  recorder server;
  auto lst = listen_with(l, server);
  recorder client;
  client.on_connect_fn = [&](stream& s) {
    s.write(std::string_view("never sent"));
    s.abort();
    EXPECT_FALSE(s.is_open());
    s.write(std::string_view("ignored"));
    s.abort();
    s.close();
  };
  std::error_code ec;
  ASSERT_TRUE(connect(l, "127.0.0.1", lst->port(), nullptr, {}, &client, ec));
  ASSERT_TRUE(run_until(l, [&] { return server.closes == 1 && client.closes == 1; }));
  EXPECT_EQ(client.close_ec, std::errc::operation_canceled);
  EXPECT_TRUE(server.data.empty());
  EXPECT_TRUE(server.close_ec == std::errc::connection_reset || server.close_ec == errc::eof)
      << server.close_ec.message();
}

TEST(Stream, PeerCloseGivesOnCloseOnceAndCloseFromOnData) {
  loop l;
  recorder server;
  // The server closes as soon as it sees "bye", from inside on_data, after answering.
  server.on_data_fn = [](stream& s, std::span<std::byte> d) {
    if (as_text(d).find("bye") != std::string_view::npos) {
      s.write(std::string_view("ok"));
      s.close();
    }
  };
  auto lst = listen_with(l, server);
  recorder client;
  client.on_connect_fn = [](stream& s) { s.write(std::string_view("bye")); };
  std::error_code ec;
  stream* c = connect(l, "127.0.0.1", lst->port(), nullptr, {}, &client, ec);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(run_until(l, [&] { return client.closes == 1 && server.closes == 1; }));
  EXPECT_EQ(client.data, "ok");
  EXPECT_EQ(client.close_ec, errc::eof);
  EXPECT_FALSE(server.close_ec);
  run_until(l, [] { return false; }, 10ms);
  EXPECT_EQ(client.closes, 1);
  EXPECT_EQ(l.stream_count(), 0u);
}

TEST(Stream, PauseReadingHoldsDataUntilResume) {
  loop l;
  recorder server;
  stream* accepted = nullptr;
  auto lst = listen_with(l, server, &accepted);
  recorder client;
  client.on_connect_fn = [](stream& s) { s.write(std::string_view("one")); };
  std::error_code ec;
  stream* c = connect(l, "127.0.0.1", lst->port(), nullptr, {}, &client, ec);
  ASSERT_TRUE(run_until(l, [&] { return server.data == "one"; }));
  accepted->pause_reading();
  c->write(std::string_view("two"));
  run_until(l, [] { return false; }, 20ms);
  EXPECT_EQ(server.data, "one");
  accepted->resume_reading();
  ASSERT_TRUE(run_until(l, [&] { return server.data == "onetwo"; }));
}

TEST(Stream, ConnectToClosedPortReportsConnectionRefused) {
  loop l;
  std::uint16_t port = 0;
  {
    recorder unused;
    auto lst = listen_with(l, unused);
    port = lst->port();
  }
  recorder client;
  std::error_code ec;
  stream* c = connect(l, "127.0.0.1", port, nullptr, {}, &client, ec);
  ASSERT_NE(c, nullptr) << ec.message();
  EXPECT_EQ(client.closes, 0);  // never reported from inside connect()
  ASSERT_TRUE(run_until(l, [&] { return client.closes == 1; }));
  EXPECT_EQ(client.close_ec, std::errc::connection_refused) << client.close_ec.message();
  EXPECT_EQ(client.connects, 0);
  EXPECT_EQ(l.stats().connect_errors, 1u);
}

TEST(Stream, CloseBeforeConnectCompletesStillSendsQueuedBytes) {
  loop l;
  recorder server;
  auto lst = listen_with(l, server);
  recorder client;
  std::error_code ec;
  stream* c = connect(l, "127.0.0.1", lst->port(), nullptr, {}, &client, ec);
  ASSERT_NE(c, nullptr);
  c->write(std::string_view("queued early"));
  c->close();
  ASSERT_TRUE(run_until(l, [&] { return client.closes == 1 && server.closes == 1; }));
  EXPECT_EQ(client.connects, 0);
  EXPECT_FALSE(client.close_ec) << client.close_ec.message();
  EXPECT_EQ(server.data, "queued early");
}

TEST(Stream, ConnectResolvesNamesAndRejectsUnknownHosts) {
  loop l;
  recorder server;
  auto lst = listen_with(l, server);
  recorder client;
  std::error_code ec;
  ASSERT_TRUE(connect(l, "localhost", lst->port(), nullptr, {}, &client, ec)) << ec.message();
  ASSERT_TRUE(run_until(l, [&] { return client.connects == 1; }));
  EXPECT_EQ(connect(l, "no-such-host.invalid", 1, nullptr, {}, &client, ec), nullptr);
  EXPECT_EQ(ec, errc::resolve_failed);
}

// ---- lingering close (RFC 6455 §7.1.1) ----

// A plain blocking socket, the peer: we need one that misbehaves (keeps sending, never closes)
// and that reports ECONNRESET distinctly from EOF.
struct raw_peer {
  int fd = -1;
  explicit raw_peer(std::uint16_t port) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{5, 0};  // bounded: a broken close must fail the test, not hang it
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) close();
  }
  ~raw_peer() { close(); }
  void close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
  // Non-blocking read of what is there: appends to `got`; returns 0 on EOF, -1 with errno
  // (EAGAIN when nothing yet), or the byte count.
  ssize_t poll_read(std::string& got) {
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) got.append(buf, static_cast<std::size_t>(n));
    return n;
  }
  // After our EOF, reads keep returning 0; an RST instead moves the socket to CLOSED, which
  // poll() reports as POLLHUP/POLLERR. Returns SO_ERROR then (0 if nothing came within 2 s).
  // Linux reports an RST that arrives after the peer's FIN (CLOSE_WAIT) as EPIPE.
  int wait_for_reset() {
    pollfd pfd{fd, 0, 0};
    if (::poll(&pfd, 1, 2000) != 1) return 0;
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    return err;
  }
};

TEST(StreamLinger, PeerStillSendingGetsOurBytesThenEofNotReset) {
  loop_options opts;
  opts.close_linger_read_budget = 64 * 1024;
  loop l(opts);
  const std::string reply = pattern(100);
  recorder server;
  bool closed_by_us = false;
  int data_after_close = 0;
  std::uint64_t turns_at_close = 0, bytes_at_close = 0, turns_lingered = 0;
  server.on_data_fn = [&](stream& s, std::span<std::byte>) {
    if (closed_by_us) ++data_after_close;
    if (closed_by_us) return;
    // First bytes of a big message we "reject": reply and close while the peer keeps sending.
    turns_at_close = l.stats().turns;
    bytes_at_close = l.stats().bytes_in;
    s.write(reply);
    s.close();
    closed_by_us = true;
  };
  auto lst = listen_with(l, server);
  ASSERT_TRUE(lst);

  constexpr std::size_t send_total = 4 * 1024 * 1024;
  std::atomic<bool> peer_done{false}, peer_closed{false};
  std::atomic<ssize_t> sent{0};
  std::atomic<int> read_errno{0};
  std::string received;
  ssize_t last_read = -2;
  std::thread peer([&, port = lst->port()] {
    raw_peer p(port);
    const std::string chunk = pattern(64 * 1024);
    for (std::size_t off = 0; off < send_total;) {
      const ssize_t n = ::send(p.fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
      if (n <= 0) break;  // EPIPE/ECONNRESET: the server reset us, the bug under test
      off += static_cast<std::size_t>(n);
      sent += n;
    }
    char buf[4096];
    for (;;) {
      last_read = ::recv(p.fd, buf, sizeof buf, 0);
      if (last_read <= 0) break;
      received.append(buf, static_cast<std::size_t>(last_read));
    }
    if (last_read < 0) read_errno = errno;
    peer_closed = true;
    p.close();
    peer_done = true;
  });
  bool closed_before_peer = false;
  server.on_close_fn = [&](stream&, std::error_code) {
    closed_before_peer = !peer_closed;
    turns_lingered = l.stats().turns - turns_at_close;
  };
  const bool ok = run_until(l, [&] { return peer_done && server.closes == 1; });
  peer.join();
  ASSERT_TRUE(ok);
  EXPECT_EQ(static_cast<std::size_t>(sent.load()), send_total);
  EXPECT_EQ(last_read, 0) << "peer read error: " << std::strerror(read_errno);
  EXPECT_EQ(received, reply);
  EXPECT_FALSE(server.close_ec) << server.close_ec.message();
  EXPECT_FALSE(closed_before_peer);  // we kept the socket until the peer's EOF
  EXPECT_EQ(data_after_close, 0);    // discarded input never reaches the handler
  EXPECT_EQ(l.stats().bytes_in, send_total);
  // The discard is bounded per turn, so draining the rest took at least this many turns.
  EXPECT_GE(turns_lingered, (send_total - bytes_at_close) / opts.close_linger_read_budget);
  run_until(l, [] { return false; }, 10ms);
  EXPECT_EQ(server.closes, 1);
  EXPECT_EQ(l.stream_count(), 0u);
}

TEST(StreamLinger, PeerThatNeverClosesIsClosedAfterTheLinger) {
  loop_options opts;
  opts.close_linger = 50ms;
  loop l(opts);
  recorder server;
  stream* accepted = nullptr;
  auto lst = listen_with(l, server, &accepted);
  ASSERT_TRUE(lst);
  raw_peer peer(lst->port());
  ASSERT_GE(peer.fd, 0);
  ASSERT_TRUE(run_until(l, [&] { return accepted != nullptr; }));

  accepted->write(std::string_view("bye"));
  accepted->close();
  const auto t0 = std::chrono::steady_clock::now();
  std::string got;
  ssize_t r = -1;
  ASSERT_TRUE(run_until(l, [&] { return (r = peer.poll_read(got)) == 0; }));  // our FIN
  EXPECT_EQ(got, "bye");
  // Still lingering: what the peer sends now is read and dropped, not delivered.
  EXPECT_EQ(::send(peer.fd, "late", 4, MSG_NOSIGNAL), 4);
  EXPECT_EQ(server.closes, 0);
  EXPECT_EQ(l.stream_count(), 1u);
  ASSERT_TRUE(run_until(l, [&] { return server.closes == 1; }, 2s));
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 45ms);  // the deadline is kept in whole milliseconds
  EXPECT_LT(waited, 1s);
  EXPECT_FALSE(server.close_ec) << server.close_ec.message();
  EXPECT_TRUE(server.data.empty());
  EXPECT_EQ(l.stream_count(), 0u);
  // Our fd is closed: data now hits a dead socket and the kernel answers with RST.
  ::send(peer.fd, "gone", 4, MSG_NOSIGNAL);
  const int err = peer.wait_for_reset();
  EXPECT_TRUE(err == EPIPE || err == ECONNRESET) << err;
}

TEST(StreamLinger, AbortDuringLingerClosesAtOnce) {
  loop_options opts;
  opts.close_linger = 10s;
  loop l(opts);
  recorder server;
  stream* accepted = nullptr;
  auto lst = listen_with(l, server, &accepted);
  ASSERT_TRUE(lst);
  raw_peer peer(lst->port());
  ASSERT_GE(peer.fd, 0);
  ASSERT_TRUE(run_until(l, [&] { return accepted != nullptr; }));
  accepted->write(std::string_view("bye"));
  accepted->close();
  std::string got;
  ASSERT_TRUE(run_until(l, [&] { return peer.poll_read(got) == 0; }));  // lingering now
  EXPECT_EQ(got, "bye");
  EXPECT_FALSE(accepted->is_open());
  accepted->close();  // no-op while lingering
  const auto t0 = std::chrono::steady_clock::now();
  accepted->abort();
  accepted->abort();
  ASSERT_TRUE(run_until(l, [&] { return server.closes == 1; }, 2s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(server.close_ec, std::errc::operation_canceled);
  EXPECT_EQ(l.stream_count(), 0u);
  const int err = peer.wait_for_reset();  // abort resets
  EXPECT_TRUE(err == EPIPE || err == ECONNRESET) << err;
  run_until(l, [] { return false; }, 10ms);
  EXPECT_EQ(server.closes, 1);
}

TEST(StreamLinger, ManyLingeringStreamsExpireInOrderAndLoopTeardownIsClean) {
  loop_options opts;
  opts.close_linger = 30ms;
  loop l(opts);
  recorder server;
  std::vector<stream*> accepted;
  std::error_code ec;
  auto lst = listener::open(l, "127.0.0.1", 0, [&](stream& s) {
    s.set_handler(&server);
    accepted.push_back(&s);
  }, ec);
  ASSERT_TRUE(lst);
  std::vector<std::unique_ptr<raw_peer>> peers;
  for (int i = 0; i < 3; ++i) peers.push_back(std::make_unique<raw_peer>(lst->port()));
  ASSERT_TRUE(run_until(l, [&] { return accepted.size() == 3; }));
  std::vector<std::size_t> order;
  server.on_close_fn = [&](stream& s, std::error_code) {
    for (std::size_t i = 0; i < accepted.size(); ++i) {
      if (accepted[i] == &s) order.push_back(i);
    }
  };
  accepted[0]->close();
  run_until(l, [] { return false; }, 10ms);
  accepted[1]->close();
  accepted[2]->close();
  peers[2]->close();  // this one ends early on EOF
  ASSERT_TRUE(run_until(l, [&] { return server.closes == 1; }, 1s));
  EXPECT_EQ(l.stream_count(), 2u);
  ASSERT_TRUE(run_until(l, [&] { return server.closes == 3; }, 2s));
  EXPECT_EQ(l.stream_count(), 0u);
  EXPECT_EQ(order, (std::vector<std::size_t>{2, 0, 1}));
  server.on_close_fn = nullptr;
  // A loop destroyed while streams linger closes them without callbacks (and without leaks).
  raw_peer late(lst->port());
  accepted.clear();
  ASSERT_TRUE(run_until(l, [&] { return accepted.size() == 1; }));
  accepted[0]->close();
  run_until(l, [] { return false; }, 5ms);
  EXPECT_EQ(server.closes, 3);
}

TEST(Listener, RejectsBadAddressAndBusyPortWithoutReusePort) {
  loop l;
  std::error_code ec;
  EXPECT_FALSE(listener::open(l, "not-an-ip", 0, nullptr, ec));
  EXPECT_EQ(ec, errc::invalid_address);
  listen_options no_reuse;
  no_reuse.reuse_port = false;
  auto a = listener::open(l, "127.0.0.1", 0, nullptr, ec, no_reuse);
  ASSERT_TRUE(a);
  EXPECT_FALSE(listener::open(l, "127.0.0.1", a->port(), nullptr, ec, no_reuse));
  EXPECT_EQ(ec, std::errc::address_in_use);
}

TEST(Listener, StreamWithoutHandlerIsAborted) {
  loop l;
  std::error_code ec;
  auto lst = listener::open(l, "127.0.0.1", 0, [](stream&) {}, ec);
  ASSERT_TRUE(lst);
  recorder client;
  ASSERT_TRUE(connect(l, "127.0.0.1", lst->port(), nullptr, {}, &client, ec));
  ASSERT_TRUE(run_until(l, [&] { return client.closes == 1; }));
  EXPECT_TRUE(client.close_ec == std::errc::connection_reset || client.close_ec == errc::eof);
}

}  // namespace
}  // namespace duplex::net
