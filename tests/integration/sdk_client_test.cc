// duplex::sdk::client against a real duplex server (service::app in-process, 127.0.0.1 port
// 0) behind the fault-injecting proxy (sdk_fault_proxy.h): reconnect with growing jittered
// delays, recovery with every publication exactly once and in order, heartbeat loss, server
// restart, commands, several endpoints, bounded publish buffer, calls from several threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <future>
#include <mutex>
#include <random>
#include <thread>

#include "duplex/centrifuge_client.h"
#include "sdk_fault_proxy.h"
#include "server/app.h"
#include "server/jwt.h"

namespace duplex::sdk {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// One duplex server on a thread.
struct test_server {
  explicit test_server(std::uint16_t port = 0, std::string token_secret = "") {
    service::config cfg;
    if (!token_secret.empty()) {
      cfg.auth.token_hmac_secret = token_secret;
      cfg.auth.allow_anonymous = false;
    }
    cfg.listen.host = "127.0.0.1";
    cfg.listen.port = port;
    cfg.listen.threads = 1;
    cfg.client.ping_interval = 1000ms;  // the protocol sends ping in whole seconds
    cfg.client.pong_timeout = 500ms;
    cfg.channel.default_options.history_size = 1000;
    cfg.log.level = log::level::warn;
    cfg.shutdown_timeout = 1000ms;
    app = std::make_unique<service::app>(cfg, "");
    std::string why;
    auto ec = app->start(why);
    EXPECT_FALSE(ec) << why;
    thread = std::thread([this] { app->run(); });
  }
  ~test_server() { stop(); }
  void stop() {
    if (!app) return;
    app->stop();
    thread.join();
    app.reset();
  }
  std::uint16_t port() const { return app->port(); }
  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port()) + "/connection/websocket"; }

  std::unique_ptr<service::app> app;
  std::thread thread;
};

// Events recorded from the client's loop thread, waited for from the test thread.
struct recorder {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> data;  // publications received, in order
  std::vector<subscribed_event> subscribed;
  std::vector<std::pair<clock_type::time_point, state_event>> connecting;
  int connected = 0;
  std::vector<state_event> disconnected;

  template <class Pred>
  bool wait(Pred p, std::chrono::milliseconds limit = 10s) {
    std::unique_lock l(mu);
    return cv.wait_for(l, limit, [&] { return p(); });
  }
  void attach(client& c, subscription* s) {
    c.on_connecting([this](const state_event& e) {
      std::lock_guard l(mu);
      connecting.emplace_back(clock_type::now(), e);
      cv.notify_all();
    });
    c.on_connected([this](const connected_event&) {
      std::lock_guard l(mu);
      ++connected;
      cv.notify_all();
    });
    c.on_disconnected([this](const state_event& e) {
      std::lock_guard l(mu);
      disconnected.push_back(e);
      cv.notify_all();
    });
    if (!s) return;
    s->on_publication([this](const publication& p) {
      std::lock_guard l(mu);
      data.push_back(p.data);
      cv.notify_all();
    });
    s->on_subscribed([this](const subscribed_event& e) {
      std::lock_guard l(mu);
      subscribed.push_back(e);
      cv.notify_all();
    });
  }
};

client_config fast_config(std::vector<std::string> endpoints) {
  client_config c;
  c.endpoints = std::move(endpoints);
  c.min_reconnect_delay = 50ms;
  c.max_reconnect_delay = 800ms;
  c.timeout = 2000ms;
  c.max_server_ping_delay = 500ms;
  c.stable_connection = 3000ms;
  return c;
}

// Publishes "n" for n in [from, to) and waits for every ack (each publish is acknowledged by
// the server after it reached the hub, so order on the channel is the call order).
void publish_range(client& pub, const std::string& channel, int from, int to,
                   std::function<void(int)> before = {}) {
  for (int i = from; i < to; ++i) {
    if (before) before(i);
    std::promise<bool> done;
    pub.publish(channel, std::to_string(i), [&](result<empty> r) { done.set_value(!r.err); });
    auto f = done.get_future();
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready) << "publish " << i;
    ASSERT_TRUE(f.get()) << "publish " << i;
  }
}

