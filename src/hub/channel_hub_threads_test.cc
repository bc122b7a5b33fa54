// Cross-thread tests: two real threads each drive one shard's executor while other threads
// publish. Suite names end in "Threads" so CI's TSan stage runs them.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "hub/channel_hub.h"
#include "hub/hub_test_util.h"
#include "hub/memory_broker.h"
#include "support/manual_executor.h"

namespace duplex::hub {
namespace {

using namespace std::chrono_literals;
using hub_test::counting_encoder;
using hub_test::recording_subscriber;

// Two shard threads running their executors until stop().
class shard_threads {
 public:
  explicit shard_threads(std::array<duplex::test::manual_executor, 2>& ex) : ex_(ex) {
    for (std::size_t i = 0; i < 2; ++i) {
      threads_.emplace_back([this, i] {
        ex_[i].run_until([this] { return stop_.load(); }, 30s);
      });
    }
  }
  void stop() {
    stop_ = true;
    for (auto& e : ex_) e.post([] {});  // wake the waiting loop
    for (auto& t : threads_) t.join();
    threads_.clear();
  }
  ~shard_threads() {
    if (!threads_.empty()) stop();
  }

 private:
  std::array<duplex::test::manual_executor, 2>& ex_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

class HubThreads : public ::testing::Test {
 protected:
  HubThreads() {
    namespace_options def;
    def.subscribe = access::anonymous;
    def.history_size = 100000;
    def.history_ttl = 60s;
    namespaces_.set_default(def);
    json_ = formats_.add("json", counting_encoder{"json", &json_calls_});
    sio_ = formats_.add("sio", counting_encoder{"sio", &sio_calls_});
    hub_.emplace(std::span<executor* const>(execs_), broker_, namespaces_, formats_);
  }

  // Creates n subscribers per shard (alternating formats) and subscribes them on their thread.
  void subscribe_all(std::size_t per_shard, const std::string& channel) {
    std::atomic<std::size_t> ok{0};
    for (std::size_t sh = 0; sh < 2; ++sh) {
      for (std::size_t i = 0; i < per_shard; ++i) {
        subs_[sh].push_back(std::make_unique<recording_subscriber>(
            i % 2 ? sio_ : json_, "c" + std::to_string(sh) + "-" + std::to_string(i)));
      }
      ex_[sh].post([this, sh, channel, &ok] {
        for (auto& s : subs_[sh]) {
          hub_->shard_at(sh).subscribe(*s, subscribe_request{channel},
                                       [&ok](subscribe_result r) {
                                         if (r.err == error::ok) ++ok;
                                       });
        }
      });
    }
    ASSERT_TRUE(wait_for([&] { return ok.load() == 2 * per_shard; }));
  }

  void unsubscribe_all(const std::string& channel) {
    std::atomic<int> done{0};
    for (std::size_t sh = 0; sh < 2; ++sh) {
      ex_[sh].post([this, sh, channel, &done] {
        for (auto& s : subs_[sh]) EXPECT_EQ(hub_->shard_at(sh).unsubscribe(*s, channel), error::ok);
        ++done;
      });
    }
    ASSERT_TRUE(wait_for([&] { return done.load() == 2; }));
  }

  // Count of deliveries seen by every subscriber, read on the shard threads.
  std::size_t delivered() {
    std::atomic<std::size_t> total{0};
    std::atomic<int> done{0};
    for (std::size_t sh = 0; sh < 2; ++sh) {
      ex_[sh].post([this, sh, &total, &done] {
        std::size_t n = 0;
        for (auto& s : subs_[sh]) n += s->got.size();
        total += n;
        ++done;
      });
    }
    EXPECT_TRUE(wait_for([&] { return done.load() == 2; }));
    return total.load();
  }

