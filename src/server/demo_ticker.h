// demo_ticker: the `duplex serve --demo` publisher — simulated prices, several times a second,
// published through the hub like any server-side publication (so every protocol's
// subscribers get them: the ticker demo page reads them over SSE from /events).
//
// Each publication is one JSON object (the publication data, embedded raw by every protocol):
//   {"seq":12,"time":1764081234567,"prices":{"ACME":101.25,"GLOBX":54.1,...}}
// `seq` starts at 1 and grows by one per tick, so a reader can see gaps on its own, whatever
// the transport's own offsets are; `time` is the wall clock in milliseconds (for display).
//
// price_walk is the pure part (a seeded random walk that formats the JSON), unit-tested without
// timers; demo_ticker drives it from one executor's timers.
//
// Thread safety and lifetime: start() and stop() must be called on the executor's thread (they
// use run_after/cancel). The ticker must outlive every timer it scheduled: stop() it, or stop
// the executor's loop, before destroying it. The hub must outlive the ticker.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "base/executor.h"
#include "hub/channel_hub.h"

namespace duplex::service {

class price_walk {
 public:
  // `symbols` are ASCII names (they are written into JSON unescaped). Prices start at 100.
  price_walk(std::vector<std::string> symbols, std::uint32_t seed);

  // Moves every price by a small random step (never below 1.00) and returns the next
  // publication's JSON text with seq = previous seq + 1 (the first is 1).
  std::string next(std::int64_t unix_ms);

  std::uint64_t seq() const noexcept { return seq_; }
  // Current prices, in cents, in the order of `symbols`.
  const std::vector<std::int64_t>& cents() const noexcept { return cents_; }

 private:
  std::vector<std::string> symbols_;
  std::vector<std::int64_t> cents_;
  std::mt19937 rng_;
  std::uint64_t seq_ = 0;
};

struct demo_ticker_options {
  std::string channel = "ticker.prices";  // default namespace: works with zero config
  std::chrono::milliseconds interval{200};
  std::vector<std::string> symbols = {"ACME", "GLOBX", "INITech", "UMBR", "WAYNE"};
  std::uint32_t seed = 0;  // 0: seed from the clock
};

class demo_ticker {
 public:
  demo_ticker(hub::channel_hub& hub, executor& ex, demo_ticker_options opt = {});
  ~demo_ticker() = default;
  demo_ticker(const demo_ticker&) = delete;
  demo_ticker& operator=(const demo_ticker&) = delete;

  // Publishes the first tick now and then one every interval, until stop(). Executor thread.
  void start();
  void stop();

  // Ticks published so far, and publish errors reported by the hub (a namespace that refuses
  // server publications, say: logged once).
  std::uint64_t published() const noexcept { return walk_.seq(); }
  std::uint64_t errors() const noexcept { return errors_; }

 private:
  void tick();

  hub::channel_hub& hub_;
  executor& ex_;
  demo_ticker_options opt_;
  price_walk walk_;
  timer_id timer_ = 0;
  bool running_ = false;
  std::uint64_t errors_ = 0;
};

}  // namespace duplex::service
