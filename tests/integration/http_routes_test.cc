// duplex::server's HTTP route API over real sockets: bodies, replies made now and later (from a
// task posted to the handler's loop), header lookup, 404/405, HEAD and reply validation; the
// loops started by prepare() before listen(), and the graceful stop (on_stop, the endpoint's
// shutdown close code). Raw sockets are the client, so every byte on the wire is checked.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <future>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "base/executor.h"
#include "duplex/server.h"
#include "support/raw_peer.h"

namespace duplex {
namespace {

using namespace std::chrono_literals;
using test::raw_peer;

// One request on a fresh connection (the caller adds "Connection: close" to make the server
// end it); returns everything the server sent.
std::string exchange(std::uint16_t port, std::string_view request) {
  raw_peer p;
  EXPECT_TRUE(p.connect("127.0.0.1", port));
  p.send(request);
  return p.read_until_close(3000ms);
}

// Splits a single response into head and body (by Content-Length, or all that follows).
struct response {
  int status = 0;
  std::string head, body;
  bool has(std::string_view field_line) const {
    return head.find(std::string("\r\n") + std::string(field_line) + "\r\n") != std::string::npos;
  }
};
response parse(std::string_view bytes) {
  response r;
  r.status = test::http_status(bytes);
  const std::size_t end = bytes.find("\r\n\r\n");
  if (end == std::string_view::npos) return r;
  r.head = std::string(bytes.substr(0, end + 2));
  r.body = std::string(bytes.substr(end + 4));
  return r;
}

class HttpRoutes : public ::testing::Test {
 protected:
  void SetUp() override {
    server_options opt{.host = "127.0.0.1", .port = 0, .threads = 2};
    opt.max_body = 1024;
    srv_ = std::make_unique<server>(opt);
  }
  void start() {
    ASSERT_FALSE(srv_->listen());
    runner_ = std::thread([this] {
      run_thread_ = std::this_thread::get_id();
      srv_->run();
    });
  }
  void TearDown() override {
    srv_->stop();
    if (runner_.joinable()) runner_.join();
  }
  std::uint16_t port() const { return srv_->port(); }

