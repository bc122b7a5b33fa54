// Per-namespace channel options and the table that resolves a channel to them.
//
// Options are configuration: built once at start-up (server/ reads them from TOML) and then
// read concurrently by every shard without locks, so a namespace_table must not be modified
// after the hub that uses it has started.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "hub/channel_name.h"
#include "hub/error.h"

namespace duplex::hub {

// Who may perform an action. Ordered: a credential satisfies every rule at or below its rank.
enum class access : std::uint8_t {
  anonymous = 0,      // anyone, even without a connection token
  authenticated = 1,  // a connection with a user (token or proxy-authenticated)
  token_only = 2,     // only with a subscription token for this channel
  server_only = 3,    // nobody but the server itself (HTTP API, server-side subscriptions)
};

// What the caller of a hub operation proved. `server` is the HTTP API / server-side
// subscriptions and passes every rule.
enum class credential : std::uint8_t {
  anonymous = 0,
  authenticated = 1,
  subscription_token = 2,
  server = 3,
};

constexpr bool allows(access rule, credential who) noexcept {
  return static_cast<std::uint8_t>(who) >= static_cast<std::uint8_t>(rule);
}

// What the hub does when a session reports that a subscriber cannot keep up
// (channel_hub::report_slow).
enum class slow_consumer_policy : std::uint8_t {
  disconnect,  // the session closes with a "reconnect later" advice; the client recovers
  drop,        // the session drops what does not fit; the subscriber is told it has a gap
};

struct namespace_options {
  // History: both must be non-zero for a channel to keep history and get offsets/epochs.
  std::size_t history_size = 0;
  std::chrono::milliseconds history_ttl{0};
  // Recovery replays at most this many publications (bounds a reconnect storm's work).
  std::size_t recovery_max_publications = 10000;

  bool presence = false;
  bool join_leave = false;  // push join/leave events to subscribers (needs presence on)

  access subscribe = access::authenticated;
  access publish = access::server_only;
  access presence_read = access::authenticated;
  access history_read = access::authenticated;

  std::size_t max_subscribers = 0;  // per channel, across all shards; 0 = unlimited
  slow_consumer_policy slow_policy = slow_consumer_policy::disconnect;

  bool history_enabled() const noexcept { return history_size > 0 && history_ttl.count() > 0; }
};

class namespace_table {
 public:
  namespace_table() = default;
  explicit namespace_table(namespace_options default_options) : default_(default_options) {}

  // Options of channels without a namespace.
  void set_default(const namespace_options& o) { default_ = o; }
  // Adds or replaces a named namespace. The name should satisfy channel_name's namespace rule.
  void add(std::string name, const namespace_options& o);

  // Options for a parsed channel name; nullptr when its namespace is not configured.
  const namespace_options* find(const channel_name& name) const noexcept;
  const namespace_options* find_namespace(std::string_view ns) const noexcept;

  std::size_t max_channel_length = default_max_channel_length;

 private:
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  namespace_options default_;
  std::unordered_map<std::string, namespace_options, string_hash, std::equal_to<>> named_;
};

// Parses `channel` and finds its options. On success returns error::ok and sets *out.
// Errors: bad_channel (with *why set) or unknown_namespace.
error resolve_channel(const namespace_table& table, std::string_view channel,
                      const namespace_options** out, channel_error* why = nullptr) noexcept;

}  // namespace duplex::hub