  std::array<duplex::test::manual_executor, 2> ex_;
  std::array<executor*, 2> execs_{&ex_[0], &ex_[1]};
  namespace_table namespaces_;
  format_registry formats_;
  std::atomic<int> json_calls_{0}, sio_calls_{0};
  wire_format json_{}, sio_{};
  memory_broker broker_;
  std::optional<channel_hub> hub_;
  std::array<std::vector<std::unique_ptr<recording_subscriber>>, 2> subs_;
};

TEST_F(HubThreads, OnePublicationTo1000SubscribersIsEncodedOncePerFormat) {
  shard_threads threads(ex_);
  subscribe_all(500, "big");
  EXPECT_EQ(hub_->subscribers("big"), 1000u);

  std::atomic<bool> published{false};
  hub_->publish(publish_request{"big", shared_payload::copy_of("payload")}, nullptr,
                [&](publish_result r) { published = r.err == error::ok; });
  EXPECT_TRUE(published.load());
  ASSERT_TRUE(wait_for([&] { return delivered() == 1000; }));
  threads.stop();  // joins: everything the shard threads wrote is now visible here

  EXPECT_EQ(json_calls_.load(), 1);
  EXPECT_EQ(sio_calls_.load(), 1);
  std::array<const void*, 2> frame_of_format{nullptr, nullptr};
  for (auto& shard_subs : subs_) {
    for (auto& s : shard_subs) {
      ASSERT_EQ(s->got.size(), 1u);
      const auto f = static_cast<std::size_t>(s->format());
      if (!frame_of_format[f]) frame_of_format[f] = s->got[0].frame;
      EXPECT_EQ(s->got[0].frame, frame_of_format[f]);  // the very same shared bytes
    }
  }
  EXPECT_NE(frame_of_format[0], frame_of_format[1]);
  EXPECT_EQ(subs_[0][0]->got[0].frame_text, "json|pub|big|1|payload");
  EXPECT_EQ(subs_[0][1]->got[0].frame_text, "sio|pub|big|1|payload");
}

TEST_F(HubThreads, ConcurrentPublishersKeepPerChannelOrder) {
  shard_threads threads(ex_);
  subscribe_all(50, "ordered");
  constexpr int per_publisher = 300;
  std::vector<std::thread> publishers;
  for (int p = 0; p < 2; ++p) {
    publishers.emplace_back([this, p] {
      for (int i = 0; i < per_publisher; ++i) {
        hub_->publish(publish_request{"ordered", shared_payload::copy_of(std::to_string(p))},
                      nullptr, {});
      }
    });
  }
  for (auto& t : publishers) t.join();
  ASSERT_TRUE(wait_for([&] { return delivered() == 100u * 2 * per_publisher; }));
  unsubscribe_all("ordered");
  EXPECT_EQ(hub_->subscribers("ordered"), 0u);
  threads.stop();

  for (auto& shard_subs : subs_) {
    for (auto& s : shard_subs) {
      ASSERT_EQ(s->got.size(), 2u * per_publisher);
      for (std::size_t i = 0; i < s->got.size(); ++i) {
        ASSERT_EQ(s->got[i].offset, i + 1) << "offsets arrive in order, none missing";
      }
    }
  }
  EXPECT_EQ(json_calls_.load(), 2 * per_publisher);
  EXPECT_EQ(sio_calls_.load(), 2 * per_publisher);
}

TEST_F(HubThreads, SubscribeAndUnsubscribeWhilePublishing) {
  shard_threads threads(ex_);
  subscribe_all(20, "churn");
  std::atomic<bool> stop{false};
  // Bounded and paced: an unpaced publisher outruns the shards under TSan (10x slower), and
  // their queues, not the churn, would then be what the test measures.
  std::thread publisher([&] {
    for (int i = 0; i < 20000 && !stop; ++i) {
      hub_->publish(publish_request{"churn", shared_payload::copy_of("x")}, nullptr, {});
      if (i % 32 == 31) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  for (int round = 0; round < 8; ++round) {
    unsubscribe_all("churn");
    for (auto& v : subs_) v.clear();
    subscribe_all(20, "churn");
  }
  stop = true;
  publisher.join();
  EXPECT_EQ(hub_->subscribers("churn"), 40u);
  unsubscribe_all("churn");
  EXPECT_EQ(hub_->subscribers("churn"), 0u);
  threads.stop();
}

}  // namespace
}  // namespace duplex::hub
