// http::server_connection over real loopback TCP on one loop: request bodies (Content-Length,
// chunked, over max_body), deferred replies and their ordering with pipelined requests, and
// reply handles that outlive their connection.
#include "http/server_connection.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/connect.h"
#include "net/listener.h"
#include "support/net_test_util.h"

namespace duplex::http {
namespace {

using namespace std::chrono_literals;
using result = route_target::result;

// The client side: everything the server sent, and whether it closed.
struct client_side : net::stream_handler {
  std::string data;
  bool connected = false;
  bool closed = false;
  void on_connect(net::stream&) override { connected = true; }
  void on_data(net::stream&, std::span<std::byte> d) override {
    data.append(reinterpret_cast<const char*>(d.data()), d.size());
  }
  void on_close(net::stream&, std::error_code) override { closed = true; }
};

// A route whose behaviour each test sets; records what it was given.
struct scripted_target : route_target {
  struct seen {
    std::string method, target, rest, body, header;
  };
  std::vector<seen> calls;
  std::function<result(std::string& out, server_connection& conn)> fn;

  result handle(const request_head& req, std::string_view rest, std::string_view body,
                net::stream&, std::string& out, server_connection& conn) override {
    calls.push_back({std::string(req.method_text), std::string(req.target), std::string(rest),
                     std::string(body), std::string(req.fields.find("X-Tag").value_or(""))});
    if (fn) return fn(out, conn);
    out += reply(calls.back().body.empty() ? "ok" : calls.back().body);
    return {result::kind::reply};
  }

  static std::string reply(std::string_view body) {
    return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
           std::string(body);
  }
};

class ServerConnection : public ::testing::Test {
 protected:
  void SetUp() override {
    st_.limits.max_body = 64;
    st_.request_timeout = 5000ms;
    st_.keepalive_timeout = 5000ms;
    st_.targets = {&echo_, &slow_, &fast_};
    st_.routes.add(method::post, "/echo", 0);
    st_.routes.add_prefix(method::post, "/files/", 0);
    st_.routes.add(method::get, "/slow", 1);
    st_.routes.add(method::post, "/slow", 1);
    st_.routes.add(method::get, "/fast", 2);
  }
  void TearDown() override {
    if (cs_ != nullptr && !client_.closed) cs_->abort();
    test::run_until(l_, [&] { return ctx_ == nullptr || ctx_->connections() == 0; }, 2000ms);
  }

  void start() {
    ctx_ = std::make_unique<server_context>(st_);
    std::error_code ec;
    lis_ = net::listener::open(l_, "127.0.0.1", 0, [this](net::stream& s) { ctx_->accept(s); }, ec);
    ASSERT_FALSE(ec) << ec.message();
    cs_ = net::connect(l_, "127.0.0.1", lis_->port(), nullptr, "", &client_, ec);
    ASSERT_NE(cs_, nullptr) << ec.message();
    ASSERT_TRUE(test::run_until(l_, [&] { return client_.connected && ctx_->connections() == 1; }));
  }
  void send(std::string_view bytes) { cs_->write(bytes); }
  // Runs the loop until the client has received `needle` (or the server closed).
  bool received(std::string_view needle, std::chrono::milliseconds t = 3000ms) {
    return test::run_until(
        l_, [&] { return client_.data.find(needle) != std::string::npos || client_.closed; }, t) &&
           client_.data.find(needle) != std::string::npos;
  }
  void settle(std::chrono::milliseconds t = 50ms) {
    test::run_until(l_, [] { return false; }, t);
  }
  bool server_closed() {
    return test::run_until(l_, [&] { return client_.closed; }) && ctx_->connections() == 0;
  }

