// Where threads meet in the Socket.IO server: sockets on two loop threads receive broadcasts
// made from a non-loop thread and from each other's loop threads at the same time; polling
// requests of one session arrive on new connections (so on either loop thread) and are handed
// to the owner; stats are read from outside. Raw sockets are the clients, so no client library
// adds threads of its own. The suite name ends in "Threads" so CI's TSan stage runs it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "duplex/server.h"
#include "duplex/socketio.h"
#include "support/raw_peer.h"

namespace duplex::io {
namespace {

using namespace std::chrono_literals;
using test::raw_peer;

// Counts text frames whose payload contains `needle` in everything read so far.
std::size_t count_frames(const std::string& bytes, std::string_view needle) {
  std::size_t n = 0;
  for (const auto& f : test::parse_server_frames(bytes)) {
    if (f.opcode() == 0x1 && f.payload.find(needle) != std::string::npos) ++n;
  }
  return n;
}

// One HTTP request on a new connection; returns the response body ("" on failure).
std::string http(std::uint16_t port, const std::string& method, const std::string& target,
                 const std::string& body = {}) {
  raw_peer p;
  if (!p.connect("127.0.0.1", port)) return {};
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  if (!body.empty() || method == "POST") req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  p.send(req);
  const std::string resp = p.read_until_close(3000ms);
  const std::size_t end = resp.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : resp.substr(end + 4);
}

TEST(SioThreads, BroadcastsFromEveryThreadAndPollingAcrossThreads) {
  duplex::server_options so{.host = "127.0.0.1", .port = 0, .threads = 2};
  duplex::server srv(so);
  io::server io(srv);
  std::atomic<int> connections{0};
  io.of("/").on_connection([&](socket& s) {
    ++connections;
    s.join("all");
    // A relay broadcasts from the socket's loop thread while other threads do the same.
    s.on("relay", [](socket& s, const json& args, ack_fn ack) {
      s.ns().to("all").emit("relayed", args);
      if (ack) ack({true});
    });
  });
  ASSERT_FALSE(srv.listen());
  std::thread runner([&] { srv.run(); });

  constexpr int kPeers = 8;
  constexpr int kBroadcasts = 20;
  std::vector<std::unique_ptr<raw_peer>> peers;
  std::vector<std::string> got(kPeers);
  for (int i = 0; i < kPeers; ++i) {
    auto p = std::make_unique<raw_peer>();
    ASSERT_EQ(p->upgrade(srv.port(), "/socket.io/?EIO=4&transport=websocket", got[i]), 101);
    if (count_frames(got[i], "\"sid\"") == 0) got[i] += p->read_at_least(1, 3000ms);  // open packet
    ASSERT_EQ(count_frames(got[i], "\"sid\""), 1u) << got[i];
    p->send(test::ws_frame_fin(0x1, "40"));
    peers.push_back(std::move(p));
  }
  for (int i = 0; i < 200 && connections.load() < kPeers; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(connections.load(), kPeers);
  for (int i = 0; i < kPeers; ++i) {
    while (count_frames(got[i], "40{") == 0 && !peers[i]->peer_closed()) {
      got[i] += peers[i]->read_at_least(1, 3000ms);  // 40{"sid":...}
    }
  }

  // Broadcasts from this (non-loop) thread, while every peer asks its loop to relay one.
  std::thread outside([&] {
    for (int k = 0; k < kBroadcasts; ++k) io.of("/").to("all").emit("hello", json::array({k}));
  });
  for (int i = 0; i < kPeers; ++i) {
    peers[i]->send(test::ws_frame_fin(0x1, "421[\"relay\"," + std::to_string(i) + "]"));
  }
  outside.join();
  // Each peer gets every broadcast and every relay.
  for (int i = 0; i < kPeers; ++i) {
    for (int round = 0; round < 100; ++round) {
      if (count_frames(got[i], "\"hello\"") == kBroadcasts &&
          count_frames(got[i], "\"relayed\"") == static_cast<std::size_t>(kPeers)) {
        break;
      }
      got[i] += peers[i]->read_at_least(1, 50ms);
    }
    EXPECT_EQ(count_frames(got[i], "\"hello\""), static_cast<std::size_t>(kBroadcasts)) << i;
    EXPECT_EQ(count_frames(got[i], "\"relayed\""), static_cast<std::size_t>(kPeers)) << i;
  }

  // Polling: every request on a new connection, so on either loop thread.
  const std::string base = "/socket.io/?EIO=4&transport=polling";
  const std::string open = http(srv.port(), "GET", base);
  ASSERT_EQ(open.rfind("0{", 0), 0u) << open;
  const std::string sid = nlohmann::json::parse(open.substr(1))["sid"].get<std::string>();
  const std::string with_sid = base + "&sid=" + sid;
  EXPECT_EQ(http(srv.port(), "POST", with_sid, "40"), "ok");
  std::string polled = http(srv.port(), "GET", with_sid);  // 40{"sid":...}
  EXPECT_EQ(polled.rfind("40{", 0), 0u) << polled;
  for (int k = 0; k < 10; ++k) {
    EXPECT_EQ(http(srv.port(), "POST", with_sid, "42" + std::to_string(k) + "[\"relay\",\"p\"]"), "ok");
    std::string reply;
    // The ack (43k[true]) and the relayed broadcast may come in one payload or two.
    for (int tries = 0; tries < 4 && reply.find("43" + std::to_string(k) + "[true]") == std::string::npos; ++tries) {
      reply += http(srv.port(), "GET", with_sid);
    }
    EXPECT_NE(reply.find("43" + std::to_string(k) + "[true]"), std::string::npos) << reply;
    const server_stats st = io.stats();
    EXPECT_EQ(st.sockets, static_cast<std::size_t>(kPeers + 1));
  }

  // Every session ends before the stop (tasks posted after the loops stop never run, so
  // a session still open then is not freed: see the note in engine.h).
  EXPECT_EQ(http(srv.port(), "POST", with_sid, "1"), "ok");  // Engine.IO close
  peers.clear();  // raw peers would not answer the server's close frames
  for (int i = 0; i < 300 && (io.stats().connections != 0 || io.stats().sockets != 0); ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(io.stats().connections, 0u);
  EXPECT_EQ(io.stats().sockets, 0u);
  std::this_thread::sleep_for(50ms);  // the posted frees run
  srv.stop();
  runner.join();
}

}  // namespace
}  // namespace duplex::io