void expect_exactly_once_in_order(recorder& r, int n) {
  ASSERT_TRUE(r.wait([&] { return r.data.size() >= static_cast<std::size_t>(n); }, 15s))
      << "received " << r.data.size();
  std::this_thread::sleep_for(100ms);  // a duplicate would arrive now
  std::lock_guard l(r.mu);
  ASSERT_EQ(r.data.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) ASSERT_EQ(r.data[static_cast<std::size_t>(i)], std::to_string(i));
}

TEST(SdkClient, CutsRefusalsAndDelaysRecoverEveryPublicationOnceInOrder) {
  recorder rec;  // outlives the clients: their close() still fires events
  test_server srv;
  test::fault_proxy proxy(srv.port());
  client sub_client(fast_config({proxy.url()}));
  auto sub = sub_client.new_subscription("news");
  rec.attach(sub_client, sub.get());
  sub->subscribe();
  sub_client.connect();
  ASSERT_TRUE(rec.wait([&] { return rec.subscribed.size() == 1; }));

  auto pub_cfg = fast_config({srv.url()});
  pub_cfg.max_buffered_publishes = 10;  // publishes before the first connect completes wait
  client pub_client(pub_cfg);
  pub_client.connect();
    std::size_t connecting_before_refuse = 0;
  // Each fault waits for the client to be back from the previous one, so that every fault
  // hits a live subscription; publishing goes on meanwhile (those are recovered).
  auto resubscribed = [&](std::size_t n) {
    ASSERT_TRUE(rec.wait([&] { return rec.subscribed.size() >= n; })) << "resubscription " << n;
  };
  publish_range(pub_client, "news", 0, 200, [&](int i) {
    std::this_thread::sleep_for(2ms);
    if (i == 40) proxy.cut_all();
    if (i == 80) {
      resubscribed(2);
      // The server is unreachable for a while: attempts fail, delays grow.
      std::lock_guard l(rec.mu);
      connecting_before_refuse = rec.connecting.size();
      proxy.set_refuse(true);
      proxy.cut_all();
    }
    if (i == 120) {
      ASSERT_TRUE(rec.wait([&] { return rec.connecting.size() >= connecting_before_refuse + 6; }));
      proxy.set_refuse(false);
    }
    if (i == 150) {
      resubscribed(3);
      proxy.set_delay(20ms);
    }
    if (i == 170) proxy.cut_all();
    if (i == 190) {
      resubscribed(4);
      proxy.set_delay(0ms);
    }
  });
  expect_exactly_once_in_order(rec, 200);

  std::lock_guard l(rec.mu);
  // Every resubscription recovered (no gap): same server, history kept.
  ASSERT_GE(rec.subscribed.size(), 4u);
  for (std::size_t i = 1; i < rec.subscribed.size(); ++i) {
    EXPECT_TRUE(rec.subscribed[i].was_recovering) << i;
    EXPECT_TRUE(rec.subscribed[i].recovered) << i;
  }
  // Delays during the refusal: attempt n waits in [min, min(max, min * 2^n)] (plus the time a
  // refused attempt takes); with full jitter they are not monotonic, but the ranges grow.
  std::vector<double> gaps;
  for (std::size_t i = connecting_before_refuse + 1; i < rec.connecting.size() && gaps.size() < 5; ++i) {
    gaps.push_back(std::chrono::duration<double, std::milli>(rec.connecting[i].first -
                                                             rec.connecting[i - 1].first).count());
  }
  ASSERT_EQ(gaps.size(), 5u);
  // The cut at 40 used attempt 0 (the backoff resets only after 3 s of stable connection), so
  // the refusal's gaps are attempts 1..5: ceilings 100, 200, 400, 800, 800 ms.
  const double ceilings[] = {100, 200, 400, 800, 800};
  for (std::size_t n = 0; n < gaps.size(); ++n) {
    EXPECT_GE(gaps[n], 45.0) << "attempt " << n;
    EXPECT_LE(gaps[n], ceilings[n] + 150.0) << "attempt " << n;  // slack: connect + scheduling
  }
  EXPECT_GT(*std::max_element(gaps.begin() + 2, gaps.end()), 110.0)
      << "later attempts should draw from wider ranges";
}

