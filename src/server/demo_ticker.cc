// demo_ticker: see demo_ticker.h.
#include "server/demo_ticker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <utility>

#include "base/shared_payload.h"
#include "hub/error.h"

namespace duplex::service {

price_walk::price_walk(std::vector<std::string> symbols, std::uint32_t seed)
    : symbols_(std::move(symbols)), cents_(symbols_.size(), 10000), rng_(seed) {}

std::string price_walk::next(std::int64_t unix_ms) {
  // Steps of -0.2%..+0.2% of the price, at least one cent either way: visible motion on a
  // chart without runaway prices; the floor keeps every price positive.
  std::uniform_int_distribution<int> permille(-2, 2);
  for (auto& c : cents_) {
    std::int64_t step = c * permille(rng_) / 1000;
    if (step == 0) step = (rng_() & 1) ? 1 : -1;
    c = std::max<std::int64_t>(100, c + step);
  }
  ++seq_;
  std::string out = "{\"seq\":" + std::to_string(seq_) + ",\"time\":" + std::to_string(unix_ms) +
                    ",\"prices\":{";
  char num[32];
  for (std::size_t i = 0; i < symbols_.size(); ++i) {
    std::snprintf(num, sizeof num, "%lld.%02lld", static_cast<long long>(cents_[i] / 100),
                  static_cast<long long>(cents_[i] % 100));
    out += (i ? ",\"" : "\"") + symbols_[i] + "\":" + num;
  }
  out += "}}";
  return out;
}

namespace {
std::uint32_t seed_of(std::uint32_t s) {
  if (s != 0) return s;
  return static_cast<std::uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count());
}
}  // namespace

demo_ticker::demo_ticker(hub::channel_hub& hub, executor& ex, demo_ticker_options opt)
    : hub_(hub), ex_(ex), opt_(std::move(opt)), walk_(opt_.symbols, seed_of(opt_.seed)) {}

void demo_ticker::start() {
  if (running_) return;
  running_ = true;
  spdlog::info("demo ticker: publishing simulated prices into {} every {} ms", opt_.channel,
               opt_.interval.count());
  tick();
}

void demo_ticker::stop() {
  running_ = false;
  if (timer_ != 0) ex_.cancel(std::exchange(timer_, 0));
}

void demo_ticker::tick() {
  timer_ = 0;
  if (!running_) return;
  const auto unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
  hub::publish_request req;
  req.channel = opt_.channel;
  req.data = shared_payload::copy_of(walk_.next(unix_ms));
  req.cred = hub::credential::server;
  // The reply comes back on ex_ (this thread). The ticker outlives its callbacks: it is
  // destroyed only after its loop stopped (demo_ticker.h).
  hub_.publish(std::move(req), &ex_, [this](hub::publish_result r) {
    if (r.err == hub::error::ok) return;
    if (errors_++ == 0) {
      spdlog::warn("demo ticker: publish into {} failed: {}", opt_.channel, hub::to_string(r.err));
    }
  });
  timer_ = ex_.run_after(opt_.interval, [this] { tick(); });
}

}  // namespace duplex::service
