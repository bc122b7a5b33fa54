// The client side of the Centrifugo client protocol v2, JSON (sans-I/O): decoding the server's
// frames (replies, pushes, pings) into owned values, and encoding the client's commands.
//
// A frame holds one or more JSON objects separated by '\n' ("Top level batching",
// docs/transports/client_protocol.md). Each object is one of:
//   {}                                   server ping (protocol v2): answer with {} if pong
//   {"id":N,"<method>":{...}}            reply to command N (or {"id":N,"error":{...}})
//   {"push":{"channel":c,"<kind>":{...}}} asynchronous push
// Decoded values own their strings (they outlive the frame). Raw JSON fields (`data`,
// conn_info, chan_info) are kept as JSON text (minified by the parser).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "duplex/centrifuge_client.h"

namespace duplex::sdk::wire {

// Result of a subscribe reply (and of a connect reply's subs entries, and a subscribe push).
struct subscribe_result {
  bool expires = false;
  std::uint32_t ttl = 0;
  bool recoverable = false;
  std::string epoch;
  std::vector<publication> publications;  // `channel` is left empty
  bool recovered = false;
  std::uint64_t offset = 0;
  bool positioned = false;
  bool was_recovering = false;
  std::string data;
};

// Which result a reply carries (the key beside "id").
enum class reply_kind : std::uint8_t {
  none,  // only an error, or an unknown key
  connect,
  subscribe,
  unsubscribe,
  publish,
  presence,
  presence_stats,
  history,
  ping,
  rpc,
  refresh,
  sub_refresh,
};

struct reply {
  std::uint32_t id = 0;
  std::optional<sdk::error> err;
  reply_kind kind = reply_kind::none;
  // connect / refresh
  std::string client;
  std::string version;
  bool expires = false;
  std::uint32_t ttl = 0;
  std::uint32_t ping = 0;  // seconds
  bool pong = false;
  std::vector<std::pair<std::string, subscribe_result>> subs;
  // connect, rpc: raw JSON
  std::string data;
  // subscribe
  subscribe_result sub;
  // presence / presence_stats / history
  std::vector<presence_entry> presence;
  sdk::presence_stats stats;
  history_result history;
};

enum class push_kind : std::uint8_t {
  unknown,  // a kind this client does not know: ignored (forward compatibility)
  publication,
  join,
  leave,
  unsubscribe,
  subscribe,
  message,
  disconnect,
  connect,
  refresh,
};

struct push {
  push_kind kind = push_kind::unknown;
  std::string channel;
  publication pub;     // publication (pub.channel set)
  client_info info;    // join / leave
  std::uint32_t code = 0;  // unsubscribe / disconnect
  std::string reason;
  subscribe_result sub;  // subscribe push
  std::string data;      // message
};

struct message {
  enum class type : std::uint8_t { ping, reply, push } kind = type::ping;
  wire::reply reply;
  wire::push push;
};

// Decodes one WebSocket text frame. On success appends every message to `out` and returns
// an empty string; on malformed input returns what was wrong (messages decoded before the
// bad one stay in `out`). Never throws; any input is safe.
class decoder {
 public:
  decoder();
  ~decoder();
  decoder(const decoder&) = delete;
  decoder& operator=(const decoder&) = delete;

  std::string decode(std::string_view frame, std::vector<message>& out);

  // Most objects accepted in one frame (more: error).
  static constexpr std::size_t max_batch = 100000;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// ---- commands ----
// Each returns one command as JSON text {"id":id,"<method>":{...}}. `json` arguments are
// raw JSON the caller promises is valid (an empty one is left out).

struct subscribe_args {
  std::string_view channel;
  std::string_view token;
  std::string_view data;
  bool recover = false;
  std::uint64_t offset = 0;
  std::string_view epoch;
  bool join_leave = false;
};

std::string encode_connect(std::uint32_t id, std::string_view token, std::string_view name,
                           std::string_view version,
                           const std::vector<std::pair<std::string, subscribe_args>>& subs);
std::string encode_subscribe(std::uint32_t id, const subscribe_args& a);
std::string encode_unsubscribe(std::uint32_t id, std::string_view channel);
std::string encode_publish(std::uint32_t id, std::string_view channel, std::string_view json);
std::string encode_presence(std::uint32_t id, std::string_view channel);
std::string encode_presence_stats(std::uint32_t id, std::string_view channel);
std::string encode_history(std::uint32_t id, std::string_view channel, const history_options& o);
std::string encode_rpc(std::uint32_t id, std::string_view method, std::string_view json);
std::string encode_send(std::string_view json);
std::string encode_refresh(std::uint32_t id, std::string_view token);
// The pong to a server ping.
inline std::string encode_pong() { return "{}"; }

// True when `text` is one valid JSON value (what publish/rpc/send accept from the caller).
bool is_json(std::string_view text);

}  // namespace duplex::sdk::wire
