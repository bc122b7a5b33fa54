// node_bus against a real redis-server: two nodes, each a loop thread with a broker and a bus.
#include "redis/node_bus.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "redis/envelope.h"
#include "redis/redis_test_util.h"

namespace duplex::redis {
namespace {

using namespace std::chrono_literals;
using test::redis_server;

// A node: loop thread, bus, broker (the broker's node-message hook feeds the bus).
class bus_node {
 public:
  bus_node(std::uint16_t port, std::string id) : bus_(loop_, id) {
    bus_.serve("echo", [](std::string session, std::string body, node_bus::responder r) {
      r(bus_response{200, "text/plain", session + ":" + body});
    });
    bus_.serve("elsewhere", [](std::string session, std::string, node_bus::responder r) {
      // Answered from another thread, as an owner loop thread would.
      std::thread([r = std::move(r), session] { r(bus_response{204, "", session}); }).detach();
    });
    bus_.serve("silent", [](std::string, std::string, node_bus::responder) {});
    redis_broker_options o;
    o.where.host = "127.0.0.1";
    o.where.port = port;
    o.node_id = std::move(id);
    o.reconnect_min = 20ms;
    o.reconnect_max = 100ms;
    o.on_node_message = [b = &bus_](std::string_view payload) { b->on_message(payload); };
    broker_ = std::make_unique<redis_broker>(loop_, o);
    bus_.attach(*broker_);
    thread_ = std::thread([this] { loop_.run(); });
  }
  ~bus_node() {
    loop_.post([this] {
      bus_.shutdown();
      broker_->shutdown();
      loop_.stop();
    });
    thread_.join();
  }
  bool wait_connected() {
    for (int i = 0; i < 200 && !broker_->connected(); ++i) std::this_thread::sleep_for(10ms);
    return broker_->connected();
  }
  bus_response ask(std::string node, std::string service, std::string session, std::string body,
                   std::chrono::milliseconds timeout = 2s) {
    auto p = std::make_shared<std::promise<bus_response>>();
    auto f = p->get_future();
    bus_.request(std::move(node), std::move(service), std::move(session), std::move(body),
                 timeout, nullptr, [p](bus_response r) { p->set_value(std::move(r)); });
    if (f.wait_for(timeout + 3s) != std::future_status::ready) {
      ADD_FAILURE() << "no answer at all (the bus must always answer)";
      return {};
    }
    return f.get();
  }
  node_bus& bus() { return bus_; }

 private:
  net::loop loop_;
  node_bus bus_;
  std::unique_ptr<redis_broker> broker_;
  std::thread thread_;
};

class NodeBus : public ::testing::Test {
 protected:
  void SetUp() override {
    DUPLEX_REQUIRE_REDIS_SERVER();
    std::string why;
    ASSERT_TRUE(redis_.start(0, &why)) << why;
    a_ = std::make_unique<bus_node>(redis_.port(), "nodeA");
    b_ = std::make_unique<bus_node>(redis_.port(), "nodeB");
    ASSERT_TRUE(a_->wait_connected());
    ASSERT_TRUE(b_->wait_connected());
  }
  redis_server redis_;
  std::unique_ptr<bus_node> a_, b_;
};

TEST_F(NodeBus, RequestIsAnsweredByTheOwner) {
  const bus_response r = a_->ask("nodeB", "echo", "sess1", "hello");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/plain");
  EXPECT_EQ(r.body, "sess1:hello");
  const bus_response back = b_->ask("nodeA", "echo", "s2", std::string(100000, 'x'));
  EXPECT_EQ(back.status, 200);
  EXPECT_EQ(back.body.size(), 3 + 100000u);
  const bus_response other = a_->ask("nodeB", "elsewhere", "s3", "");
  EXPECT_EQ(other.status, 204);
  EXPECT_EQ(other.body, "s3");
  EXPECT_EQ(b_->bus().stats().requests_served, 2u);
  EXPECT_EQ(a_->bus().stats().unanswered, 0u);
}

TEST_F(NodeBus, NoOwnerOrNoAnswerIsStatusZeroNeverAHang) {
  // No node listens there: PUBLISH reaches nobody, the answer comes at once.
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(a_->ask("nodeGone", "echo", "s", "x", 5s).status, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  // The owner never answers, or has no such service: the timeout answers.
  EXPECT_EQ(a_->ask("nodeB", "silent", "s", "x", 200ms).status, 0);
  EXPECT_EQ(a_->ask("nodeB", "nosuchservice", "s", "x", 200ms).status, 0);
  EXPECT_EQ(a_->bus().stats().unanswered, 3u);
  EXPECT_GE(b_->bus().stats().dropped, 1u);  // the unknown service
  // Still works afterwards.
  EXPECT_EQ(a_->ask("nodeB", "echo", "s", "x").status, 200);
}

TEST_F(NodeBus, MalformedAndForgedMessagesAreDropped) {
  const auto before = b_->bus().stats().dropped;
  redis_.command({"PUBLISH", "duplex:n:nodeB", "garbage"});
  forwarded f;
  f.id = 12345;  // nobody waits for it
  f.status = 200;
  redis_.command({"PUBLISH", "duplex:n:nodeB", encode_response(f)});
  redis_.command({"PUBLISH", "duplex:n:nodeB", "D1f5:nodeA1:71:"});  // truncated request
  for (int i = 0; i < 100 && b_->bus().stats().dropped < before + 3; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(b_->bus().stats().dropped, before + 3);
  EXPECT_EQ(a_->ask("nodeB", "echo", "s", "ok").body, "s:ok");
}

TEST_F(NodeBus, RedisDownAnswersAtOnce) {
  redis_.stop();
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(a_->ask("nodeB", "echo", "s", "x", 5s).status, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

}  // namespace
}  // namespace duplex::redis
