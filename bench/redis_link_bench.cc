// redis_link_bench: one Redis connection per node, or one per loop thread? (issue 7)
//
// Publishes N publications of `size` bytes from T publishing threads through
//   shared      one redis_broker (one loop thread, its command and subscriber links) that
//               every publishing thread calls: the broker posts each call to its loop;
//   per_thread  T redis_brokers, each on its own loop thread: publishing thread t calls
//               broker t only (a command connection per loop thread),
// with history on (one EVALSHA of the publish script each) and off (one PUBLISH each), against
// one redis-server. Thread t publishes to its own channel with at most `window` publications
// awaiting their reply; latency is from the publish() call to its callback (on the broker's loop
// thread). A third broker on its own loop thread subscribes to every channel and must receive
// all N, each channel's in publish order (offsets 1..n with history), so Redis does the Pub/Sub
// fan-out it does in production and a lost or reordered publication fails the run.
//
// Prints one line of JSON per (mode, history) and a summary on stderr. bench/run.py runs it as
// the `redis_links` scenario against its own redis-server (bench/README.md).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <semaphore>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "net/loop.h"
#include "redis/endpoint.h"
#include "redis/redis_broker.h"

namespace {

using namespace duplex;
using clock_type = std::chrono::steady_clock;

// Counts what the subscribing node receives, per channel, and checks the order: a channel's
// publications carry their per-channel sequence number in the first 12 bytes of the data.
class delivery_counter final : public hub::broker_events {
 public:
  explicit delivery_counter(std::vector<std::string> channels)
      : channels_(std::move(channels)), next_(channels_.size(), 0) {}

  void on_publication(const hub::publication& p) override {  // the subscriber's loop thread
    std::lock_guard lock(mu_);
    auto it = std::find(channels_.begin(), channels_.end(), p.channel);
    if (it == channels_.end()) return;
    const auto k = static_cast<std::size_t>(it - channels_.begin());
    const std::string_view d = p.data.view();
    const std::uint64_t seq = std::strtoull(std::string(d.substr(0, 12)).c_str(), nullptr, 10);
    if (seq != next_[k] || (p.offset != 0 && p.offset != seq + 1)) ++out_of_order_;
    next_[k] = seq + 1;
    ++received_;
    cv_.notify_all();
  }
  void on_join(const std::string&, const hub::client_info&) override {}
  void on_leave(const std::string&, const hub::client_info&) override {}

  // Waits until `n` arrived; false after the timeout.
  bool wait(std::uint64_t n, std::chrono::seconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return received_ >= n; });
  }
  std::uint64_t out_of_order() {
    std::lock_guard lock(mu_);
    return out_of_order_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> channels_;
  std::vector<std::uint64_t> next_;
  std::uint64_t received_ = 0, out_of_order_ = 0;
};

// A loop thread running one redis_broker.
class node {
 public:
  explicit node(redis::redis_broker_options o) : broker_(loop_, std::move(o)) {
    thread_ = std::thread([this] { loop_.run(); });
  }
  ~node() {
    // shutdown() must run on the loop thread, and stop() from that same task so the loop does
    // not end before it ran.
    loop_.post([this] {
      broker_.shutdown();
      loop_.stop();
    });
    thread_.join();
  }
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  redis::redis_broker& broker() noexcept { return broker_; }

