// Test helpers for the hub's unit tests (header-only, used by *_test.cc in this folder).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hub/channel_hub.h"
#include "hub/subscriber.h"

namespace duplex::hub::hub_test {

// Records what the hub hands it. Touched only on its shard's thread.
class recording_subscriber final : public subscriber {
 public:
  struct received {
    push_kind kind;
    std::string channel;
    std::uint64_t offset;
    std::string data;
    std::string who;      // client id for join/leave
    const void* frame;    // address of the shared frame bytes
    std::string frame_text;
  };

  recording_subscriber(wire_format f, std::string client_id, std::string user_id = "u")
      : format_(f) {
    info_.client_id = std::move(client_id);
    info_.user_id = std::move(user_id);
  }

  wire_format format() const noexcept override { return format_; }
  const client_info& client() const noexcept override { return info_; }
  void deliver(const delivery& d) override {
    shared_payload frame = d.frame(format_);
    got.push_back(received{d.kind(), d.pub().channel, d.pub().offset,
                           std::string(d.pub().data.view()),
                           d.pub().info ? d.pub().info->client_id : std::string(),
                           frame.bytes().data(), std::string(frame.view())});
    if (on_deliver) on_deliver(d);
  }
  void on_slow(std::string_view channel, slow_consumer_policy applied) override {
    slow.emplace_back(std::string(channel), applied);
  }

  std::vector<received> got;
  std::vector<std::pair<std::string, slow_consumer_policy>> slow;
  std::function<void(const delivery&)> on_deliver;

 private:
  wire_format format_;
  client_info info_;
};

// Encoder that counts its calls and frames pushes as "<tag>|<kind>|<channel>|<offset>|<data>".
struct counting_encoder {
  std::string tag;
  std::atomic<int>* calls;
  shared_payload operator()(push_kind kind, const publication& pub) const {
    calls->fetch_add(1, std::memory_order_relaxed);
    const char* k = kind == push_kind::publication ? "pub" : kind == push_kind::join ? "join" : "leave";
    return shared_payload::copy_of(tag + "|" + k + "|" + pub.channel + "|" +
                                   std::to_string(pub.offset) + "|" + std::string(pub.data.view()));
  }
};

}  // namespace duplex::hub::hub_test
