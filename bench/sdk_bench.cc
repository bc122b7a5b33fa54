// sdk_bench: what the C++ client SDK (duplex::sdk) costs on the client side (issue 8's
// benchmark), to set beside the raw load generator's fan-out figures for the same server.
//
// C subscriber clients (each a duplex::sdk::client: its own loop thread and WebSocket) subscribe
// to one channel of a running `duplex serve`; one more SDK client publishes P publications at a
// fixed rate R (each carries its sequence number and its send time on this process's steady
// clock). Every subscriber must get every publication once, in order. Prints one JSON line:
// deliveries/s, this process's CPU time per delivery (getrusage over the window: the SDK's cost,
// publisher included), publish-to-delivery latency p50/p99, lost and out-of-order counts.
//
//   sdk_bench --url ws://127.0.0.1:8000/connection/websocket -c 100 -r 1000 -n 5000
//
// bench/run.py runs it as the `sdk_fanout` scenario next to the raw generator's fan-out with the
// same subscribers and rate (bench/README.md).
#include <CLI/CLI.hpp>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "duplex/centrifuge_client.h"

namespace {

using clock_type = std::chrono::steady_clock;

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_type::now().time_since_epoch())
      .count();
}

// One subscriber's tally (written on its client's thread, read after the run).
struct tally {
  std::mutex mu;
  std::uint64_t next = 1;
  std::uint64_t got = 0;
  std::uint64_t out_of_order = 0;
  std::vector<std::uint32_t> latency_us;
  bool subscribed = false;
};

// {"s":<seq>,"t":<ns>} -> seq, t (the bench writes exactly this shape).
bool read_data(const std::string& d, std::uint64_t& seq, std::int64_t& t) {
  return std::sscanf(d.c_str(), "{\"s\":%lu,\"t\":%ld}", &seq, &t) == 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"duplex::sdk client-side cost: C SDK subscribers, one SDK publisher"};
  std::string url = "ws://127.0.0.1:8000/connection/websocket";
  std::string channel = "sdkbench";
  unsigned clients = 100;
  double rate = 1000;
  std::uint64_t count = 5000;
  app.add_option("--url", url, "the server's /connection/websocket");
  app.add_option("--channel", channel, "channel (anonymous subscribe and publish allowed)");
  app.add_option("-c,--clients", clients, "subscriber clients")->check(CLI::Range(1u, 2000u));
  app.add_option("-r,--rate", rate, "publications/s")->check(CLI::PositiveNumber);
  app.add_option("-n,--count", count, "publications")->check(CLI::Range(1ul, 10000000ul));
  CLI11_PARSE(app, argc, argv);

  duplex::sdk::client_config cfg;
  cfg.endpoints = {url};
  std::vector<std::unique_ptr<tally>> tallies;
  std::vector<std::unique_ptr<duplex::sdk::client>> subs;
  for (unsigned i = 0; i < clients; ++i) {
    tallies.push_back(std::make_unique<tally>());
    tally* t = tallies.back().get();
    t->latency_us.reserve(count);
    auto c = std::make_unique<duplex::sdk::client>(cfg);
    auto s = c->new_subscription(channel);
    s->on_publication([t](const duplex::sdk::publication& p) {
      const std::int64_t arrived = now_ns();
      std::uint64_t seq = 0;
      std::int64_t sent = 0;
      std::lock_guard lk(t->mu);
      if (!read_data(p.data, seq, sent) || seq != t->next) ++t->out_of_order;
      t->next = seq + 1;
      ++t->got;
      t->latency_us.push_back(static_cast<std::uint32_t>(std::max<std::int64_t>(0, arrived - sent) / 1000));
    });
    s->on_subscribed([t](const duplex::sdk::subscribed_event&) {
      std::lock_guard lk(t->mu);
      t->subscribed = true;
    });
    s->subscribe();
    c->connect();
    subs.push_back(std::move(c));
  }
  duplex::sdk::client publisher(cfg);
  publisher.connect();

  // Everyone subscribed (bounded wait).
  const auto deadline = clock_type::now() + std::chrono::seconds(30);
  for (;;) {
    std::size_t ready = 0;
    for (auto& t : tallies) {
      std::lock_guard lk(t->mu);
      ready += t->subscribed ? 1 : 0;
    }
    if (ready == clients) break;
    if (clock_type::now() > deadline) {
      std::fprintf(stderr, "sdk_bench: only %zu of %u clients subscribed\n", ready, clients);
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  std::atomic<std::uint64_t> publish_errors{0};
  const double cpu0 = cpu_seconds();
  const auto t0 = clock_type::now();
  for (std::uint64_t seq = 1; seq <= count; ++seq) {
    const auto due = t0 + std::chrono::nanoseconds(static_cast<std::int64_t>(1e9 * static_cast<double>(seq - 1) / rate));
    std::this_thread::sleep_until(due);
    char data[64];
    std::snprintf(data, sizeof data, "{\"s\":%lu,\"t\":%ld}", static_cast<unsigned long>(seq),
                  static_cast<long>(now_ns()));
    publisher.publish(channel, data, [&publish_errors](duplex::sdk::result<duplex::sdk::empty> r) {
      if (r.err) publish_errors.fetch_add(1, std::memory_order_relaxed);
    });
  }
  // Until every subscriber has everything (or 10 s after the last publication).
  const auto end_by = clock_type::now() + std::chrono::seconds(10);
  for (;;) {
    std::uint64_t total = 0;
    for (auto& t : tallies) {
      std::lock_guard lk(t->mu);
      total += t->got;
    }
    if (total >= count * clients || clock_type::now() > end_by) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const double window = std::chrono::duration<double>(clock_type::now() - t0).count();
  const double cpu = cpu_seconds() - cpu0;

  std::uint64_t delivered = 0, out_of_order = 0;
  std::vector<std::uint32_t> lat;
  for (auto& t : tallies) {
    std::lock_guard lk(t->mu);
    delivered += t->got;
    out_of_order += t->out_of_order;
    lat.insert(lat.end(), t->latency_us.begin(), t->latency_us.end());
  }
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double q) {
    return lat.empty() ? 0.0 : static_cast<double>(lat[static_cast<std::size_t>(q * static_cast<double>(lat.size() - 1))]);
  };
  const std::uint64_t expected = count * clients;
  std::printf(
      "{\"scenario\":\"sdk_fanout\",\"clients\":%u,\"rate\":%.0f,\"publications\":%lu,"
      "\"deliveries\":%lu,\"lost\":%lu,\"out_of_order\":%lu,\"publish_errors\":%lu,"
      "\"window_s\":%.3f,\"deliveries_per_s\":%.0f,\"cpu_us_per_delivery\":%.4f,"
      "\"cpu_percent\":%.1f,\"p50_us\":%.0f,\"p99_us\":%.0f}\n",
      clients, rate, static_cast<unsigned long>(count), static_cast<unsigned long>(delivered),
      static_cast<unsigned long>(expected > delivered ? expected - delivered : 0),
      static_cast<unsigned long>(out_of_order),
      static_cast<unsigned long>(publish_errors.load()), window,
      static_cast<double>(delivered) / window,
      delivered == 0 ? 0.0 : 1e6 * cpu / static_cast<double>(delivered), 100.0 * cpu / window,
      pct(0.50), pct(0.99));
  publisher.close();
  for (auto& c : subs) c->close();
  return delivered == expected && out_of_order == 0 ? 0 : 2;
}