  bool wait_connected(std::chrono::seconds timeout) {
    const auto deadline = clock_type::now() + timeout;
    while (!broker_.connected()) {
      if (clock_type::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  // Subscribes and returns once Redis confirmed it (history() waits for the confirmation).
  bool subscribe(const std::string& channel) {
    broker_.node_subscribe(channel);
    std::promise<hub::error> p;
    auto f = p.get_future();
    broker_.history(channel, {}, nullptr,
                    [&p](hub::history_result r) { p.set_value(r.err); });
    return f.wait_for(std::chrono::seconds(5)) == std::future_status::ready &&
           f.get() == hub::error::ok;
  }

 private:
  net::loop loop_;
  redis::redis_broker broker_;
  std::thread thread_;
};

struct config {
  redis::endpoint where;
  std::uint64_t publications = 100000;
  std::size_t size = 100;
  unsigned threads = 2;
  std::ptrdiff_t window = 64;
};

struct result {
  double pubs_per_s = 0, p50_us = 0, p99_us = 0, seconds = 0;
  double commands_per_pub = 0;
  std::uint64_t errors = 0, out_of_order = 0;
  bool delivered = false;
  bool reached = true;  // false: Redis did not answer (nothing was measured)
};

double quantile(std::vector<std::uint32_t>& ns, double q) {
  if (ns.empty()) return 0;
  const auto at = static_cast<std::size_t>(q * static_cast<double>(ns.size() - 1));
  std::nth_element(ns.begin(), ns.begin() + static_cast<std::ptrdiff_t>(at), ns.end());
  return ns[at] / 1e3;
}

redis::redis_broker_options broker_options(const config& c) {
  redis::redis_broker_options o;
  o.where = c.where;
  o.prefix = "xbench";
  return o;
}

result run_one(const config& c, bool per_thread, bool history, const std::string& tag) {
  result r;
  const unsigned t_count = std::max(c.threads, 1u);
  std::vector<std::string> channels;
  for (unsigned t = 0; t < t_count; ++t) channels.push_back(tag + "-" + std::to_string(t));

  // Declared before the nodes, so they outlive the loop threads that run the callbacks (a
  // semaphore's release() may still touch it after the waiter woke).
  std::vector<std::vector<std::uint32_t>> latency(t_count);
  std::vector<std::unique_ptr<std::counting_semaphore<>>> windows;
  for (unsigned t = 0; t < t_count; ++t)
    windows.push_back(std::make_unique<std::counting_semaphore<>>(c.window));
  std::atomic<std::uint64_t> errors{0};
  delivery_counter counter(channels);
  node subscriber(broker_options(c));
  subscriber.broker().set_events(&counter);
  std::vector<std::unique_ptr<node>> pubs;
  for (unsigned t = 0; t < (per_thread ? t_count : 1u); ++t)
    pubs.push_back(std::make_unique<node>(broker_options(c)));
  bool up = subscriber.wait_connected(std::chrono::seconds(5));
  for (auto& p : pubs) up = up && p->wait_connected(std::chrono::seconds(5));
  for (const auto& ch : channels) up = up && subscriber.subscribe(ch);
  if (!up) {
    std::fprintf(stderr, "redis_link_bench: Redis at %s:%u not reachable\n",
                 c.where.host.c_str(), static_cast<unsigned>(c.where.port));
    r.errors = c.publications;
    r.reached = false;
    return r;
  }
  auto commands = [&] {
    std::uint64_t n = 0;
    for (auto& p : pubs) n += p->broker().stats().commands;
    return n;
  };
  const std::uint64_t commands0 = commands();

  const hub::publish_options opts =
      history ? hub::publish_options{100, std::chrono::minutes(5)} : hub::publish_options{};
  const std::string filler(c.size > 12 ? c.size - 12 : 0, 'x');
  std::atomic<unsigned> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < t_count; ++t) {
    const std::uint64_t n = c.publications / t_count + (t < c.publications % t_count ? 1 : 0);
    latency[t].assign(n, 0);
    threads.emplace_back([&, t, n] {
      redis::redis_broker& b = pubs[per_thread ? t : 0]->broker();
      std::counting_semaphore<>& window = *windows[t];
      std::vector<std::uint32_t>& lat = latency[t];
      char seq[24];
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      for (std::uint64_t i = 0; i < n; ++i) {
        window.acquire();
        hub::publication p;
        p.channel = channels[t];
        std::snprintf(seq, sizeof seq, "%012llu", static_cast<unsigned long long>(i));
        p.data = shared_payload::copy_of(std::string(seq, 12) + filler);
        const auto t0 = clock_type::now();
        // The callback runs on the broker's loop thread; lat[i] is read after the final
        // acquires below, which the releases happen-before.
        b.publish(std::move(p), opts, nullptr, [&, i, t0](hub::publish_result res) {
          lat[i] = static_cast<std::uint32_t>(std::min<std::int64_t>(
              std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now() - t0)
                  .count(),
              UINT32_MAX));
          if (res.err != hub::error::ok) errors.fetch_add(1);
          window.release();
        });
      }
      for (std::ptrdiff_t k = 0; k < c.window; ++k) window.acquire();
    });
  }
  while (ready.load() < t_count) std::this_thread::yield();
  const auto start = clock_type::now();
  go.store(true, std::memory_order_release);
  for (auto& th : threads) th.join();
  r.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  r.delivered = counter.wait(c.publications, std::chrono::seconds(60));
  r.out_of_order = counter.out_of_order();
  r.errors = errors.load();
  r.pubs_per_s = static_cast<double>(c.publications) / r.seconds;
  r.commands_per_pub =
      static_cast<double>(commands() - commands0) / static_cast<double>(c.publications);
  std::vector<std::uint32_t> all;
  for (auto& l : latency) all.insert(all.end(), l.begin(), l.end());
  r.p50_us = quantile(all, 0.50);
  r.p99_us = quantile(all, 0.99);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("redis_link_bench: one shared redis_broker vs one per loop thread (issue 7)");
  config c;
  std::string url = "redis://127.0.0.1:6379";
  std::string modes = "shared,per_thread";
  std::string history = "on,off";
  app.add_option("--redis", url, "redis://host:port of the redis-server to use");
  app.add_option("-n,--publications", c.publications, "publications per (mode, history)")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 32));
  app.add_option("-s,--size", c.size, "bytes of data per publication (>= 12)")
      ->check(CLI::Range(std::size_t{12}, std::size_t{1} << 20));
  app.add_option("-T,--threads", c.threads, "publishing threads")->check(CLI::Range(1u, 64u));
  app.add_option("-w,--window", c.window, "publications awaiting their reply, per thread")
      ->check(CLI::Range(std::ptrdiff_t{1}, std::ptrdiff_t{1} << 20));
  app.add_option("--modes", modes, "shared, per_thread or both (comma-separated)");
  app.add_option("--history", history, "on, off or both (comma-separated)");
  CLI11_PARSE(app, argc, argv);

  std::string bad;
  std::optional<redis::endpoint> where = redis::parse_url(url, &bad);
  if (!where) {
    std::fprintf(stderr, "redis_link_bench: --redis: %s\n", bad.c_str());
    return 2;
  }
  c.where = *where;
  auto has = [](const std::string& list, std::string_view item) {
    return ("," + list + ",").find("," + std::string(item) + ",") != std::string::npos;
  };
  // Channel names unique per run: each run starts a new epoch on fresh keys.
  const auto stamp = clock_type::now().time_since_epoch().count() % 1000000;
  const std::string run_tag = "xb" + std::to_string(::getpid()) + "-" + std::to_string(stamp);
  int rc = 0;
  for (const char* h : {"on", "off"}) {
    if (!has(history, h)) continue;
    for (const char* m : {"shared", "per_thread"}) {
      if (!has(modes, m)) continue;
      const bool per_thread = std::string_view(m) == "per_thread";
      const bool hist = std::string_view(h) == "on";
      const result r = run_one(c, per_thread, hist, run_tag + "-" + m + "-" + h);
      if (!r.reached) return 1;  // the other cases would wait for it the same way
      const bool ok = r.errors == 0 && r.delivered && r.out_of_order == 0;
      if (!ok) rc = 1;
      std::fprintf(stderr,
                   "redis_link_bench: %-10s history %-3s: %llu x %zu B from %u threads "
                   "(window %td each): %.0f pub/s, publish latency p50 %.1f us p99 %.1f us, "
                   "%.2f commands per publication%s\n",
                   m, h, static_cast<unsigned long long>(c.publications), c.size, c.threads,
                   c.window, r.pubs_per_s, r.p50_us, r.p99_us, r.commands_per_pub,
                   ok ? "" : " FAILED (errors, lost or reordered)");
      std::printf("{\"scenario\":\"redis_links\",\"mode\":\"%s\",\"history\":%s,"
                  "\"publications\":%llu,\"size\":%zu,\"threads\":%u,\"window\":%td,"
                  "\"seconds\":%.4f,\"pubs_per_s\":%.1f,\"p50_us\":%.2f,\"p99_us\":%.2f,"
                  "\"commands_per_pub\":%.3f,\"errors\":%llu,\"delivered\":%s,"
                  "\"out_of_order\":%llu}\n",
                  m, hist ? "true" : "false", static_cast<unsigned long long>(c.publications),
                  c.size, c.threads, c.window, r.seconds, r.pubs_per_s, r.p50_us, r.p99_us,
                  r.commands_per_pub, static_cast<unsigned long long>(r.errors),
                  r.delivered ? "true" : "false",
                  static_cast<unsigned long long>(r.out_of_order));
      std::fflush(stdout);
    }
  }
  return rc;
}
