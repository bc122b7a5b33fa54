// app: the `duplex serve` program as a library object — where the layers meet.
//
// From one validated `config` it builds, in this order: the wire-format registry (the
// protocol layers register their formats), the namespace table, the broker (memory), the
// duplex::server and its loop threads (prepare), the hub with one shard per loop thread, the
// token verifier, the Centrifugo node, the metrics registry; then the endpoints:
//   /connection/websocket   Centrifugo client protocol v2 (JSON)
//   /api/<method>           server API (POST, API key), Centrifugo-compatible
//   /metrics, /health       Prometheus text, liveness
//   /echo                   WebSocket echo (the demo page's first example)
//   /                       static demo pages from web_root
// and listens. run() blocks until stop(); stop() is the graceful shutdown: listeners close,
// Centrifugo clients get 3001 "shutdown" (the SDKs reconnect, elsewhere if there is a
// balancer), other WebSockets 1001, and run() returns within the close timeout.
//
// Thread safety: start() and run() from one thread; stop() from any thread (a signal waiter).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <system_error>

#include "server/config.h"

namespace duplex::service {

class app {
 public:
  // `web_root`: folder of the demo pages ("" = none); cfg.listen.web_root overrides it.
  app(config cfg, std::string web_root);
  ~app();
  app(const app&) = delete;
  app& operator=(const app&) = delete;

  // Before start(): also run the `--demo` publisher (simulated prices into ticker.prices,
  // server/demo_ticker.h) on loop thread 0 once the server starts.
  void enable_demo_ticker() noexcept;

  // Builds everything and opens the listeners. On error nothing is served; `why` says what.
  std::error_code start(std::string& why);
  std::uint16_t port() const;
  void run();
  void stop();

  // The /metrics text (any thread).
  std::string metrics_text() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace duplex::service
