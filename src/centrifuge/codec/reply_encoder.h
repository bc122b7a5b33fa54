// Replies to client commands, JSON (client.proto Reply): {"id":N,"<method>":{...}} or
// {"id":N,"error":{...}}. Each function appends exactly one reply, without a line separator;
// replies and pushes batched into one frame are joined with '\n' (append_separator), which is
// how centrifuge-js splits them (docs/transports/client_protocol.md, "Top level batching").
//
// Cost: appends into `out` (reserve once per frame and reuse the string: no allocation per
// reply once it has grown). Not thread-safe per `out`; no global state.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "centrifuge/codec/codes.h"
#include "centrifuge/codec/results.h"

namespace duplex::centrifuge {

// Appends '\n' when `out` already holds a reply (the batch separator).
inline void append_separator(std::string& out) {
  if (!out.empty()) out.push_back('\n');
}

void encode_error_reply(std::string& out, std::uint32_t id, const error_info& e);
inline void encode_error_reply(std::string& out, std::uint32_t id, error_code c) {
  encode_error_reply(out, id, error_info::of(c));
}

void encode_connect_reply(std::string& out, std::uint32_t id, const connect_result& r);
void encode_subscribe_reply(std::string& out, std::uint32_t id, const subscribe_result& r);
void encode_unsubscribe_reply(std::string& out, std::uint32_t id);  // {"id":N,"unsubscribe":{}}
void encode_publish_reply(std::string& out, std::uint32_t id);      // {"id":N,"publish":{}}
// Presence: a map from client id to client_info; the key is each entry's `client`.
void encode_presence_reply(std::string& out, std::uint32_t id, std::span<const client_info> clients);
void encode_presence_stats_reply(std::string& out, std::uint32_t id, const presence_stats_result& r);
void encode_history_reply(std::string& out, std::uint32_t id, const history_result& r);
void encode_ping_reply(std::string& out, std::uint32_t id);  // {"id":N,"ping":{}}
void encode_rpc_reply(std::string& out, std::uint32_t id, std::string_view data_json);
void encode_refresh_reply(std::string& out, std::uint32_t id, const refresh_result& r);
void encode_sub_refresh_reply(std::string& out, std::uint32_t id, const sub_refresh_result& r);

// The server's ping in protocol v2: an empty reply `{}` (the client answers with `{}`).
inline void encode_server_ping(std::string& out) { out.append("{}"); }

}  // namespace duplex::centrifuge
