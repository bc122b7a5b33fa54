// The server's answer to each malformed handshake and frame: one table row per violation with
// the exact HTTP status or WebSocket close code expected (RFC 6455 §4.2.1, §5, §7.4; RFC 7692;
// RFC 9112 limits). Runs a real duplex::server on 127.0.0.1 and raw sockets as the peer.
#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <thread>

#include "duplex/server.h"
#include "support/raw_peer.h"

namespace duplex {
namespace {

using namespace std::chrono_literals;
using test::close_payload;
using test::raw_peer;
using test::ws_frame;
using test::ws_frame_fin;

constexpr std::uint8_t kCont = 0x0, kText = 0x1, kBinary = 0x2, kClose = 0x8, kPing = 0x9;

class server_fixture : public ::testing::Test {
 protected:
  void SetUp() override {
    server_options opt{.host = "127.0.0.1", .port = 0, .threads = 1};
    opt.max_request_line = 1024;
    opt.max_header_bytes = 4096;
    opt.max_headers = 32;
    opt.max_body = 1024;
    opt.request_timeout = 300ms;
    opt.keepalive_timeout = 200ms;  // a 404/405 keeps the connection: end the read soon
    srv_ = std::make_unique<server>(opt);
    websocket_options ws{.max_message_size = 64 * 1024, .max_fragments = 16,
                         .permessage_deflate = true};
    auto echo = websocket_handlers{
        .on_message = [](websocket& c, std::string_view m, message_type t) { c.send(m, t); }};
    srv_->websocket("/echo", ws, echo);
    websocket_options strict = ws;
    strict.allowed_origins = {"https://good.example"};
    srv_->websocket("/origin", strict, echo);
    ASSERT_FALSE(srv_->listen());
    thread_ = std::thread([this] { srv_->run(); });
  }
  void TearDown() override {
    srv_->stop();
    thread_.join();
  }
  std::uint16_t port() const { return srv_->port(); }

  // Sends raw bytes on a fresh connection and returns everything until close.
  std::string exchange(std::string_view bytes, std::chrono::milliseconds t = 3000ms) {
    raw_peer p;
    EXPECT_TRUE(p.connect("127.0.0.1", port()));
    p.send(bytes);
    return p.read_until_close(t);
  }

  // Upgrades, sends frames, and returns the close code of the server's close frame (0 if the
  // server closed without one, -1 if it did not close at all).
  int close_code_after(std::string_view frames, std::string_view extra_headers = {}) {
    raw_peer p;
    std::string rest;
    EXPECT_EQ(p.upgrade(port(), "/echo", rest, extra_headers), 101);
    p.send(frames);
    rest += p.read_until_close(3000ms);
    if (!p.peer_closed()) return -1;
    for (const auto& f : test::parse_server_frames(rest)) {
      if (f.opcode() == kClose) {
        if (f.payload.size() < 2) return 1005;
        return (static_cast<unsigned char>(f.payload[0]) << 8) | static_cast<unsigned char>(f.payload[1]);
      }
    }
    return 0;
  }

