// Behaviour of duplex::server and duplex::client over real sockets: backpressure policies and
// the drain event, heartbeats and idle timeouts, the client against the server over ws:// and
// wss://, and client-side failures reported through on_error.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "duplex/client.h"
#include "duplex/server.h"
#include "support/net_test_util.h"
#include "support/raw_peer.h"

namespace duplex {
namespace {

using namespace std::chrono_literals;

// A server on 127.0.0.1:0 running on its own thread for the test's duration.
class running_server {
 public:
  explicit running_server(server_options opt = {}) {
    opt.host = "127.0.0.1";
    opt.port = 0;
    opt.threads = 1;
    srv = std::make_unique<server>(opt);
  }
  void start() {
    ASSERT_FALSE(srv->listen());
    thread = std::thread([this] { srv->run(); });
  }
  ~running_server() {
    srv->stop();
    if (thread.joinable()) thread.join();
  }
  std::unique_ptr<server> srv;
  std::thread thread;
};

std::string upgrade_and_read_head(test::raw_peer& p, std::uint16_t port, std::string_view path) {
  std::string rest;
  EXPECT_EQ(p.upgrade(port, path, rest), 101);
  return rest;
}

// The peer never reads: the server's sends pile up until max_backpressure, then the policy.
TEST(Backpressure, ClosePolicyClosesWith1008AndCounts) {
  running_server rs;
  std::atomic<int> last_status{-1};
  std::atomic<int> queued{0};
  std::atomic<bool> done{false};
  websocket_options ws{.max_backpressure = 1u << 20, .on_backpressure = backpressure_policy::close};
  rs.srv->websocket("/flood", ws, {.on_open = [&](websocket& c) {
    const std::string chunk(256 * 1024, 'x');
    for (int i = 0; i < 400; ++i) {  // at most 100 MiB; the kernel takes a few MiB at most
      send_status s = c.send(chunk, message_type::binary);
      last_status = static_cast<int>(s);
      if (s != send_status::queued) break;
      ++queued;
    }
    done = true;
  }});
  rs.start();
  test::raw_peer p;
  upgrade_and_read_head(p, rs.srv->port(), "/flood");
  // Wait until the server's send loop ended, without reading.
  for (int i = 0; i < 5000 && !done; ++i) std::this_thread::sleep_for(1ms);
  ASSERT_TRUE(done.load());
  EXPECT_EQ(last_status.load(), static_cast<int>(send_status::closed));
  EXPECT_GT(queued.load(), 0);
  p.close();
  rs.srv->stop();
  rs.thread.join();
  EXPECT_EQ(rs.srv->stats().ws.backpressure_closes, 1u);
}

TEST(Backpressure, DropPolicyRefusesThenDrainFiresAndSendingWorksAgain) {
  running_server rs;
  std::atomic<int> dropped{0}, drains{0}, queued_after_drain{0};
  std::atomic<std::size_t> sent_bytes{0};
  websocket_options ws{.max_backpressure = 1u << 20, .on_backpressure = backpressure_policy::drop};
  rs.srv->websocket(
      "/drop", ws,
      {.on_open =
           [&](websocket& c) {
             const std::string chunk(256 * 1024, 'y');
             for (int i = 0; i < 400; ++i) {
               send_status s = c.send(chunk, message_type::binary);
               if (s == send_status::dropped) {
                 ++dropped;
                 break;
               }
               sent_bytes += chunk.size();
             }
           },
       .on_drain =
           [&](websocket& c) {
             if (drains++ == 0 && c.send("after", message_type::text) == send_status::queued)
               ++queued_after_drain;
           }});
  rs.start();
  test::raw_peer p;
  std::string got = upgrade_and_read_head(p, rs.srv->port(), "/drop");
  for (int i = 0; i < 2000 && dropped == 0; ++i) std::this_thread::sleep_for(1ms);
  ASSERT_EQ(dropped.load(), 1);
  // Now read everything: every queued byte arrives (nothing lost), then the drain event's
  // message.
  const std::size_t want = sent_bytes.load();
  std::size_t payload = 0;
  bool saw_after = false;
  for (int round = 0; round < 400 && !saw_after; ++round) {
    got += p.read_at_least(1, 2000ms);
    // Consume whole frames from the front.
    auto frames = test::parse_server_frames(got);
    std::size_t used = 0;
    for (auto& f : frames) {
      std::size_t hdr = f.payload.size() < 126 ? 2 : f.payload.size() <= 0xFFFF ? 4 : 10;
      used += hdr + f.payload.size();
      if (f.opcode() == 0x2) payload += f.payload.size();
      if (f.opcode() == 0x1 && f.payload == "after") saw_after = true;
    }
    got.erase(0, used);
    if (p.peer_closed()) break;
  }
  EXPECT_EQ(payload, want);
  EXPECT_TRUE(saw_after);
  EXPECT_GE(drains.load(), 1);
  EXPECT_EQ(queued_after_drain.load(), 1);
  p.close();
  rs.srv->stop();
  rs.thread.join();
  EXPECT_EQ(rs.srv->stats().ws.backpressure_drops, 1u);
}

TEST(Heartbeat, PingsASilentPeerThenClosesItWith1001) {
  running_server rs;
  websocket_options ws{.ping_interval = 40ms, .idle_timeout = 200ms};
  rs.srv->websocket("/hb", ws, {});
  rs.start();
  test::raw_peer p;
  std::string got = upgrade_and_read_head(p, rs.srv->port(), "/hb");
  auto t0 = std::chrono::steady_clock::now();
  got += p.read_until_close(3000ms);
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_TRUE(p.peer_closed());
  EXPECT_GE(waited, 150ms);  // not before the idle timeout (a bound, not a speed check)
  int pings = 0;
  int close_code = 0;
  for (auto& f : test::parse_server_frames(got)) {
    if (f.opcode() == 0x9) ++pings;
    if (f.opcode() == 0x8 && f.payload.size() >= 2)
      close_code = (static_cast<unsigned char>(f.payload[0]) << 8) | static_cast<unsigned char>(f.payload[1]);
  }
  EXPECT_GE(pings, 1);
  EXPECT_EQ(close_code, 1001);
}

TEST(Heartbeat, APeerThatAnswersPingsStaysConnected) {
  running_server rs;
  websocket_options ws{.ping_interval = 30ms, .idle_timeout = 100ms};
  std::atomic<int> closes{0};
  rs.srv->websocket("/hb", ws, {.on_close = [&](websocket&, std::uint16_t, std::string_view) { ++closes; }});
  rs.start();
  int pongs = 0;
  client c;
  client_options co;
  co.ws.ping_interval = 0ms;
  co.ws.idle_timeout = 0ms;
  c.connect("ws://127.0.0.1:" + std::to_string(rs.srv->port()) + "/hb", co,
            // Our client answers each ping automatically; 10 pings span 3 idle timeouts.
            {.on_ping =
                 [&](websocket& w, std::string_view) {
                   if (++pongs == 10) w.close(1000, "done");
                 }});
  c.run();
  EXPECT_GE(pongs, 10);
  // The server's on_close runs once its lingering close sees our EOF, on its own thread.
  for (int i = 0; i < 2000 && closes == 0; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(closes.load(), 1);  // closed by us after 10 pings, never by the idle timeout
}

void round_trip(bool tls) {
  test::self_signed_cert cert;
  server_options opt;
  if (tls) {
    cert = test::make_self_signed_cert("localhost");
    ASSERT_FALSE(cert.cert_file.empty());
    opt.tls_cert_file = cert.cert_file;
    opt.tls_key_file = cert.key_file;
  }
  {
    running_server rs(opt);
    rs.srv->websocket("/echo", {.max_message_size = 8u << 20, .permessage_deflate = true},
                      {.on_message = [](websocket& w, std::string_view m, message_type t) { w.send(m, t); }});
    rs.start();
    client c;
    client_options co;
    co.ws.permessage_deflate = true;
    co.ws.max_message_size = 8u << 20;
    if (tls) co.ca_file = cert.cert_file;
    std::vector<std::string> sent = {"hello", std::string(70000, 'z'), std::string(3u << 20, 'q'), ""};
    std::size_t got = 0;
    std::string extensions;
    std::uint16_t close_code = 0;
    c.connect(std::string(tls ? "wss" : "ws") + "://localhost:" + std::to_string(rs.srv->port()) + "/echo", co,
              {.on_open =
                   [&](websocket& w) {
                     extensions = w.extensions();
                     for (auto& m : sent) w.send(m, message_type::binary);
                   },
               .on_message =
                   [&](websocket& w, std::string_view m, message_type t) {
                     EXPECT_EQ(t, message_type::binary);
                     EXPECT_EQ(m, sent.at(got));
                     if (++got == sent.size()) w.close(1000, "bye");
                   },
               .on_close = [&](websocket&, std::uint16_t code, std::string_view) { close_code = code; }},
              [](std::error_code ec, std::string_view why) { ADD_FAILURE() << ec.message() << ": " << why; });
    c.run();
    EXPECT_EQ(got, sent.size());
    EXPECT_EQ(close_code, 1000);
    EXPECT_NE(extensions.find("permessage-deflate"), std::string::npos);
    EXPECT_GT(c.stats().compressed_frames_out, 0u);
  }
  if (tls) test::remove_cert(cert);
}

TEST(Client, RoundTripsWithOurServerOverWs) { round_trip(false); }
TEST(Client, RoundTripsWithOurServerOverWss) { round_trip(true); }

TEST(Client, ReportsRefusedConnectionsAndRefusedHandshakes) {
  running_server rs;
  rs.srv->websocket("/only-here", {}, {});
  rs.start();
  const std::string base = "ws://127.0.0.1:" + std::to_string(rs.srv->port());
  std::vector<std::string> errors;
  client c;
  auto record = [&](std::error_code ec, std::string_view why) { errors.push_back(std::string(why)); };
  bool opened = false;
  websocket_handlers h{.on_open = [&](websocket&) { opened = true; }};
  c.connect(base + "/elsewhere", {}, h, record);   // 404: not a WebSocket endpoint
  c.connect("ws://127.0.0.1:1/", {}, h, record);     // nothing listens on port 1
  c.connect("http://127.0.0.1/", {}, h, record);     // not a ws URL
  c.run();
  EXPECT_FALSE(opened);
  ASSERT_EQ(errors.size(), 3u);
  bool saw_404 = false;
  for (auto& e : errors) saw_404 = saw_404 || e.find("404") != std::string::npos;
  EXPECT_TRUE(saw_404);
}

TEST(Client, WssRefusesAnUntrustedCertificate) {
  auto cert = test::make_self_signed_cert("localhost");
  ASSERT_FALSE(cert.cert_file.empty());
  server_options opt;
  opt.tls_cert_file = cert.cert_file;
  opt.tls_key_file = cert.key_file;
  {
    running_server rs(opt);
    rs.srv->websocket("/", {}, {});
    rs.start();
    client c;
    client_options co;  // verify_peer with the system CAs: our self-signed cert is unknown
    int errors = 0;
    c.connect("wss://localhost:" + std::to_string(rs.srv->port()) + "/", co,
              {.on_open = [](websocket&) { ADD_FAILURE() << "opened"; }},
              [&](std::error_code, std::string_view) { ++errors; });
    c.run();
    EXPECT_EQ(errors, 1);
  }
  test::remove_cert(cert);
}

}  // namespace
}  // namespace duplex

namespace duplex {
namespace {

// Where threads meet (run under TSan by CI: suites named *Threads): two loop threads serve
// clients driven from the test thread while stop() comes from a third thread; every client
// sees an orderly 1001 close, and the stats read after run() are complete.
TEST(ServerThreads, StopFromAnotherThreadClosesEveryClientWith1001) {
  server srv({.host = "127.0.0.1", .port = 0, .threads = 2});
  std::atomic<int> opened{0};
  srv.websocket("/echo", {}, {.on_open = [&](websocket&) { ++opened; },
                              .on_message = [](websocket& w, std::string_view m, message_type t) {
                                w.send(m, t);
                              }});
  ASSERT_FALSE(srv.listen());
  std::thread runner([&] { srv.run(); });
  constexpr int kClients = 8;
  std::vector<std::uint16_t> codes;
  std::thread stopper;
  client c;
  int echoes = 0;
  for (int i = 0; i < kClients; ++i) {
    c.connect("ws://127.0.0.1:" + std::to_string(srv.port()) + "/echo", {},
              {.on_open = [](websocket& w) { w.send("ping"); },
               .on_message =
                   [&](websocket& w, std::string_view, message_type) {
                     // Once every client got one echo, stop the server from another thread.
                     if (++echoes == kClients) stopper = std::thread([&] { srv.stop(); });
                   },
               .on_close = [&](websocket&, std::uint16_t code, std::string_view) { codes.push_back(code); }});
  }
  c.run();
  if (stopper.joinable()) stopper.join();
  runner.join();
  EXPECT_EQ(echoes, kClients);
  ASSERT_EQ(codes.size(), static_cast<std::size_t>(kClients));
  for (auto code : codes) EXPECT_EQ(code, 1001);
  EXPECT_EQ(opened.load(), kClients);
  EXPECT_EQ(srv.stats().connections, static_cast<std::uint64_t>(kClients));
  EXPECT_EQ(srv.stats().ws.messages_in, static_cast<std::uint64_t>(kClients));
}

}  // namespace
}  // namespace duplex