  client_side client_;  // outlives the loop: the loop may still hold its stream
  net::loop l_;
  site st_;
  scripted_target echo_, slow_, fast_;
  std::unique_ptr<server_context> ctx_;
  net::listener_ptr lis_;
  net::stream* cs_ = nullptr;
};

TEST_F(ServerConnection, ContentLengthBodyArrivingAfterTheHeadReachesTheTarget) {
  start();
  send("POST /echo HTTP/1.1\r\nHost: x\r\nX-Tag: kept\r\nContent-Length: 11\r\n\r\nhello");
  settle();  // the head and part of the body are parsed in an earlier read than the rest
  EXPECT_TRUE(echo_.calls.empty());
  send(" world");
  ASSERT_TRUE(received("hello world"));
  ASSERT_EQ(echo_.calls.size(), 1u);
  EXPECT_EQ(echo_.calls[0].method, "POST");
  EXPECT_EQ(echo_.calls[0].target, "/echo");
  EXPECT_EQ(echo_.calls[0].header, "kept");  // the head was copied before its buffer went
  EXPECT_EQ(echo_.calls[0].body, "hello world");
  // Keep-alive: the connection serves another request.
  send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
  ASSERT_TRUE(received("abc"));
  EXPECT_EQ(echo_.calls.size(), 2u);
}

TEST_F(ServerConnection, ChunkedBodyIsDecodedWholeAndPrefixRestIsKept) {
  start();
  send("POST /files/a/b?q=1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
  settle();
  send("lo\r\n6;ext=1\r\n world\r\n");
  settle();
  EXPECT_TRUE(echo_.calls.empty());
  send("0\r\nTrailer-Field: t\r\n\r\n");
  ASSERT_TRUE(received("hello world"));
  ASSERT_EQ(echo_.calls.size(), 1u);
  EXPECT_EQ(echo_.calls[0].body, "hello world");
  EXPECT_EQ(echo_.calls[0].rest, "a/b");
  EXPECT_EQ(echo_.calls[0].target, "/files/a/b?q=1");
}

TEST_F(ServerConnection, BodyOverMaxBodyIs413AndClosesWithoutCallingTheTarget) {
  start();
  send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 65\r\n\r\n");
  ASSERT_TRUE(received("HTTP/1.1 413 "));
  EXPECT_TRUE(server_closed());
  EXPECT_TRUE(echo_.calls.empty());
}

TEST_F(ServerConnection, ChunkedBodyOverMaxBodyIs413) {
  start();
  send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n" +
       std::string(32, 'a') + "\r\n21\r\n");
  ASSERT_TRUE(received("HTTP/1.1 413 "));
  EXPECT_TRUE(server_closed());
  EXPECT_TRUE(echo_.calls.empty());
}

TEST_F(ServerConnection, UnroutedRequestBodyIsDiscardedAndTheConnectionGoesOn) {
  start();
  send("POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nxxxxx"
       "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok");
  ASSERT_TRUE(received("\r\n\r\nok"));
  EXPECT_EQ(client_.data.rfind("HTTP/1.1 404 ", 0), 0u);
  ASSERT_EQ(echo_.calls.size(), 1u);
  EXPECT_EQ(echo_.calls[0].body, "ok");
}

TEST_F(ServerConnection, ExpectContinueGets100BeforeTheBody) {
  start();
  send("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  ASSERT_TRUE(received("HTTP/1.1 100 Continue\r\n\r\n"));
  send("data");
  ASSERT_TRUE(received("\r\n\r\ndata"));
}

TEST_F(ServerConnection, DeferredReplyIsAnsweredLaterAndTheConnectionIsReused) {
  reply_handle later;
  slow_.fn = [&](std::string&, server_connection& conn) {
    later = conn.defer();
    return result{result::kind::deferred};
  };
  start();
  send("POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
  settle(100ms);
  ASSERT_EQ(slow_.calls.size(), 1u);
  EXPECT_EQ(slow_.calls[0].body, "abc");
  EXPECT_TRUE(client_.data.empty());
  ASSERT_TRUE(later.valid());
  later.send(scripted_target::reply("late"));
  EXPECT_FALSE(later.valid());
  ASSERT_TRUE(received("\r\n\r\nlate"));
  later.send(scripted_target::reply("twice"));  // a second send is ignored
  send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(received("\r\n\r\nok"));
  EXPECT_EQ(client_.data.find("twice"), std::string::npos);
  EXPECT_EQ(ctx_->counters().deferred, 1u);
}

TEST_F(ServerConnection, PipelinedRequestsAfterADeferredOneAreAnsweredInOrder) {
  reply_handle later;
  slow_.fn = [&](std::string&, server_connection& conn) {
    later = conn.defer();
    return result{result::kind::deferred};
  };
  start();
  send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"
       "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n"
       "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nlast");
  settle(100ms);
  EXPECT_TRUE(client_.data.empty());
  EXPECT_TRUE(fast_.calls.empty());  // not even parsed while the reply is outstanding
  send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");  // arrives while waiting: held too
  settle();
  EXPECT_TRUE(fast_.calls.empty());
  later.send(scripted_target::reply("first"));
  ASSERT_TRUE(received("\r\n\r\nlast"));
  ASSERT_TRUE(received("\r\n\r\nlastHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
  const std::size_t first = client_.data.find("first");
  const std::size_t ok = client_.data.find("\r\n\r\nok");
  const std::size_t last = client_.data.find("last");
  ASSERT_NE(first, std::string::npos);
  EXPECT_LT(first, ok);
  EXPECT_LT(ok, last);
  EXPECT_EQ(fast_.calls.size(), 2u);
}

TEST_F(ServerConnection, ManyPipelinedBytesWhileDeferredPauseReadingThenAllAreServed) {
  reply_handle later;
  slow_.fn = [&](std::string&, server_connection& conn) {
    later = conn.defer();
    return result{result::kind::deferred};
  };
  start();
  const std::string one = "GET /fast HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::size_t n = 8000;  // 2 x ~128 KiB: past the held-bytes mark, so reading pauses
  std::string many;
  for (std::size_t i = 0; i < n / 2; ++i) many += one;
  send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  settle();
  send(many);  // held, then reading pauses
  settle();
  send(many);  // stays in the kernel until the reply resumes reading
  settle();
  EXPECT_TRUE(fast_.calls.empty());
  later.send(scripted_target::reply("first"));
  const std::size_t total =
      scripted_target::reply("first").size() + n * scripted_target::reply("ok").size();
  ASSERT_TRUE(test::run_until(l_, [&] { return client_.data.size() >= total || client_.closed; }));
  EXPECT_EQ(fast_.calls.size(), n);
  EXPECT_EQ(client_.data.size(), total);
  EXPECT_EQ(client_.data.find(scripted_target::reply("first")), 0u);
}

TEST_F(ServerConnection, AReplySentDuringHandleGoesOutAndPipeliningContinues) {
  slow_.fn = [&](std::string&, server_connection& conn) {
    conn.defer().send(scripted_target::reply("now"));
    return result{result::kind::deferred};
  };
  start();
  send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(received("\r\n\r\nok"));
  EXPECT_LT(client_.data.find("now"), client_.data.find("\r\n\r\nok"));
}

TEST_F(ServerConnection, DeferredReplyWithCloseAfterClosesTheConnection) {
  reply_handle later;
  slow_.fn = [&](std::string&, server_connection& conn) {
    later = conn.defer();
    return result{result::kind::deferred};
  };
  start();
  send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
  settle();
  later.send(scripted_target::reply("bye"), /*close_after=*/true);
  EXPECT_TRUE(server_closed());
  EXPECT_NE(client_.data.find("bye"), std::string::npos);
  EXPECT_TRUE(fast_.calls.empty());
}

TEST_F(ServerConnection, ConnectionCloseRequestEndsAfterItsDeferredReply) {
  reply_handle later;
  slow_.fn = [&](std::string&, server_connection& conn) {
    later = conn.defer();
    return result{result::kind::deferred};
  };
  start();
  send("GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  settle();
  EXPECT_FALSE(client_.closed);
  later.send(scripted_target::reply("done"));
  EXPECT_TRUE(server_closed());
  EXPECT_NE(client_.data.find("done"), std::string::npos);
}

TEST_F(ServerConnection, HandleOfAConnectionThatClosedIsANoOp) {
  reply_handle later;
  slow_.fn = [&](std::string&, server_connection& conn) {
    later = conn.defer();
    return result{result::kind::deferred};
  };
  start();
  send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(test::run_until(l_, [&] { return !slow_.calls.empty(); }));
  ASSERT_TRUE(later.valid());
  cs_->close();
  ASSERT_TRUE(test::run_until(l_, [&] { return ctx_->connections() == 0; }));
  EXPECT_FALSE(later.valid());
  reply_handle copy = later;
  copy.send(scripted_target::reply("nobody"));  // the connection is gone: nothing happens
  later.send(scripted_target::reply("nobody"));
  reply_handle{}.send("x");  // an empty handle too
  settle();
  EXPECT_EQ(client_.data.find("nobody"), std::string::npos);
}

TEST_F(ServerConnection, RequestTimerDoesNotKillADeferredReplyButTheBoundDoes) {
  st_.request_timeout = 30ms;
  st_.keepalive_timeout = 30ms;
  st_.deferred_timeout = 300ms;
  reply_handle later;
  slow_.fn = [&](std::string&, server_connection& conn) {
    later = conn.defer();
    return result{result::kind::deferred};
  };
  start();
  send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  settle(150ms);  // several request timeouts long
  EXPECT_FALSE(client_.closed);
  EXPECT_TRUE(later.valid());
  ASSERT_TRUE(received("HTTP/1.1 503 ", 3000ms));
  EXPECT_TRUE(server_closed());
  EXPECT_FALSE(later.valid());
}

TEST_F(ServerConnection, OnGoneRunsWhenThePeerLeavesBeforeTheReplyOnlyThen) {
  reply_handle later;
  int gone = 0;
  slow_.fn = [&](std::string&, server_connection& conn) {
    later = conn.defer();
    later.on_gone([&] { ++gone; });
    return result{result::kind::deferred};
  };
  start();
  // Answered: on_gone never runs, even when the connection closes afterwards.
  send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  settle();
  later.send(scripted_target::reply("first"));
  ASSERT_TRUE(received("first"));
  // Unanswered when the peer goes: on_gone runs once, and the handle is dead.
  send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  settle();
  ASSERT_TRUE(later.valid());
  EXPECT_EQ(gone, 0);
  cs_->abort();
  client_.closed = true;
  for (int i = 0; i < 100 && gone == 0; ++i) settle(10ms);
  EXPECT_EQ(gone, 1);
  EXPECT_FALSE(later.valid());
}

TEST_F(ServerConnection, DeferWithoutDeferringCancelsTheHandle) {
  reply_handle kept;
  slow_.fn = [&](std::string& out, server_connection& conn) {
    kept = conn.defer();
    out += scripted_target::reply("direct");
    return result{result::kind::reply};
  };
  start();
  send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(received("direct"));
  EXPECT_FALSE(kept.valid());
  kept.send(scripted_target::reply("stray"));
  send("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(received("\r\n\r\nok"));
  EXPECT_EQ(client_.data.find("stray"), std::string::npos);
}

}  // namespace
}  // namespace duplex::http