  std::unique_ptr<server> srv_;
  std::thread thread_;
};

struct handshake_case {
  const char* name;
  std::string request;
  int status;
};

std::string req(std::string_view line, std::string_view headers) {
  return std::string(line) + "\r\n" + std::string(headers) + "\r\n";
}
constexpr const char* kGoodHeaders =
    "Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

TEST_F(server_fixture, MalformedHandshakesGetTheRightStatus) {
  const std::string key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  const std::string up = "Upgrade: websocket\r\nConnection: Upgrade\r\n";
  const handshake_case cases[] = {
      {"POST instead of GET", req("POST /echo HTTP/1.1", std::string(kGoodHeaders) + "Content-Length: 0\r\n"), 405},
      {"HTTP/1.0", req("GET /echo HTTP/1.0", kGoodHeaders), 400},
      {"no Host", req("GET /echo HTTP/1.1", up + key + "Sec-WebSocket-Version: 13\r\n"), 400},
      {"no Upgrade header", req("GET /echo HTTP/1.1", "Host: x\r\nConnection: Upgrade\r\n" + key + "Sec-WebSocket-Version: 13\r\n"), 400},
      {"Upgrade: h2c", req("GET /echo HTTP/1.1", "Host: x\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n" + key + "Sec-WebSocket-Version: 13\r\n"), 400},
      {"Connection without upgrade", req("GET /echo HTTP/1.1", "Host: x\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n" + key + "Sec-WebSocket-Version: 13\r\n"), 400},
      {"no key", req("GET /echo HTTP/1.1", "Host: x\r\n" + up + "Sec-WebSocket-Version: 13\r\n"), 400},
      {"key not base64", req("GET /echo HTTP/1.1", "Host: x\r\n" + up + "Sec-WebSocket-Key: !!!!not-base64!!!!!!!==\r\nSec-WebSocket-Version: 13\r\n"), 400},
      {"key of 15 bytes", req("GET /echo HTTP/1.1", "Host: x\r\n" + up + "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\nSec-WebSocket-Version: 13\r\n"), 400},
      {"version 8", req("GET /echo HTTP/1.1", "Host: x\r\n" + up + key + "Sec-WebSocket-Version: 8\r\n"), 426},
      {"origin not allowed", req("GET /origin HTTP/1.1", std::string(kGoodHeaders) + "Origin: https://evil.example\r\n"), 403},
      {"request line too long", req("GET /" + std::string(2000, 'a') + " HTTP/1.1", kGoodHeaders), 414},
      {"headers too large", req("GET /echo HTTP/1.1", std::string(kGoodHeaders) + "X-Big: " + std::string(5000, 'b') + "\r\n"), 431},
      {"too many headers", [] { std::string h = kGoodHeaders; for (int i = 0; i < 40; ++i) h += "X-" + std::to_string(i) + ": 1\r\n"; return req("GET /echo HTTP/1.1", h); }(), 431},
      {"HTTP/2.0", req("GET /echo HTTP/2.0", kGoodHeaders), 505},
      {"garbage request line", req("HELLO", kGoodHeaders), 400},
      {"body too large", req("POST /echo HTTP/1.1", "Host: x\r\nContent-Length: 100000\r\n"), 413},
      {"unknown path", req("GET /nope HTTP/1.1", kGoodHeaders), 404},
      {"Content-Length with chunked", req("POST /echo HTTP/1.1", "Host: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n"), 400},
      {"space before colon", req("GET /echo HTTP/1.1", std::string(kGoodHeaders) + "Bad : x\r\n"), 400},
  };
  for (const auto& c : cases) {
    std::string resp = exchange(c.request);
    EXPECT_EQ(test::http_status(resp), c.status) << c.name << "\n" << resp.substr(0, 200);
    // Parse errors and refused handshakes end the connection; a 404/405 from the router
    // leaves a healthy keep-alive connection open (closed here by the idle timeout).
    if (c.status >= 400 && c.status != 404 && c.status != 405) {
      EXPECT_NE(resp.find("onnection: close"), std::string::npos) << c.name;
    }
    if (c.status == 426) {
      EXPECT_NE(resp.find("Sec-WebSocket-Version: 13"), std::string::npos) << c.name;
    }
  }
}

TEST_F(server_fixture, IncompleteRequestTimesOutWith408) {
  raw_peer p;
  ASSERT_TRUE(p.connect("127.0.0.1", port()));
  p.send("GET /echo HTTP/1.1\r\nHost: x\r\n");
  std::string resp = p.read_until_close(3000ms);
  EXPECT_EQ(test::http_status(resp), 408) << resp;
  EXPECT_TRUE(p.peer_closed());
}

struct frame_case {
  const char* name;
  std::string frames;
  int close_code;
};

std::string deflate_raw(std::string_view in) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY);
  std::string out(in.size() / 2 + 1024, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_SYNC_FLUSH);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  out.resize(out.size() - 4);  // RFC 7692 §7.2.1: drop 00 00 ff ff
  return out;
}

