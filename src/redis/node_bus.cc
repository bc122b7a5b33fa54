#include "redis/node_bus.h"

#include <spdlog/spdlog.h>

#include <utility>
#include <vector>

#include "base/assert.h"
#include "redis/envelope.h"
#include "redis/redis_broker.h"

namespace duplex::redis {

node_bus::node_bus(net::loop& l, std::string node_id) : loop_(l), node_id_(std::move(node_id)) {}

node_bus::~node_bus() = default;

void node_bus::serve(std::string service, service_fn fn) {
  services_[std::move(service)] = std::move(fn);
}

void node_bus::request(std::string node, std::string service, std::string session,
                       std::string body, std::chrono::milliseconds timeout, executor* reply_on,
                       hub::callback<bus_response> done) {
  loop_.post([this, node = std::move(node), service = std::move(service),
              session = std::move(session), body = std::move(body), timeout, reply_on,
              done = std::move(done)]() mutable {
    if (shut_down_ || broker_ == nullptr) {
      unanswered_.fetch_add(1, std::memory_order_relaxed);
      return hub::complete(reply_on, std::move(done), bus_response{});
    }
    const std::uint64_t id = next_id_++;
    pending& p = pending_[id];
    p.reply_on = reply_on;
    p.done = std::move(done);
    p.timer = loop_.run_after(timeout, [this, id] {
      auto it = pending_.find(id);
      if (it != pending_.end()) it->second.timer = 0;
      finish(id, bus_response{});
    });
    forwarded f;
    f.from = node_id_;
    f.id = id;
    f.service = std::move(service);
    f.session = std::move(session);
    f.body = std::move(body);
    sent_.fetch_add(1, std::memory_order_relaxed);
    // nullptr: the count comes back on the loop thread, where pending_ lives.
    broker_->send_to_node(node, encode_request(f), nullptr, [this, id](long long receivers) {
      if (receivers <= 0) finish(id, bus_response{});  // no such node, or Redis down
    });
  });
}

void node_bus::finish(std::uint64_t id, bus_response r) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  pending p = std::move(it->second);
  pending_.erase(it);
  if (p.timer != 0) loop_.cancel(p.timer);
  if (r.status == 0) unanswered_.fetch_add(1, std::memory_order_relaxed);
  hub::complete(p.reply_on, std::move(p.done), std::move(r));
}

void node_bus::dropped(std::string_view why, std::string_view sample) {
  const auto n = dropped_.fetch_add(1, std::memory_order_relaxed);
  if (n % 1000 == 0) {
    spdlog::warn("node bus: dropped a message ({}); {} so far; first bytes: {:?}", why, n + 1,
                 sample.substr(0, 64));
  }
}

void node_bus::on_message(std::string_view payload) {
  envelope env;
  if (const envelope_error e = decode(payload, env); e != envelope_error::ok) {
    return dropped(to_string(e), payload);
  }
  if (env.kind == envelope_kind::response) {
    if (!pending_.contains(env.fwd.id)) return dropped("response nobody waits for", payload);
    const auto status = static_cast<int>(env.fwd.status);
    if (status == 0) return dropped("response with status 0", payload);
    return finish(env.fwd.id, bus_response{status, std::move(env.fwd.content_type),
                                           std::move(env.fwd.body)});
  }
  if (env.kind != envelope_kind::request) return dropped("not a node message", payload);
  auto sit = services_.find(env.fwd.service);
  if (shut_down_ || broker_ == nullptr) return dropped("request while shutting down", payload);
  if (sit == services_.end()) return dropped("request for an unknown service", payload);
  served_.fetch_add(1, std::memory_order_relaxed);
  // The responder may run on any thread; the broker posts the PUBLISH to its loop.
  redis_broker* b = broker_;
  responder respond = [b, to = std::move(env.fwd.from), id = env.fwd.id](bus_response r) {
    forwarded f;
    f.id = id;
    f.status = r.status <= 0 || r.status > 999 ? 500 : static_cast<std::uint64_t>(r.status);
    f.content_type = std::move(r.content_type);
    f.body = std::move(r.body);
    b->send_to_node(to, encode_response(f), nullptr, {});
  };
  sit->second(std::move(env.fwd.session), std::move(env.fwd.body), std::move(respond));
}

void node_bus::shutdown() {
  shut_down_ = true;
  std::vector<std::uint64_t> ids;
  ids.reserve(pending_.size());
  for (const auto& [id, p] : pending_) ids.push_back(id);
  for (std::uint64_t id : ids) finish(id, bus_response{});
}

node_bus_stats node_bus::stats() const noexcept {
  node_bus_stats s;
  s.requests_sent = sent_.load(std::memory_order_relaxed);
  s.requests_served = served_.load(std::memory_order_relaxed);
  s.unanswered = unanswered_.load(std::memory_order_relaxed);
  s.dropped = dropped_.load(std::memory_order_relaxed);
  return s;
}

}  // namespace duplex::redis
