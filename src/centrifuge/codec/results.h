// Values the server sends: results of replies and bodies of pushes (client.proto Reply/Push).
// Plain views, filled by the session for one encode call; nothing here owns memory.
// String fields are UTF-8 text (escaped on output); fields documented "raw JSON" are embedded
// as-is and must be valid JSON or empty (= absent). Fields holding their proto3 default
// (empty, 0, false) are left out of the JSON, as Centrifugo does; SDKs read them as defaults.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "centrifuge/codec/codes.h"

namespace duplex::centrifuge {

struct client_info {
  std::string_view user;
  std::string_view client;
  std::string_view conn_info;  // raw JSON
  std::string_view chan_info;  // raw JSON
};

struct tag {
  std::string_view key;
  std::string_view value;
};

struct publication {
  std::string_view data;  // raw JSON
  const client_info* info = nullptr;
  std::uint64_t offset = 0;
  std::span<const tag> tags;
  bool delta = false;
};

struct subscribe_result {
  bool expires = false;
  std::uint32_t ttl = 0;
  bool recoverable = false;
  std::string_view epoch;
  std::span<const publication> publications;
  bool recovered = false;
  std::uint64_t offset = 0;
  bool positioned = false;
  std::string_view data;  // raw JSON
  bool was_recovering = false;
  bool delta = false;
};

// One entry of ConnectResult.subs (a map keyed by channel).
struct channel_subscribe_result {
  std::string_view channel;
  subscribe_result result;
};

// ConnectResult, also the body of the connect push (unidirectional transports).
struct connect_result {
  std::string_view client;
  std::string_view version;
  bool expires = false;
  std::uint32_t ttl = 0;
  std::string_view data;  // raw JSON
  std::span<const channel_subscribe_result> subs;
  std::uint32_t ping = 0;  // server ping interval, seconds
  bool pong = false;       // client must answer pings
  std::string_view session;
  std::string_view node;
};

struct refresh_result {
  std::string_view client;
  std::string_view version;
  bool expires = false;
  std::uint32_t ttl = 0;
};

struct sub_refresh_result {
  bool expires = false;
  std::uint32_t ttl = 0;
};

struct presence_stats_result {
  std::uint32_t num_clients = 0;
  std::uint32_t num_users = 0;
};

struct history_result {
  std::span<const publication> publications;
  std::string_view epoch;
  std::uint64_t offset = 0;
};

// Server-side subscription push (Push.subscribe).
struct subscribe_push {
  bool recoverable = false;
  std::string_view epoch;
  std::uint64_t offset = 0;
  bool positioned = false;
  std::string_view data;  // raw JSON
};

// An error reply's body; see codes.h for the standard codes.
struct error_info {
  std::uint32_t code = 0;
  std::string_view message;
  bool temporary = false;

  static error_info of(error_code c) noexcept {
    return {static_cast<std::uint32_t>(c), error_message(c), error_temporary(c)};
  }
};

}  // namespace duplex::centrifuge
