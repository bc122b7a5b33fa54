// Where threads meet in the Centrifugo layer: sessions on two shard threads receive
// publications made from a third thread, while the server API's operations (node::
// disconnect_user) and metric reads (node::total) run from yet another. The suite name ends in
// "Threads" so CI's TSan stage runs it.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "centrifuge/node.h"
#include "centrifuge/session.h"
#include "hub/memory_broker.h"
#include "support/manual_executor.h"

namespace duplex::centrifuge {
namespace {

using namespace std::chrono_literals;

// Counts publication pushes and checks their offsets arrive in order. Loop thread only.
class counting_transport final : public transport {
 public:
  void write_framed(const shared_payload& frame) override {
    std::string_view f = frame.view();
    auto at = f.find("\"offset\":");
    if (at == std::string_view::npos) return;  // join/leave: none in this namespace
    std::uint64_t off = std::stoull(std::string(f.substr(at + 9, 20)));
    if (off != last + 1) out_of_order = true;
    last = off;
    ++pubs;
  }
  void write_message(std::string_view) override {}
  std::size_t buffered() const override { return 0; }
  void close(std::uint32_t code, std::string_view) override { closed = code; }

  std::uint64_t pubs = 0, last = 0;
  bool out_of_order = false;
  std::uint32_t closed = 0;
};

struct client {
  counting_transport t;
  std::shared_ptr<session> s;
};

TEST(CentrifugeThreads, PublicationsFromAnotherThreadReachSessionsOnTwoShardsInOrder) {
  hub::namespace_table namespaces;
  hub::namespace_options o;
  o.subscribe = hub::access::anonymous;
  o.history_size = 10000;
  o.history_ttl = 60s;
  namespaces.set_default(o);
  hub::format_registry registry;
  formats f = node::register_formats(registry);
  hub::memory_broker broker;
  std::array<test::manual_executor, 2> ex;
  std::array<executor*, 2> execs{&ex[0], &ex[1]};
  hub::channel_hub hub(execs, broker, namespaces, registry);
  node_options no;
  no.ping_interval = 0ms;
  no.stale_timeout = 0ms;
  node n(hub, f, nullptr, no);

  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] { ex[i].run_until([&] { return stop.load(); }, 60s); });
  }
  // Runs fn on shard i's thread and waits for it.
  auto on = [&](std::size_t i, std::function<void()> fn) {
    std::promise<void> done;
    ex[i].post([&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  };

  constexpr int per_shard = 40;
  constexpr int publications = 300;
  std::array<std::vector<std::unique_ptr<client>>, 2> clients;
  for (std::size_t i = 0; i < 2; ++i) {
    on(i, [&, i] {
      for (int k = 0; k < per_shard; ++k) {
        auto c = std::make_unique<client>();
        c->s = std::make_shared<session>(n, i, c->t, f.websocket_json);
        c->s->start();
        c->s->on_frame(R"({"id":1,"connect":{}})");
        c->s->on_frame(R"({"id":2,"subscribe":{"channel":"room"}})");
        clients[i].push_back(std::move(c));
      }
    });
  }
  // Wait until every subscribe completed on both shards.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (hub.subscribers("room") < 2 * per_shard && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  ASSERT_EQ(hub.subscribers("room"), 2u * per_shard);

  std::thread api([&] {
    // Server API and metrics from their own thread, during the publications: nobody matches
    // this user (all sessions are anonymous), so nothing is disconnected.
    for (int k = 0; k < 50; ++k) {
      std::promise<std::size_t> affected;
      n.disconnect_user("nobody", "", 3503, "force disconnect", nullptr,
                        [&](std::size_t m) { affected.set_value(m); });
      EXPECT_EQ(affected.get_future().get(), 0u);
      EXPECT_EQ(n.total(&shard_stats::connections), 2u * per_shard);
    }
  });
  std::atomic<int> published{0};
  for (int k = 0; k < publications; ++k) {
    hub::publish_request req;
    req.channel = "room";
    req.data = shared_payload::copy_of(std::to_string(k));
    req.cred = hub::credential::server;
    hub.publish(std::move(req), nullptr, [&](hub::publish_result r) {
      if (r.err == hub::error::ok) published.fetch_add(1);
    });
  }
  api.join();
  EXPECT_EQ(published.load(), publications);

  // Every session got every publication, in offset order.
  const auto deadline2 = std::chrono::steady_clock::now() + 20s;
  for (;;) {
    std::atomic<std::uint64_t> received{0};
    for (std::size_t i = 0; i < 2; ++i) {
      on(i, [&, i] {
        for (auto& c : clients[i]) received += c->t.pubs;
      });
    }
    if (received == 2u * per_shard * publications) break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline2) << "received " << received.load();
    std::this_thread::sleep_for(5ms);
  }
  for (std::size_t i = 0; i < 2; ++i) {
    on(i, [&, i] {
      for (auto& c : clients[i]) {
        EXPECT_FALSE(c->t.out_of_order);
        EXPECT_EQ(c->t.last, static_cast<std::uint64_t>(publications));
        c->s->on_closed();
      }
      clients[i].clear();
    });
  }
  EXPECT_EQ(hub.subscribers("room"), 0u);
  stop = true;
  for (auto& e : ex) e.post([] {});
  for (auto& t : threads) t.join();
  for (auto& e : ex) e.run_pending();
}

}  // namespace
}  // namespace duplex::centrifuge
