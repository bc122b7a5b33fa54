// The node registry: the stored entry's codec, and registries against a real redis-server
// (started per test on a free port).
#include "redis/node_registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "redis/redis_test_util.h"

namespace duplex::redis {
namespace {

using namespace std::chrono_literals;
using test::await;

// ---- the stored entry ----

TEST(NodeEntry, MatchesTheDocumentedExampleAndRoundTrips) {
  const node_entry e{"a", "n", "v1", {3, 0, 2, 5, 60}};
  EXPECT_EQ(encode_node_entry(e), "N11:a1:n2:v11:31:01:21:52:60");
  node_entry back;
  ASSERT_EQ(decode_node_entry(encode_node_entry(e), back), node_entry_error::ok);
  EXPECT_EQ(back, e);

  const node_entry big{"id:with:colons", std::string(max_node_text_bytes, 'n'), "",
                       {9223372036854775807ULL, 1, 0, 10, 1}};
  ASSERT_EQ(decode_node_entry(encode_node_entry(big), back), node_entry_error::ok);
  EXPECT_EQ(back, big);
}

TEST(NodeEntry, RefusesWhatItWouldNotWrite) {
  struct bad {
    std::string in;
    node_entry_error want;
  };
  const std::string good = "N11:a1:n2:v11:31:01:21:52:60";
  const std::vector<bad> cases = {
      {"", node_entry_error::bad_magic},
      {"N2" + good.substr(2), node_entry_error::bad_magic},
      {"D1c1:a", node_entry_error::bad_magic},
      {good + "x", node_entry_error::trailing},
      {good.substr(0, good.size() - 1), node_entry_error::truncated},
      {"N11:a1:n2:v11:31:01:21:5", node_entry_error::truncated},  // a field missing
      {"N19", node_entry_error::truncated},                         // a length, cut off
      {"N19:a", node_entry_error::truncated},                       // length past the end
      {"N101:a1:n2:v11:31:01:21:52:60", node_entry_error::bad_number},   // leading zero
      {"N1-1:a", node_entry_error::bad_number},
      {"N11:a1:n2:v11:31:01:21:52:06", node_entry_error::bad_number},    // "06"
      {"N11:a1:n2:v11:31:01:21:50:", node_entry_error::bad_number},      // empty number
      {"N11:a1:n2:v11:31:01:21:52:6x", node_entry_error::bad_number},
      {"N11:a1:n2:v11:31:01:21:519:9223372036854775808", node_entry_error::bad_number},
      {"N11:a1:n2:v11:31:01:21:520:10000000000000000000", node_entry_error::bad_number},
      {"N199999999999999999999:a", node_entry_error::bad_number},      // 20-digit length
      {"N1" + std::to_string(max_node_id_bytes + 1) + ":" +
           std::string(max_node_id_bytes + 1, 'i') + "1:n2:v11:31:01:21:52:60",
       node_entry_error::too_long},
      {"N11:a" + std::to_string(max_node_text_bytes + 1) + ":" +
           std::string(max_node_text_bytes + 1, 'n') + "2:v11:31:01:21:52:60",
       node_entry_error::too_long},
  };
  for (const bad& c : cases) {
    node_entry e;
    const node_entry_error got = decode_node_entry(c.in, e);
    EXPECT_EQ(got, c.want) << "input: " << c.in << "; got " << to_string(got) << ", want "
                           << to_string(c.want);
  }
}

TEST(NodeEntry, TheEncoderKeepsToTheDecodersLimits) {
  node_entry e{std::string(max_node_id_bytes + 5, 'i'), std::string(max_node_text_bytes + 5, 'n'),
               std::string(max_node_text_bytes + 5, 'v'), {~0ULL, 0, 0, 0, 0}};
  node_entry back;
  ASSERT_EQ(decode_node_entry(encode_node_entry(e), back), node_entry_error::ok);
  EXPECT_EQ(back.id.size(), max_node_id_bytes);
  EXPECT_EQ(back.name.size(), max_node_text_bytes);
  EXPECT_EQ(back.version.size(), max_node_text_bytes);
  EXPECT_EQ(back.load.num_clients, 9223372036854775807ULL);
}

// ---- registries on a real Redis ----

// One node's registry on a loop thread of its own; its figures are set by the test.
class registry_node {
 public:
  explicit registry_node(node_registry_options o) {
    o.load = [this] {
      node_load l;
      l.num_clients = clients.load();
      l.num_subs = subs.load();
      l.uptime_s = 7;
      return l;
    };
    reg_ = std::make_unique<node_registry>(loop_, std::move(o));
    thread_ = std::thread([this] { loop_.run(); });
  }
  ~registry_node() {
    release();
    stop();
  }
  registry_node(const registry_node&) = delete;
  registry_node& operator=(const registry_node&) = delete;