  std::unique_ptr<server> srv_;
  std::thread runner_;
  std::thread::id run_thread_;
};

TEST_F(HttpRoutes, PostBodyIsAnsweredSynchronouslyWithExtraHeaders) {
  srv_->route("POST", "/api/echo", [](const http_request& req, http_responder respond) {
    respond({.status = 201,
             .content_type = "application/json",
             .body = "{\"got\":\"" + std::string(req.body) + "\",\"q\":\"" +
                     std::string(req.query) + "\",\"path\":\"" + std::string(req.path) + "\"}",
             .headers = {{"X-Echo", std::string(req.method)}, {"Content-Length", "999"}}});
  });
  start();
  const response r = parse(exchange(
      port(), "POST /api/echo?x=1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n"
              "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"));
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, "{\"got\":\"abcde\",\"q\":\"x=1\",\"path\":\"/api/echo\"}");
  EXPECT_TRUE(r.has("X-Echo: POST"));
  EXPECT_TRUE(r.has("Content-Type: application/json"));
  EXPECT_TRUE(r.has("Content-Length: " + std::to_string(r.body.size())));  // not the 999
  EXPECT_FALSE(r.has("Content-Length: 999"));
}

TEST_F(HttpRoutes, HandlerAnswersLaterFromAPostedTaskAndPipelinedRepliesStayInOrder) {
  std::atomic<std::size_t> index_seen{SIZE_MAX};
  srv_->route("GET", "/later", [&](const http_request&, http_responder respond) {
    const std::size_t i = server::current_thread_index();
    index_seen = i;
    // Answer from a later loop turn; the request's views are gone by then.
    srv_->thread_executor(i).post([respond, i] {
      EXPECT_TRUE(respond.valid());
      respond({.body = "later from " + std::to_string(i)});
      EXPECT_FALSE(respond.valid());
      respond({.body = "ignored"});  // a second answer does nothing
    });
  });
  srv_->route("GET", "/now", [](const http_request&, http_responder respond) {
    respond({.body = "now"});
  });
  start();
  const std::string out = exchange(port(),
                                   "GET /later HTTP/1.1\r\nHost: h\r\n\r\n"
                                   "GET /now HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
  ASSERT_LT(index_seen.load(), srv_->threads());
  const std::size_t later = out.find("later from " + std::to_string(index_seen.load()));
  const std::size_t now = out.find("\r\n\r\nnow");
  ASSERT_NE(later, std::string::npos) << out;
  ASSERT_NE(now, std::string::npos) << out;
  EXPECT_LT(later, now);
  EXPECT_EQ(out.find("ignored"), std::string::npos);
}

TEST_F(HttpRoutes, HeaderLookupIsCaseInsensitiveAndRemoteAddressIsKnown) {
  srv_->route("GET", "/hdr", [](const http_request& req, http_responder respond) {
    const auto v = req.header("x-custom");
    const auto missing = req.header("X-Missing");
    const std::string addr = req.remote_address();
    respond({.body = std::string(v.value_or("none")) + "|" +
                     std::string(missing.value_or("none")) + "|" +
                     (addr.rfind("127.0.0.1:", 0) == 0 ? "local" : addr)});
  });
  start();
  const response r = parse(
      exchange(port(), "GET /hdr HTTP/1.1\r\nHost: h\r\nX-CUSTOM:  v1 \r\nx-custom: v2\r\n"
                       "Connection: close\r\n\r\n"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "v1|none|local");
}

TEST_F(HttpRoutes, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  srv_->route("POST", "/api/publish", [](const http_request&, http_responder r) { r({}); });
  srv_->route("DELETE", "/api/publish", [](const http_request&, http_responder r) { r({}); });
  srv_->get("/health", [](std::string_view) { return http_reply{.body = "ok"}; });
  start();
  EXPECT_EQ(parse(exchange(port(), "GET /nope HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"))
                .status,
            404);
  const response r = parse(
      exchange(port(), "GET /api/publish HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(r.status, 405);
  EXPECT_TRUE(r.has("Allow: POST, DELETE") || r.has("Allow: DELETE, POST")) << r.head;
  // get() still works, and HEAD falls back to it without a body.
  EXPECT_EQ(parse(exchange(port(), "GET /health HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"))
                .body,
            "ok");
  const response h =
      parse(exchange(port(), "HEAD /health HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(h.status, 200);
  EXPECT_TRUE(h.has("Content-Length: 2"));
  EXPECT_EQ(h.body, "");
}

TEST_F(HttpRoutes, HeadOnARouteGetsTheLengthButNoBody) {
  srv_->route("GET", "/doc", [](const http_request& req, http_responder r) {
    r({.body = "document:" + std::string(req.method)});
  });
  start();
  const response h =
      parse(exchange(port(), "HEAD /doc HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(h.status, 200);
  EXPECT_TRUE(h.has("Content-Length: 13"));  // "document:HEAD"
  EXPECT_EQ(h.body, "");
}

TEST_F(HttpRoutes, BodyOverMaxBodyIs413) {
  bool called = false;
  srv_->route("POST", "/api/x", [&](const http_request&, http_responder r) {
    called = true;
    r({});
  });
  start();
  EXPECT_EQ(parse(exchange(port(), "POST /api/x HTTP/1.1\r\nHost: h\r\nContent-Length: 1025\r\n\r\n"))
                .status,
            413);
  EXPECT_FALSE(called);
}

TEST_F(HttpRoutes, BadRepliesThrowsAndForgottenRespondersBecome500) {
  srv_->route("GET", "/split", [](const http_request&, http_responder r) {
    r({.headers = {{"X-Bad", "a\r\nSet-Cookie: evil=1"}}});
  });
  srv_->route("GET", "/status", [](const http_request&, http_responder r) { r({.status = 101}); });
  srv_->route("GET", "/throw", [](const http_request&, http_responder) {
    throw std::runtime_error("handler bug");
  });
  srv_->route("GET", "/forget", [](const http_request&, http_responder) {});
  srv_->route("GET", "/empty", [](const http_request&, http_responder r) {
    r({.status = 204, .content_type = "", .body = "dropped"});
  });
  start();
  for (const char* path : {"/split", "/status", "/throw", "/forget"}) {
    const std::string out = exchange(
        port(), "GET " + std::string(path) + " HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(test::http_status(out), 500) << path;
    EXPECT_EQ(out.find("evil"), std::string::npos) << path;
  }
  const response e =
      parse(exchange(port(), "GET /empty HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(e.status, 204);
  EXPECT_EQ(e.head.find("Content-Length"), std::string::npos);
  EXPECT_EQ(e.head.find("Content-Type"), std::string::npos);
  EXPECT_EQ(e.body, "");
}

TEST_F(HttpRoutes, UnknownMethodNameIsRefusedAtSetUp) {
  auto noop = [](const http_request&, http_responder) {};
  EXPECT_THROW(srv_->route("BREW", "/pot", noop), std::invalid_argument);
  EXPECT_THROW(srv_->route("get", "/lower", noop), std::invalid_argument);  // case-sensitive
  EXPECT_THROW(srv_->route("CONNECT", "/c", noop), std::invalid_argument);
}

TEST_F(HttpRoutes, PreparedLoopsRunTasksBeforeListenAndKnowTheirIndex) {
  EXPECT_EQ(srv_->threads(), 0u);
  ASSERT_FALSE(srv_->prepare());
  ASSERT_FALSE(srv_->prepare());  // idempotent
  ASSERT_EQ(srv_->threads(), 2u);
  EXPECT_EQ(server::current_thread_index(), SIZE_MAX);  // the test thread is no loop
  for (std::size_t i = 0; i < srv_->threads(); ++i) {
    std::promise<std::size_t> seen;
    executor& ex = srv_->thread_executor(i);
    EXPECT_FALSE(ex.in_thread());
    ex.post([&] { seen.set_value(server::current_thread_index()); });
    auto f = seen.get_future();
    ASSERT_EQ(f.wait_for(3s), std::future_status::ready);
    EXPECT_EQ(f.get(), i);
  }
  // Routes added after prepare() and before listen() are served.
  std::atomic<std::size_t> handler_index{SIZE_MAX};
  srv_->route("GET", "/where", [&](const http_request&, http_responder r) {
    handler_index = server::current_thread_index();
    r({.body = std::to_string(handler_index.load())});
  });
  start();
  const response r =
      parse(exchange(port(), "GET /where HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(r.status, 200);
  ASSERT_LT(handler_index.load(), 2u);
  EXPECT_EQ(r.body, std::to_string(handler_index.load()));
}

TEST_F(HttpRoutes, StopRunsOnStopThenClosesWebSocketsWithTheEndpointsCode) {
  std::atomic<int> stops{0};
  std::atomic<bool> stop_on_run_thread{false};
  std::atomic<int> closes_seen_by_on_stop{-1};
  std::atomic<int> ws_closes{0};
  websocket_options custom;
  custom.shutdown_close_code = 4001;
  custom.shutdown_close_reason = "maintenance";
  srv_->websocket("/custom", custom, {.on_close = [&](websocket&, std::uint16_t, std::string_view) {
                    ++ws_closes;
                  }});
  srv_->websocket("/default", {}, {});
  srv_->on_stop([&] {
    ++stops;
    stop_on_run_thread = std::this_thread::get_id() == run_thread_;
    closes_seen_by_on_stop = ws_closes.load();
  });
  start();
  raw_peer a, b;
  std::string rest_a, rest_b;
  ASSERT_EQ(a.upgrade(port(), "/custom", rest_a), 101);
  ASSERT_EQ(b.upgrade(port(), "/default", rest_b), 101);
  std::thread stopper([this] { srv_->stop(); });
  // Each close frame: 2 header bytes, the code, the reason. Then answer it, as a client does.
  rest_a += a.read_at_least(4 + std::string_view("maintenance").size() - rest_a.size(), 3000ms);
  rest_b += b.read_at_least(4 + std::string_view("server shutting down").size() - rest_b.size(),
                            3000ms);
  a.send(test::ws_frame_fin(0x8, test::close_payload(4001)));
  b.send(test::ws_frame_fin(0x8, test::close_payload(1001)));
  a.close();  // the server's lingering close ends at our EOF
  b.close();
  stopper.join();
  auto close_of = [](const std::string& bytes) -> std::pair<int, std::string> {
    for (const auto& f : test::parse_server_frames(bytes)) {
      if (f.opcode() == 0x8 && f.payload.size() >= 2) {
        return {(static_cast<unsigned char>(f.payload[0]) << 8) |
                    static_cast<unsigned char>(f.payload[1]),
                f.payload.substr(2)};
      }
    }
    return {0, ""};
  };
  EXPECT_EQ(close_of(rest_a), (std::pair<int, std::string>{4001, "maintenance"}));
  EXPECT_EQ(close_of(rest_b), (std::pair<int, std::string>{1001, "server shutting down"}));
  runner_.join();
  EXPECT_EQ(stops.load(), 1);
  EXPECT_TRUE(stop_on_run_thread.load());
  EXPECT_EQ(closes_seen_by_on_stop.load(), 0);  // on_stop ran before the connections closed
  srv_->stop();  // again: nothing more
  EXPECT_EQ(stops.load(), 1);
}

TEST_F(HttpRoutes, WebSocketAndGetShareAPathAndTheUpgradeCheckMayRefuse) {
  std::atomic<int> opened{0};
  srv_->websocket("/both", {}, {.on_open = [&](websocket&) { ++opened; }},
                  [](const http_request& req) -> std::optional<http_reply> {
                    if (req.query == "sid=bad") {
                      return http_reply{.status = 400, .content_type = "application/json",
                                        .body = "{\"code\":1}"};
                    }
                    return std::nullopt;
                  });
  srv_->route("GET", "/both", [](const http_request& req, http_responder respond) {
    respond({.body = "plain " + std::string(req.query)});
  });
  start();
  // Without Upgrade: the route.
  const response r = parse(exchange(port(), "GET /both?a=1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "plain a=1");
  // With Upgrade: the endpoint, unless the check refuses.
  raw_peer ok;
  std::string rest;
  ASSERT_EQ(ok.upgrade(port(), "/both?sid=good", rest), 101);
  raw_peer refused;
  EXPECT_EQ(refused.upgrade(port(), "/both?sid=bad", rest), 400);
  for (int i = 0; i < 100 && opened.load() < 1; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(opened.load(), 1);
}

}  // namespace
}  // namespace duplex
