// duplex::sdk — a client for the Centrifugo client protocol v2 (JSON over WebSocket), the
// protocol `duplex serve` speaks on /connection/websocket.
//
//   duplex::sdk::client c({.endpoints = {"ws://127.0.0.1:8000/connection/websocket"}});
//   auto sub = c.new_subscription("chat:room");
//   sub->on_publication([](const duplex::sdk::publication& p) { std::puts(p.data.c_str()); });
//   sub->subscribe();
//   c.connect();
//   ...
//   c.close();   // or let the destructor do it
//
// Behaviour (see docs/client.md): states disconnected -> connecting -> connected; automatic
// reconnect with exponential backoff and full jitter between min and max_reconnect_delay
// (reset after a connection that lasted); the server's ping/pong heartbeat, and a reconnect
// when no ping arrives within ping interval + max_server_ping_delay; endpoints tried in turn;
// a token refreshed through get_token on error 109 (token expired) and on reconnects.
// Subscriptions survive reconnects: they are resubscribed with recovery from the last offset
// and epoch; subscribed_event says whether the stream was recovered or has a gap.
//
// Thread safety: every method of client and subscription may be called from any thread at
// any time (including from callbacks). Callbacks run on the client's own loop thread, one at
// a time, never concurrently with each other; the thread starts with the first method call and
// is joined by close() or the destructor. Do not destroy the client from one of its callbacks
// (close() from a callback only disconnects; the destructor joins). close() and the destructor
// still fire on_disconnected (and subscriptions' on_subscribing) if the client was connected:
// objects those handlers use must outlive the client.
// Handlers are applied in call order with everything else: set them before connect() and
// subscribe() to see the first events.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "duplex/client.h"

namespace duplex::sdk {

// An error from the server (a reply's error: code, message, temporary) or from the client
// itself (codes below 100, see client_error).
struct error {
  std::uint32_t code = 0;
  std::string message;
  bool temporary = false;
};

// Codes of errors the client produces itself (server error codes start at 100).
enum class client_error : std::uint32_t {
  timeout = 1,         // no reply within client_config::timeout
  disconnected = 2,    // not connected and not buffered (or the connection dropped before the reply)
  closed = 3,          // the client was disconnected by the application / closed
  buffer_full = 5,     // max_buffered_publishes reached
  bad_reply = 6,       // the server's reply could not be understood
  bad_request = 7,     // an argument is invalid (e.g. data that is not JSON)
};

// Either err or a value.
template <class T>
struct result {
  std::optional<sdk::error> err;
  T value{};
  explicit operator bool() const noexcept { return !err.has_value(); }
};
struct empty {};

enum class client_state : std::uint8_t { disconnected, connecting, connected };
enum class subscription_state : std::uint8_t { unsubscribed, subscribing, subscribed };

struct client_info {
  std::string user;
  std::string client;
  std::string conn_info;  // raw JSON, "" if absent
  std::string chan_info;  // raw JSON, "" if absent
};

struct publication {
  std::string channel;
  std::string data;  // raw JSON text
  std::uint64_t offset = 0;
  std::optional<client_info> info;
  std::map<std::string, std::string> tags;
};

// A subscription became subscribed (first time or after a reconnect / resubscribe).
struct subscribed_event {
  std::string channel;
  bool was_recovering = false;  // recovery was asked for (the subscription had a position)
  bool recovered = false;       // was_recovering and nothing was missed: no gap
  bool positioned = false;      // the channel keeps offsets (recoverable/positioned stream)
  std::uint64_t offset = 0;     // stream position after the replayed publications
  std::string epoch;
  std::string data;  // raw JSON, "" if absent
};

// was_recovering && !recovered means a gap: publications were lost; reload state.
inline bool has_gap(const subscribed_event& e) { return e.was_recovering && !e.recovered; }

struct unsubscribed_event {
  std::string channel;
  std::uint32_t code = 0;  // 0: by the application; 2000..: unsubscribe push; client codes
  std::string reason;
};

struct connected_event {
  std::string client_id;
  std::string version;
  std::string data;  // raw JSON, "" if absent
  std::string endpoint;
};

// on_connecting / on_disconnected: a code and reason. Codes: 0 connect() called; 1 transport
// closed (with the WebSocket/close code in the reason); 2 no ping from the server
// (heartbeat lost); 3 connect timeout; 3000..4999 Centrifugo disconnect codes (3500..3999,
// 4500..4999 are terminal: the client stays disconnected); 4 disconnect() called.
struct state_event {
  std::uint32_t code = 0;
  std::string reason;
};

struct presence_entry {
  std::string client;
  std::string user;
  std::string conn_info;  // raw JSON
  std::string chan_info;  // raw JSON
};
struct presence_stats {
  std::uint32_t num_clients = 0;
  std::uint32_t num_users = 0;
};
struct history_options {
  std::int32_t limit = 0;  // 0: only the position (no publications)
  std::optional<std::uint64_t> since_offset;  // with since_epoch: from this position on
  std::string since_epoch;
  bool reverse = false;
};
struct history_result {
  std::vector<publication> publications;
  std::uint64_t offset = 0;
  std::string epoch;
};

struct client_config {
  // ws:// or wss:// URLs of /connection/websocket, tried in turn (next one on each failure).
  std::vector<std::string> endpoints;
  std::string token;  // connection JWT ("" if the server needs none)
  // Called (on the loop thread) for a new token when the server says it expired (error 109)
  // and before reconnecting after one; nullopt or "" -> disconnect with code 3500.
  std::function<std::optional<std::string>()> get_token;
  std::string name = "duplex-cpp";
  std::string version;
  std::chrono::milliseconds min_reconnect_delay{200};
  std::chrono::milliseconds max_reconnect_delay{20000};
  // A connection that stays up this long resets the backoff to min_reconnect_delay.
  std::chrono::milliseconds stable_connection{5000};
  std::chrono::milliseconds timeout{5000};                 // connect and command timeout
  std::chrono::milliseconds max_server_ping_delay{10000};  // reconnect when no ping for ping + this
  std::size_t max_buffered_publishes = 0;  // client-level publishes kept while disconnected
  duplex::client_options ws;               // TLS, headers, origin
};

struct subscription_options {
  std::string token;  // subscription token ("" if none)
  std::string data;   // raw JSON sent with subscribe, "" if none
  bool recoverable = true;  // ask for recovery on resubscribe
  // Start from a known position (e.g. saved by the application); epoch must match.
  std::optional<std::uint64_t> since_offset;
  std::string since_epoch;
  bool join_leave = false;  // ask for join/leave pushes
};

// Statistics, read with client::stats().
struct client_stats {
  std::uint64_t connects = 0;          // successful connect replies
  std::uint64_t connect_attempts = 0;  // transport connects started
  std::uint64_t publications = 0;      // publication pushes received
  std::uint64_t commands_sent = 0;
  std::uint64_t pings = 0;          // server pings received
  std::uint64_t heartbeat_losses = 0;
  std::uint64_t buffered_publishes = 0;  // current number
};

class client;

// One channel subscription of a client. Created by client::new_subscription; owned by the
// client and the application together (shared_ptr). Methods are thread-safe.
class subscription {
 public:
  ~subscription();
  subscription(const subscription&) = delete;
  subscription& operator=(const subscription&) = delete;