TEST(SdkClient, HeartbeatLossIsDetectedWithinPingIntervalPlusDelay) {
  recorder rec;  // outlives the clients: their close() still fires events
  test_server srv;
  test::fault_proxy proxy(srv.port());
  client c(fast_config({proxy.url()}));
  auto sub = c.new_subscription("hb");
  rec.attach(c, sub.get());
  sub->subscribe();
  c.connect();
  ASSERT_TRUE(rec.wait([&] { return rec.subscribed.size() == 1; }));
  // Wait for a ping so the timer is armed from a known point, then stall the link.
  ASSERT_TRUE(rec.wait([&] { return c.stats().pings >= 1; }, 3s));
  std::size_t before;
  {
    std::lock_guard l(rec.mu);
    before = rec.connecting.size();
  }
  const auto stalled = clock_type::now();
  proxy.set_stall(true);
  ASSERT_TRUE(rec.wait([&] { return rec.connecting.size() > before; }, 5s));
  const auto detected = [&] {
    std::lock_guard l(rec.mu);
    EXPECT_EQ(rec.connecting[before].second.code, 2u) << rec.connecting[before].second.reason;
    return rec.connecting[before].first;
  }();
  // Bound: ping interval (1 s) + max_server_ping_delay (0.5 s) since the last ping, which came
  // at most one interval before the stall; plus slack.
  EXPECT_LE(detected - stalled, 1500ms + 400ms);
  EXPECT_GE(c.stats().heartbeat_losses, 1u);
  proxy.set_stall(false);
  proxy.cut_all();  // the stalled sockets
  ASSERT_TRUE(rec.wait([&] { return rec.subscribed.size() == 2; }));
  auto pub_cfg = fast_config({srv.url()});
  pub_cfg.max_buffered_publishes = 10;
  client pub(pub_cfg);
  pub.connect();
  publish_range(pub, "hb", 0, 3);
  expect_exactly_once_in_order(rec, 3);
}

TEST(SdkClient, ServerRestartReconnectsAndReportsTheGap) {
  recorder rec;  // outlives the clients: their close() still fires events
  auto srv = std::make_unique<test_server>();
  test::fault_proxy proxy(srv->port());
  client c(fast_config({proxy.url()}));
  auto sub = c.new_subscription("news");
  rec.attach(c, sub.get());
  sub->subscribe();
  c.connect();
  ASSERT_TRUE(rec.wait([&] { return rec.subscribed.size() == 1; }));
  auto pub_cfg = fast_config({proxy.url()});
  pub_cfg.max_buffered_publishes = 100;
  client pub(pub_cfg);
  pub.connect();
  publish_range(pub, "news", 0, 100);
  ASSERT_TRUE(rec.wait([&] { return rec.data.size() == 100; }));

  srv->stop();  // clients get 3001 "shutdown" and reconnect
  srv = std::make_unique<test_server>();
  proxy.set_target(srv->port());
  // The memory broker lost its history: the epoch changed, so the client must report a gap.
  ASSERT_TRUE(rec.wait([&] { return rec.subscribed.size() == 2; }));
  {
    std::lock_guard l(rec.mu);
    EXPECT_TRUE(has_gap(rec.subscribed[1]));
    ASSERT_FALSE(rec.connecting.empty());
    EXPECT_EQ(rec.connecting.back().second.code, 3001u) << rec.connecting.back().second.reason;
  }
  publish_range(pub, "news", 100, 200);
  expect_exactly_once_in_order(rec, 200);
}