  // A clean stop: shutdown() (removes the entry), then the loop ends. Idempotent.
  void stop() {
    if (!thread_.joinable()) return;
    loop_.post([this] {
      if (reg_) {
        reg_->shutdown([this] { loop_.stop(); });
      } else {
        loop_.stop();
      }
    });
    thread_.join();
    reg_.reset();
  }
  // A crash: the registry goes away without shutdown() (its entry stays until the ttl).
  void crash() {
    on_loop([this] { reg_.reset(); });
  }
  // A hung node: its loop thread blocks until release().
  void stall() {
    auto entered = std::make_shared<std::promise<void>>();
    auto f = entered->get_future();
    loop_.post([this, entered] {
      entered->set_value();
      gate_.get_future().wait();
    });
    f.wait();
  }
  void release() {
    if (!released_) {
      released_ = true;
      gate_.set_value();
    }
  }

  std::optional<node_list_result> list(std::chrono::milliseconds timeout = 5s) {
    return await<node_list_result>(
        [&](hub::callback<node_list_result> cb) { reg_->list(nullptr, std::move(cb)); }, timeout);
  }
  bool wait_connected(std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!reg_->connected()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }
  // Runs fn on the loop thread and waits for it.
  void on_loop(std::function<void()> fn) {
    std::promise<void> done;
    loop_.post([&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }

  node_registry& reg() { return *reg_; }
  net::loop& loop() { return loop_; }

  std::atomic<std::uint64_t> clients{0};
  std::atomic<std::uint64_t> subs{0};

 private:
  net::loop loop_;
  std::unique_ptr<node_registry> reg_;
  std::thread thread_;
  std::promise<void> gate_;
  bool released_ = false;
};

std::vector<std::string> ids_of(const node_list_result& r) {
  std::vector<std::string> out;
  for (const auto& n : r.nodes) out.push_back(n.id);
  return out;
}

const node_entry* find(const node_list_result& r, const std::string& id) {
  for (const auto& n : r.nodes) {
    if (n.id == id) return &n;
  }
  return nullptr;
}

class NodeRegistry : public ::testing::Test {
 protected:
  void SetUp() override {
    DUPLEX_REQUIRE_REDIS_SERVER();
    std::string why;
    ASSERT_TRUE(server_.start(0, &why)) << why;
  }

  node_registry_options options(std::string id) const {
    node_registry_options o;
    o.where.host = "127.0.0.1";
    o.where.port = server_.port();
    o.prefix = "t";
    o.node_id = id;
    o.name = "name-" + id;
    o.version = "test 1";
    o.interval = 50ms;
    o.ttl = 60s;
    o.connect_timeout = 500ms;
    o.command_timeout = 2000ms;
    o.reconnect_min = 20ms;
    o.reconnect_max = 200ms;
    return o;
  }
  std::unique_ptr<registry_node> start(node_registry_options o) {
    auto n = std::make_unique<registry_node>(std::move(o));
    EXPECT_TRUE(n->wait_connected()) << "registry did not connect to 127.0.0.1:" << server_.port();
    return n;
  }
  std::unique_ptr<registry_node> start(std::string id) { return start(options(std::move(id))); }

  // Polls `n`'s list until pred holds; the last list on timeout.
  static node_list_result list_until(registry_node& n,
                                     const std::function<bool(const node_list_result&)>& pred,
                                     std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    node_list_result last;
    for (;;) {
      if (auto r = n.list()) {
        last = std::move(*r);
        if (last.err == hub::error::ok && pred(last)) return last;
      }
      if (std::chrono::steady_clock::now() >= deadline) return last;
      std::this_thread::sleep_for(10ms);
    }
  }

  test::redis_server server_;
};

TEST_F(NodeRegistry, TwoNodesSeeEachOtherWithTheirFigures) {
  auto a = start("a");
  auto b = start("b");
  a->clients = 3;
  a->subs = 5;
  b->clients = 7;
  b->subs = 11;
  auto both = [](const node_list_result& r) {
    const node_entry* x = find(r, "a");
    const node_entry* y = find(r, "b");
    return r.nodes.size() == 2 && x && y && x->load.num_clients == 3 && y->load.num_clients == 7;
  };
  const node_list_result from_a = list_until(*a, both);
  ASSERT_TRUE(both(from_a)) << ::testing::PrintToString(ids_of(from_a));
  const node_list_result from_b = list_until(*b, both);
  ASSERT_TRUE(both(from_b));
  // What a read from Redis (the other node's entry) carries.
  const node_entry* other = find(from_a, "b");
  EXPECT_EQ(other->name, "name-b");
  EXPECT_EQ(other->version, "test 1");
  EXPECT_EQ(other->load.num_subs, 11u);
  EXPECT_EQ(other->load.uptime_s, 7u);
  EXPECT_EQ(find(from_b, "a")->load.num_subs, 5u);
  EXPECT_EQ(ids_of(from_a), (std::vector<std::string>{"a", "b"}));  // by name, then id

  // The documented keys, with an expiry (they go when every node is gone).
  auto stored = server_.command({"HGET", "t:{nodes}", "b"});
  ASSERT_TRUE(stored && stored->type == REDIS_REPLY_STRING);
  node_entry e;
  EXPECT_EQ(decode_node_entry(std::string_view(stored->str, stored->len), e), node_entry_error::ok);
  EXPECT_EQ(e.id, "b");
  for (const char* key : {"t:{nodes}", "t:{nodes}:z"}) {
    auto pttl = server_.command({"PTTL", key});
    ASSERT_TRUE(pttl && pttl->type == REDIS_REPLY_INTEGER);
    EXPECT_GT(pttl->integer, 0) << key;
    EXPECT_LE(pttl->integer, 60000) << key;
  }
  EXPECT_GT(a->reg().stats().announces, 0u);
  EXPECT_EQ(a->reg().stats().malformed, 0u);
}

TEST_F(NodeRegistry, FiguresFollowTheLoad) {
  auto a = start("a");
  auto b = start("b");
  ASSERT_TRUE(find(list_until(*a, [](auto& r) { return r.nodes.size() == 2; }), "b"));
  // Its own entry is read fresh; the other's within an announce interval.
  a->clients = 42;
  auto now = a->list();
  ASSERT_TRUE(now && now->err == hub::error::ok);
  EXPECT_EQ(find(*now, "a")->load.num_clients, 42u);
  b->clients = 9;
  auto seen = list_until(*a, [](auto& r) {
    const node_entry* y = find(r, "b");
    return y && y->load.num_clients == 9;
  });
  ASSERT_NE(find(seen, "b"), nullptr);
  EXPECT_EQ(find(seen, "b")->load.num_clients, 9u);
}

TEST_F(NodeRegistry, ACleanStopDisappearsAtOnce) {
  auto a = start("a");
  auto b = start("b");  // ttl 60 s: only the removal can explain its absence below
  ASSERT_EQ(list_until(*a, [](auto& r) { return r.nodes.size() == 2; }).nodes.size(), 2u);
  b->stop();
  auto r = a->list();
  ASSERT_TRUE(r && r->err == hub::error::ok);
  EXPECT_EQ(ids_of(*r), std::vector<std::string>{"a"});
  auto z = server_.command({"ZSCORE", "t:{nodes}:z", "b"});
  EXPECT_TRUE(z && z->type == REDIS_REPLY_NIL);
  auto h = server_.command({"HEXISTS", "t:{nodes}", "b"});
  EXPECT_TRUE(h && h->type == REDIS_REPLY_INTEGER && h->integer == 0);
}

TEST_F(NodeRegistry, AHungNodeDisappearsAfterItsTtlAndComesBack) {
  auto a = start("a");
  auto o = options("b");
  o.ttl = 1000ms;
  auto b = start(o);
  ASSERT_EQ(list_until(*a, [](auto& r) { return r.nodes.size() == 2; }).nodes.size(), 2u);
  b->stall();  // no more announces; its link stays open
  auto still = a->list();  // its last announce was at most an interval ago
  ASSERT_TRUE(still && still->err == hub::error::ok);
  EXPECT_NE(find(*still, "b"), nullptr);
  auto gone = list_until(*a, [](auto& r) { return r.nodes.size() == 1; }, 4s);
  EXPECT_EQ(ids_of(gone), std::vector<std::string>{"a"});
  b->release();
  auto back = list_until(*a, [](auto& r) { return r.nodes.size() == 2; });
  EXPECT_EQ(ids_of(back), (std::vector<std::string>{"a", "b"}));
}

TEST_F(NodeRegistry, ACrashedNodeDisappearsAfterItsTtl) {
  auto a = start("a");
  auto o = options("b");
  o.ttl = 1000ms;
  auto b = start(o);
  ASSERT_EQ(list_until(*a, [](auto& r) { return r.nodes.size() == 2; }).nodes.size(), 2u);
  b->crash();  // destroyed without shutdown(): nothing removed
  auto still = a->list();
  ASSERT_TRUE(still && still->err == hub::error::ok);
  EXPECT_NE(find(*still, "b"), nullptr);
  auto gone = list_until(*a, [](auto& r) { return r.nodes.size() == 1; }, 3s);
  EXPECT_EQ(ids_of(gone), std::vector<std::string>{"a"});
  // The next announce pruned it from both keys.
  std::this_thread::sleep_for(100ms);
  auto h = server_.command({"HEXISTS", "t:{nodes}", "b"});
  EXPECT_TRUE(h && h->type == REDIS_REPLY_INTEGER && h->integer == 0);
}

TEST_F(NodeRegistry, ListFailsFastWhileRedisIsDown) {
  auto a = start("a");
  server_.stop();  // SIGKILL
  auto deadline = std::chrono::steady_clock::now() + 2s;
  while (a->reg().connected() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  for (int i = 0; i < 5; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = a->list(1s);
    ASSERT_TRUE(r.has_value()) << "list() did not answer within 1 s";
    EXPECT_EQ(r->err, hub::error::broker_unavailable);
    EXPECT_TRUE(r->nodes.empty());
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
  }
  EXPECT_GE(a->reg().stats().list_failures, 5u);

  // Never connected at all: the same.
  auto o = options("never");
  o.where.port = server_.port();  // nothing listens there now
  registry_node n(o);
  auto r = n.list(1s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->err, hub::error::broker_unavailable);
  // A clean stop with Redis down does not wait for it.
  const auto t0 = std::chrono::steady_clock::now();
  n.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
}

TEST_F(NodeRegistry, NeverHangsOnAStalledRedis) {
  auto o = options("a");
  o.command_timeout = 300ms;
  o.shutdown_timeout = 300ms;
  auto a = start(o);
  server_.pause();  // SIGSTOP: the link stays open, nothing answers
  const auto t0 = std::chrono::steady_clock::now();
  auto r = a->list(3s);
  ASSERT_TRUE(r.has_value()) << "list() hung on a stalled Redis";
  EXPECT_EQ(r->err, hub::error::broker_unavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  // Nor does a clean stop (the removal is given up after shutdown_timeout).
  const auto t1 = std::chrono::steady_clock::now();
  a->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t1, 2s);
  server_.resume();
}

TEST_F(NodeRegistry, SkipsAndCountsMalformedEntries) {
  auto a = start("a");
  ASSERT_EQ(list_until(*a, [](auto& r) { return r.nodes.size() == 1; }).nodes.size(), 1u);
  const std::string later = "99999999999999";  // an expiry far ahead on any clock
  const node_entry good{"g", "good", "v", {1, 2, 3, 4, 5}};
  const node_entry other{"x", "copied", "v", {}};
  server_.command({"HSET", "t:{nodes}", "g", encode_node_entry(good)});
  server_.command({"HSET", "t:{nodes}", "bad", "N1garbage"});
  server_.command({"HSET", "t:{nodes}", "copy", encode_node_entry(other)});  // id mismatch
  for (const char* id : {"g", "bad", "copy", "missing"}) {
    server_.command({"ZADD", "t:{nodes}:z", later, id});
  }
  auto r = a->list();
  ASSERT_TRUE(r && r->err == hub::error::ok);
  EXPECT_EQ(ids_of(*r), (std::vector<std::string>{"g", "a"}));  // by name: "good" < "name-a"
  ASSERT_NE(find(*r, "g"), nullptr);
  EXPECT_EQ(*find(*r, "g"), good);
  EXPECT_EQ(a->reg().stats().malformed, 3u);
}

TEST_F(NodeRegistry, ReannouncesAfterARedisRestart) {
  auto o = options("b");
  o.interval = 10s;  // only the reconnect can bring it back within the wait below
  auto b = start(o);
  auto a = start("a");
  ASSERT_EQ(list_until(*a, [](auto& r) { return r.nodes.size() == 2; }).nodes.size(), 2u);
  const std::uint16_t port = server_.port();
  server_.stop();
  std::string why;
  ASSERT_TRUE(server_.start(port, &why)) << why;  // empty: no persistence
  auto back = list_until(*a, [](auto& r) { return r.nodes.size() == 2; }, 5s);
  EXPECT_EQ(ids_of(back), (std::vector<std::string>{"a", "b"}));
}

TEST_F(NodeRegistry, AShorterTtlNeverCutsTheKeysOfALongerOne) {
  auto a = start("a");  // ttl 60 s
  auto o = options("b");
  o.ttl = 200ms;
  auto b = start(o);
  ASSERT_EQ(list_until(*a, [](auto& r) { return r.nodes.size() == 2; }).nodes.size(), 2u);
  std::this_thread::sleep_for(300ms);
  auto pttl = server_.command({"PTTL", "t:{nodes}"});
  ASSERT_TRUE(pttl && pttl->type == REDIS_REPLY_INTEGER);
  EXPECT_GT(pttl->integer, 50000);
}

}  // namespace
}  // namespace duplex::redis