TEST_F(server_fixture, ProtocolViolationsGetTheRightCloseCode) {
  const std::string bad_utf8 = "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80";
  const frame_case cases[] = {
      {"unmasked client frame", ws_frame_fin(kText, "hi", false), 1002},
      {"RSV1 without extension", ws_frame(0x80 | 0x40 | kText, "hi"), 1002},
      {"RSV2 set", ws_frame(0x80 | 0x20 | kText, "hi"), 1002},
      {"RSV3 set", ws_frame(0x80 | 0x10 | kText, "hi"), 1002},
      {"reserved opcode 3", ws_frame_fin(0x3, ""), 1002},
      {"reserved opcode 7", ws_frame_fin(0x7, ""), 1002},
      {"reserved control opcode 0xB", ws_frame_fin(0xB, ""), 1002},
      {"reserved control opcode 0xF", ws_frame_fin(0xF, ""), 1002},
      {"ping of 126 bytes", ws_frame_fin(kPing, std::string(126, 'p')), 1002},
      {"fragmented ping", ws_frame(kPing, "a"), 1002},
      {"continuation without start", ws_frame_fin(kCont, "x"), 1002},
      {"text inside a fragmented message", ws_frame(kText, "a") + ws_frame_fin(kText, "b"), 1002},
      {"invalid UTF-8 text", ws_frame_fin(kText, bad_utf8), 1007},
      {"invalid UTF-8 mid-fragment", ws_frame(kText, "ok") + ws_frame(kCont, "\xff") , 1007},
      {"close payload of 1 byte", ws_frame_fin(kClose, "\x03"), 1002},
      {"close code 999", ws_frame_fin(kClose, close_payload(999)), 1002},
      {"close code 1004", ws_frame_fin(kClose, close_payload(1004)), 1002},
      {"close code 1005", ws_frame_fin(kClose, close_payload(1005)), 1002},
      {"close code 1006", ws_frame_fin(kClose, close_payload(1006)), 1002},
      {"close code 1015", ws_frame_fin(kClose, close_payload(1015)), 1002},
      {"close code 1016", ws_frame_fin(kClose, close_payload(1016)), 1002},
      {"close code 2999", ws_frame_fin(kClose, close_payload(2999)), 1002},
      {"close code 5000", ws_frame_fin(kClose, close_payload(5000)), 1002},
      {"close reason not UTF-8", ws_frame_fin(kClose, close_payload(1000, "\xff\xfe")), 1007},
      {"message over max size", ws_frame(0x80 | kBinary, "", true, 1u << 20), 1009},
      {"64-bit length with top bit", ws_frame(0x80 | kBinary, "", true, 0x8000000000000000ull), 1002},
      // A fragment flood is a policy violation (1008), not a size problem.
      {"too many fragments", [] { std::string f = ws_frame(kBinary, "a"); for (int i = 0; i < 40; ++i) f += ws_frame(kCont, "a"); return f + ws_frame_fin(kCont, "a"); }(), 1008},
      {"valid close 1000 is echoed", ws_frame_fin(kClose, close_payload(1000, "bye")), 1000},
      {"valid close 3000 is echoed", ws_frame_fin(kClose, close_payload(3000)), 3000},
      {"valid close 4999 is echoed", ws_frame_fin(kClose, close_payload(4999)), 4999},
      {"empty close answered with empty close", ws_frame_fin(kClose, ""), 1005},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(close_code_after(c.frames), c.close_code) << c.name;
  }
}

TEST_F(server_fixture, DeflateViolationsGetTheRightCloseCode) {
  const std::string pmd = "Sec-WebSocket-Extensions: permessage-deflate\r\n";
  // 1 MiB of zeros compresses to ~1 KiB: inflating it must stop at max_message_size (1009).
  std::string bomb = deflate_raw(std::string(1u << 20, '\0'));
  EXPECT_EQ(close_code_after(ws_frame(0x80 | 0x40 | kBinary, bomb), pmd), 1009);
  // RSV1 on a continuation frame (RFC 7692 §6.1) and on a control frame (RFC 6455 §5.5).
  EXPECT_EQ(close_code_after(ws_frame(0x40 | kText, deflate_raw("a")) +
                                 ws_frame(0x80 | 0x40 | kCont, deflate_raw("b")),
                             pmd),
            1002);
  EXPECT_EQ(close_code_after(ws_frame(0x80 | 0x40 | kPing, ""), pmd), 1002);
  // Compressed text that inflates to invalid UTF-8.
  EXPECT_EQ(close_code_after(ws_frame(0x80 | 0x40 | kText, deflate_raw("\xc0\xaf")), pmd), 1007);
  // Garbage that is not a deflate stream: invalid payload data, as Node ws answers it.
  EXPECT_EQ(close_code_after(ws_frame(0x80 | 0x40 | kBinary, "\xff\xff\xff\xff"), pmd), 1007);
}

TEST_F(server_fixture, EchoesAfterAGoodHandshake) {
  raw_peer p;
  ASSERT_TRUE(p.connect("127.0.0.1", port()));
  p.send(test::upgrade_request("/echo"));
  std::string resp = p.read_at_least(1, 2000ms);
  ASSERT_EQ(test::http_status(resp), 101);
  // RFC 6455 §1.3's sample key and accept value.
  EXPECT_NE(resp.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), std::string::npos);
  p.send(ws_frame(kText, "hel") + ws_frame_fin(kPing, "p!") + ws_frame_fin(kCont, "lo"));
  std::string got = resp.substr(resp.find("\r\n\r\n") + 4);
  while (test::parse_server_frames(got).size() < 2 && !p.peer_closed())
    got += p.read_at_least(1, 2000ms);
  auto frames = test::parse_server_frames(got);
  ASSERT_GE(frames.size(), 2u);
  EXPECT_EQ(frames[0].opcode(), 0xA);  // the pong comes first: it was answered mid-message
  EXPECT_EQ(frames[0].payload, "p!");
  EXPECT_EQ(frames[1].opcode(), kText);
  EXPECT_EQ(frames[1].payload, "hello");
}

}  // namespace
}  // namespace duplex
