// node_bus: request/response between duplex nodes over Redis Pub/Sub, so that a request which
// lands on a node that does not own its session is answered by the node that does (no sticky
// sessions: Socket.IO long-polling, the Centrifugo /emulation endpoint).
//
// Every node listens on its node topic `P:n:<node_id>` (redis_broker). A request is one
// PUBLISH there: envelope "D1f" {from, id, service, session, body}; the owner runs the
// service's handler, which answers once through its responder; the response is one PUBLISH on
// the asking node's topic: "D1r" {id, status, content_type, body}. So a forwarded request costs
// two Redis commands and two Pub/Sub deliveries.
//
// Failure is explicit, never a hang: PUBLISH reaching no node (the owner is gone) or Redis
// down answers at once with status 0; no response within the request's timeout answers status
// 0 too (the caller maps it to its protocol's "unknown session"). A response for an unknown id
// (timed out, or forged) is dropped and counted. Messages are decoded strictly
// (redis::decode); a malformed one is dropped, counted and logged.
//
// Threads: request() from any thread; handlers and the internal state run on the broker's loop
// thread (set redis_broker_options::on_node_message to call on_message). A responder may be
// called from any thread, once.
//
// Lifetime: construct, serve() every service, then create the broker with the hook and
// attach() it. shutdown() on the loop thread answers every pending request with status 0.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/executor.h"
#include "hub/broker.h"
#include "net/loop.h"

namespace duplex::redis {

class redis_broker;

struct bus_response {
  int status = 0;  // 0: not answered (owner gone, Redis down, timeout); else HTTP-like
  std::string content_type;
  std::string body;
};

struct node_bus_stats {
  std::uint64_t requests_sent = 0;
  std::uint64_t requests_served = 0;
  std::uint64_t unanswered = 0;  // status 0 given to a caller (no owner, Redis down, timeout)
  std::uint64_t dropped = 0;     // malformed messages, responses nobody waits for
};

class node_bus {
 public:
  using responder = std::function<void(bus_response)>;
  // Loop thread. `session` and `body` are the request's; answer through `respond` (any thread,
  // exactly once; a responder dropped without a call answers nothing and the asker times out).
  using service_fn = std::function<void(std::string session, std::string body, responder respond)>;

  node_bus(net::loop& l, std::string node_id);
  ~node_bus();
  node_bus(const node_bus&) = delete;
  node_bus& operator=(const node_bus&) = delete;

  // Before attach().
  void serve(std::string service, service_fn fn);
  void attach(redis_broker& b) { broker_ = &b; }

  const std::string& node_id() const noexcept { return node_id_; }

  // Sends a request to `node`; done(response) on reply_on (the loop thread when null).
  // Any thread.
  void request(std::string node, std::string service, std::string session, std::string body,
               std::chrono::milliseconds timeout, executor* reply_on,
               hub::callback<bus_response> done);

  // redis_broker_options::on_node_message. Loop thread.
  void on_message(std::string_view payload);

  // Loop thread: pending requests get status 0; later requests too.
  void shutdown();

  node_bus_stats stats() const noexcept;

 private:
  struct pending {
    executor* reply_on = nullptr;
    hub::callback<bus_response> done;
    timer_id timer = 0;
  };
  void finish(std::uint64_t id, bus_response r);
  void dropped(std::string_view why, std::string_view sample);

  net::loop& loop_;
  const std::string node_id_;
  redis_broker* broker_ = nullptr;
  std::unordered_map<std::string, service_fn> services_;
  std::unordered_map<std::uint64_t, pending> pending_;  // loop thread
  std::uint64_t next_id_ = 1;                           // loop thread
  bool shut_down_ = false;                              // loop thread
  std::atomic<std::uint64_t> sent_{0}, served_{0}, unanswered_{0}, dropped_{0};
};

}  // namespace duplex::redis