  const std::string& channel() const noexcept;
  subscription_state state() const;

  // Ask to be subscribed (now if connected, otherwise on connect); kept across reconnects
  // until unsubscribe().
  void subscribe();
  void unsubscribe();

  // Commands on this channel; cb runs on the loop thread (cb may be empty).
  void publish(std::string json, std::function<void(result<empty>)> cb = {});
  void presence(std::function<void(result<std::vector<presence_entry>>)> cb);
  void presence_stats(std::function<void(result<sdk::presence_stats>)> cb);
  void history(history_options opts, std::function<void(result<history_result>)> cb);

  // Last known stream position (updated by publications and subscribe replies).
  std::uint64_t offset() const;
  std::string epoch() const;

  // Handlers; set them before subscribe(). Each replaces the previous one.
  void on_publication(std::function<void(const publication&)> fn);
  void on_subscribing(std::function<void(const state_event&)> fn);
  void on_subscribed(std::function<void(const subscribed_event&)> fn);
  void on_unsubscribed(std::function<void(const unsubscribed_event&)> fn);
  void on_error(std::function<void(const sdk::error&)> fn);
  void on_join(std::function<void(const client_info&)> fn);
  void on_leave(std::function<void(const client_info&)> fn);

  struct impl;

 private:
  friend class client;
  explicit subscription(std::shared_ptr<impl> d);
  std::shared_ptr<impl> impl_;
};

class client {
 public:
  explicit client(client_config config);
  // close(): disconnects and joins the loop thread. Must not run on the loop thread.
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // Start connecting (and reconnecting until disconnect()). Idempotent.
  void connect();
  // Disconnect and stay disconnected (subscriptions are kept and resubscribed on connect()).
  void disconnect();
  // disconnect() and stop the loop thread; the client cannot be used afterwards. From a
  // callback, only disconnects (the destructor joins).
  void close();
  client_state state() const;

  // A subscription for channel. A second call for the same channel returns the same object.
  std::shared_ptr<subscription> new_subscription(std::string channel, subscription_options opts = {});
  std::shared_ptr<subscription> get_subscription(const std::string& channel) const;
  // Forget a subscription (unsubscribes it first).
  void remove_subscription(const std::shared_ptr<subscription>& sub);

  // Commands. While not connected, publish is buffered (up to max_buffered_publishes, then
  // buffer_full) and the others fail at once with client_error::disconnected.
  void publish(std::string channel, std::string json, std::function<void(result<empty>)> cb = {});
  // data: raw JSON; the result is the reply's raw JSON data ("" if none).
  void rpc(std::string method, std::string json, std::function<void(result<std::string>)> cb);
  void presence(std::string channel, std::function<void(result<std::vector<presence_entry>>)> cb);
  void presence_stats(std::string channel, std::function<void(result<sdk::presence_stats>)> cb);
  void history(std::string channel, history_options opts, std::function<void(result<history_result>)> cb);
  // Asynchronous message to the server (send command); no reply.
  void send(std::string json);

  // Handlers; set them before connect(). Each replaces the previous one.
  void on_connecting(std::function<void(const state_event&)> fn);
  void on_connected(std::function<void(const connected_event&)> fn);
  void on_disconnected(std::function<void(const state_event&)> fn);
  void on_error(std::function<void(const sdk::error&)> fn);
  // Publications of server-side subscriptions (channels not made with new_subscription).
  void on_publication(std::function<void(const publication&)> fn);
  // Server-side subscription became subscribed / unsubscribed.
  void on_subscribed(std::function<void(const subscribed_event&)> fn);
  void on_unsubscribed(std::function<void(const unsubscribed_event&)> fn);
  // Asynchronous message push from the server (raw JSON data).
  void on_message(std::function<void(const std::string&)> fn);

  client_stats stats() const;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace duplex::sdk