TEST(SdkClient, CommandsEndpointsAndPublishBuffer) {
  recorder rec;  // outlives the clients: their close() still fires events
  test_server srv;
  // The first endpoint has nothing listening: the client moves on to the next one.
  test::fault_proxy dead(1);
  dead.set_refuse(true);
  auto cfg = fast_config({dead.url(), srv.url()});
  cfg.max_buffered_publishes = 2;
  client c(cfg);
  auto sub = c.new_subscription("cmd");
  EXPECT_EQ(sub, c.get_subscription("cmd"));
  rec.attach(c, sub.get());
  std::promise<connected_event> connected;
  c.on_connected([&](const connected_event& e) { connected.set_value(e); });  // replaces rec's

  // Not connected yet: two publishes are buffered, the third is refused.
  std::promise<result<empty>> p1, p3;
  c.publish("cmd", "1", [&](result<empty> r) { p1.set_value(r); });
  c.publish("cmd", "2");
  c.publish("cmd", "3", [&](result<empty> r) { p3.set_value(r); });
  c.publish("cmd", "not json", [](result<empty> r) { EXPECT_TRUE(r.err); });
  auto f3 = p3.get_future();
  ASSERT_EQ(f3.wait_for(2s), std::future_status::ready);
  ASSERT_TRUE(f3.get().err);
  sub->subscribe();
  c.connect();
  auto ce = connected.get_future();
  ASSERT_EQ(ce.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(ce.get().endpoint, srv.url());
  auto f1 = p1.get_future();
  ASSERT_EQ(f1.wait_for(5s), std::future_status::ready);
  EXPECT_FALSE(f1.get().err);
  // The buffered publications are sent after the resubscription, so the subscriber sees them.
  ASSERT_TRUE(rec.wait([&] { return rec.data.size() == 2; }));

  std::promise<result<std::vector<presence_entry>>> pres;
  sub->presence([&](auto r) { pres.set_value(std::move(r)); });
  auto pr = pres.get_future().get();
  ASSERT_FALSE(pr.err) << pr.err->message;
  EXPECT_EQ(pr.value.size(), 1u);
  std::promise<result<presence_stats>> ps;
  c.presence_stats("cmd", [&](auto r) { ps.set_value(r); });
  auto psr = ps.get_future().get();
  ASSERT_FALSE(psr.err);
  EXPECT_EQ(psr.value.num_clients, 1u);
  std::promise<result<history_result>> hist;
  sub->history({.limit = 10}, [&](auto r) { hist.set_value(std::move(r)); });
  auto hr = hist.get_future().get();
  ASSERT_FALSE(hr.err);
  ASSERT_EQ(hr.value.publications.size(), 2u);
  EXPECT_EQ(hr.value.publications[1].data, "2");
  EXPECT_EQ(hr.value.offset, 2u);
  EXPECT_EQ(sub->offset(), 2u);
  EXPECT_EQ(sub->epoch(), hr.value.epoch);
  {
    // A position saved by the application: the first subscribe recovers from it.
    recorder rec3;
    client c3(fast_config({srv.url()}));
    auto s3 = c3.new_subscription("cmd", {.since_offset = 1, .since_epoch = hr.value.epoch});
    rec3.attach(c3, s3.get());
    s3->subscribe();
    c3.connect();
    ASSERT_TRUE(rec3.wait([&] { return rec3.data.size() == 1 && rec3.subscribed.size() == 1; }));
    std::lock_guard l(rec3.mu);
    EXPECT_EQ(rec3.data[0], "2");
    EXPECT_TRUE(rec3.subscribed[0].was_recovering);
    EXPECT_TRUE(rec3.subscribed[0].recovered);
  }
  std::promise<result<std::string>> rpc;
  c.rpc("nope", "{}", [&](auto r) { rpc.set_value(r); });
  auto rr = rpc.get_future().get();
  ASSERT_TRUE(rr.err);
  EXPECT_EQ(rr.err->code, 104u);  // method not found: duplex has no RPC handler

  std::promise<unsubscribed_event> unsub;
  sub->on_unsubscribed([&](const unsubscribed_event& e) { unsub.set_value(e); });
  sub->unsubscribe();
  EXPECT_EQ(unsub.get_future().get().code, 0u);
  EXPECT_EQ(sub->state(), subscription_state::unsubscribed);
  c.disconnect();
  ASSERT_TRUE(rec.wait([&] { return !rec.disconnected.empty(); }));
  EXPECT_EQ(c.state(), client_state::disconnected);
  std::promise<result<presence_stats>> after;
  c.presence_stats("cmd", [&](auto r) { after.set_value(r); });
  EXPECT_TRUE(after.get_future().get().err);
}

TEST(SdkClient, ExpiredTokenIsRefreshedThroughGetToken) {
  recorder rec;
  test_server srv(0, "sdk-secret");
  const auto exp = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count() + 3600;
  std::atomic<int> asked{0};
  auto cfg = fast_config({srv.url()});
  cfg.token = service::make_hs256_token(R"({"sub":"u1","exp":1})", "sdk-secret");
  cfg.get_token = [&]() -> std::optional<std::string> {
    ++asked;
    return service::make_hs256_token(R"({"sub":"u1","exp":)" + std::to_string(exp) + "}", "sdk-secret");
  };
  client c(cfg);
  rec.attach(c, nullptr);
  std::promise<sdk::error> err;
  std::once_flag once;
  c.on_error([&](const sdk::error& e) { std::call_once(once, [&] { err.set_value(e); }); });
  c.connect();
  ASSERT_TRUE(rec.wait([&] { return rec.connected == 1; }));
  EXPECT_EQ(err.get_future().get().code, 109u);
  EXPECT_EQ(asked.load(), 1);

  // No token to be had: the client stops with 3500 instead of retrying forever.
  auto cfg2 = fast_config({srv.url()});
  cfg2.token = cfg.token;
  cfg2.get_token = [] { return std::optional<std::string>(); };
  recorder rec2;
  client c2(cfg2);
  rec2.attach(c2, nullptr);
  c2.connect();
  ASSERT_TRUE(rec2.wait([&] { return !rec2.disconnected.empty(); }));
  EXPECT_EQ(rec2.disconnected[0].code, 3500u);
  EXPECT_EQ(c2.state(), client_state::disconnected);
}

TEST(SdkClient, ServerSideSubscriptionRecoversThroughTheConnectCommand) {
  recorder rec;
  test_server srv(0, "sdk-secret");
  test::fault_proxy proxy(srv.port());
  const auto exp = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count() + 3600;
  const std::string claims = R"({"sub":"u1","exp":)" + std::to_string(exp);
  auto cfg = fast_config({proxy.url()});
  cfg.token = service::make_hs256_token(claims + R"(,"channels":["srv"]})", "sdk-secret");
  client c(cfg);
  rec.attach(c, nullptr);
  c.on_publication([&](const publication& p) {
    std::lock_guard l(rec.mu);
    rec.data.push_back(p.data);
    rec.cv.notify_all();
  });
  c.on_subscribed([&](const subscribed_event& e) {
    std::lock_guard l(rec.mu);
    rec.subscribed.push_back(e);
    rec.cv.notify_all();
  });
  c.connect();
  ASSERT_TRUE(rec.wait([&] { return rec.subscribed.size() == 1; }));
  auto pub_cfg = fast_config({srv.url()});
  pub_cfg.token = service::make_hs256_token(claims + "}", "sdk-secret");
  pub_cfg.max_buffered_publishes = 10;
  client pub(pub_cfg);
  pub.connect();
  publish_range(pub, "srv", 0, 5);
  ASSERT_TRUE(rec.wait([&] { return rec.data.size() == 5; }));
  proxy.set_refuse(true);
  proxy.cut_all();
  publish_range(pub, "srv", 5, 10);
  proxy.set_refuse(false);
  expect_exactly_once_in_order(rec, 10);
  std::lock_guard l(rec.mu);
  ASSERT_EQ(rec.subscribed.size(), 2u);
  EXPECT_TRUE(rec.subscribed[1].was_recovering);
  EXPECT_TRUE(rec.subscribed[1].recovered);
}

// Named *Threads* so that the TSan preset runs it.
TEST(SdkClientThreads, CallsFromFourThreadsAtOnce) {
  recorder rec;  // outlives the clients: their close() still fires events
  std::atomic<int> acks{0};
  test_server srv;
  auto cfg = fast_config({srv.url()});
  cfg.max_buffered_publishes = 1000;
  client c(cfg);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      auto sub = c.new_subscription("t" + std::to_string(t % 2));
      sub->on_publication([](const publication&) {});
      for (int i = 0; i < 400; ++i) {
        switch (rng() % 8) {
          case 0: c.connect(); break;
          case 1: if (rng() % 4 == 0) c.disconnect(); break;
          case 2: sub->subscribe(); break;
          case 3: sub->unsubscribe(); break;
          case 4: sub->publish(std::to_string(i), [&](result<empty>) { ++acks; }); break;
          case 5: c.publish("t2", "{}", [&](result<empty>) { ++acks; }); break;
          case 6: (void)c.state(); (void)c.stats(); (void)sub->offset(); (void)sub->epoch(); break;
          case 7: c.presence_stats("t0", [](auto) {}); break;
        }
        if (i % 4 == 0) std::this_thread::sleep_for(1ms);
      }
    });
  }
  for (auto& t : threads) t.join();
  // Whatever happened, the client still works: connect, subscribe, publish, receive.
  c.connect();
  auto sub = c.new_subscription("final");
  rec.attach(c, sub.get());
  sub->subscribe();
  ASSERT_TRUE(rec.wait([&] { return rec.subscribed.size() == 1; }));
  sub->publish("42");
  ASSERT_TRUE(rec.wait([&] { return rec.data.size() == 1; }));
  EXPECT_EQ(rec.data[0], "42");
  c.close();
  EXPECT_GT(acks.load(), 0);
}

}  // namespace
}  // namespace duplex::sdk
