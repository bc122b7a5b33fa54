// Internal state of duplex::sdk::client and subscription (include/duplex/centrifuge_client.h).
//
// Threading model: every public method posts a task to the client's net::loop; all state
// below marked "loop" is touched only on the loop thread, so it needs no lock. The few values
// read from other threads (state, stats, a subscription's position) are atomics or guarded by
// their own mutex. Callbacks run on the loop thread, from these tasks and from transport
// events; since public methods only post, a callback may call any of them without re-entering
// the state machine.
#pragma once

#include <atomic>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "client/backoff.h"
#include "client/wire.h"
#include "duplex/centrifuge_client.h"
#include "net/loop.h"
#include "net/tls.h"
#include "ws/connection.h"

namespace duplex::sdk {

// Codes of on_connecting / on_disconnected events that the client itself produces (the
// header lists them); the server's codes are 3000..4999.
namespace state_codes {
inline constexpr std::uint32_t connect_called = 0;
inline constexpr std::uint32_t transport_closed = 1;
inline constexpr std::uint32_t no_ping = 2;
inline constexpr std::uint32_t connect_timeout = 3;
inline constexpr std::uint32_t disconnect_called = 4;
inline constexpr std::uint32_t unauthorized = 3500;
}  // namespace state_codes

sdk::error make_error(client_error c, std::string message);

struct subscription::impl {
  impl(std::weak_ptr<client::impl> c, std::string ch, subscription_options o)
      : owner(std::move(c)), channel(std::move(ch)), opts(std::move(o)) {
    // A position the application saved: the first subscribe already asks for recovery.
    if (opts.since_offset) {
      has_position = true;
      offset = *opts.since_offset;
      epoch = opts.since_epoch;
      recoverable = true;
    }
  }

  const std::weak_ptr<client::impl> owner;
  const std::string channel;
  const subscription_options opts;
  std::atomic<subscription_state> state{subscription_state::unsubscribed};

  // loop
  bool wanted = false;          // subscribe() called and not unsubscribe()
  std::uint32_t pending_id = 0; // id of the subscribe command in flight, 0 if none
  bool lost_position = false;   // the server refused our position: report a gap next time
  bool recoverable = false;     // the last subscribe result said the stream is positioned
  timer_id retry_timer = 0;
  // Publications that arrive while the subscribe reply is on its way (the server subscribes
  // in the hub before it replies): delivered after the reply's replayed ones.
  std::vector<publication> early;
  static constexpr std::size_t max_early = 10000;
  std::function<void(const publication&)> on_publication;
  std::function<void(const state_event&)> on_subscribing;
  std::function<void(const subscribed_event&)> on_subscribed;
  std::function<void(const unsubscribed_event&)> on_unsubscribed;
  std::function<void(const sdk::error&)> on_error;
  std::function<void(const client_info&)> on_join;
  std::function<void(const client_info&)> on_leave;

  // Position: written on the loop, read from any thread.
  mutable std::mutex pos_mu;
  bool has_position = false;  // guarded by pos_mu
  std::uint64_t offset = 0;   // guarded by pos_mu
  std::string epoch;          // guarded by pos_mu

  void set_position(std::uint64_t off, const std::string& ep) {
    std::lock_guard l(pos_mu);
    has_position = true;
    offset = off;
    epoch = ep;
  }
};

struct client::impl : std::enable_shared_from_this<client::impl> {
  explicit impl(client_config c);
  ~impl();

  const client_config cfg;
  net::loop loop;
  std::atomic<client_state> state{client_state::disconnected};

  // Thread start/stop (any thread).
  std::mutex thread_mu;
  std::thread thread;      // guarded by thread_mu
  bool closed = false;     // guarded by thread_mu
  void ensure_thread();
  void shutdown();
  // Runs fn on the loop thread, starting it on first use.
  void post(std::function<void()> fn) {
    loop.post(std::move(fn));
    ensure_thread();
  }

  // Subscriptions by channel (any thread; the loop takes the lock briefly too).
  mutable std::mutex subs_mu;
  std::map<std::string, std::shared_ptr<subscription>> subs;
  std::vector<std::shared_ptr<subscription::impl>> subs_snapshot() const;
  std::shared_ptr<subscription::impl> find_sub(const std::string& channel) const;

  mutable std::mutex stats_mu;
  client_stats stats_;  // guarded by stats_mu
  template <class Fn>
  void count(Fn&& fn) {
    std::lock_guard l(stats_mu);
    fn(stats_);
  }

  // ---- loop ----
  std::function<void(const state_event&)> on_connecting, on_disconnected;
  std::function<void(const connected_event&)> on_connected;
  std::function<void(const sdk::error&)> on_error;
  std::function<void(const publication&)> on_publication;
  std::function<void(const subscribed_event&)> on_subscribed;
  std::function<void(const unsubscribed_event&)> on_unsubscribed;
  std::function<void(const std::string&)> on_message;

  bool wanted = false;   // connect() called and not disconnect()
  bool quitting = false; // shutdown(): stop the loop once no connection is left
  std::string token;
  backoff retry;
  std::size_t endpoint_index = 0;
  std::uint64_t gen = 0;            // transport generation: events of older ones are ignored
  ws::connection* conn = nullptr;   // current transport (connecting or open), or nullptr
  duplex::websocket* ws = nullptr;  // current transport once open
  bool code_token_expired = false;  // the next reconnect asks get_token first
  ws::connection_home home;         // counters and live connections of our transports
  std::size_t live_transports = 0;  // started and not yet ended (any generation)
  std::list<ws::endpoint_config> transport_cfgs;  // one per live transport
  std::map<std::pair<std::string, bool>, std::unique_ptr<net::tls_context>> tls;
  std::string endpoint;  // URL of the current transport
  timer_id reconnect_timer = 0, ping_timer = 0, connect_timer = 0, stable_timer = 0,
           refresh_timer = 0, stop_timer = 0;
  std::chrono::milliseconds ping_deadline{0};  // 0: the server does not ping
  bool send_pongs = false;
  std::uint32_t connect_id = 0;
  wire::decoder decoder;
  std::vector<wire::message> batch;  // reused per frame

  // Server-side subscriptions (made by the server, e.g. from the token's channels) and their
  // positions, sent with the next connect command so that the server recovers them too.
  struct server_sub {
    std::uint64_t offset = 0;
    std::string epoch;
    bool recoverable = false;
  };
  std::map<std::string, server_sub> server_subs;

  std::uint32_t next_id = 1;
  struct pending_command {
    std::function<void(wire::reply&)> on_reply;  // reply or error reply
    std::function<void(const sdk::error&)> on_fail;  // timeout / disconnect
    timer_id timer = 0;
  };
  std::map<std::uint32_t, pending_command> pending;
  struct buffered_publish {
    std::string channel, data;
    std::function<void(result<empty>)> cb;
  };
  std::deque<buffered_publish> buffered;

  // transport (client_transport.cc)
  void do_connect();
  void do_disconnect(std::uint32_t code, const std::string& reason);
  void start_transport();
  void drop_transport(std::uint32_t code, std::string reason);
  void transport_ended(std::uint64_t g, std::uint32_t code, std::string reason);
  void after_drop(std::uint32_t code, const std::string& reason);
  void schedule_reconnect(std::uint32_t code, const std::string& reason);
  void on_frame(std::string_view data);
  void on_connect_reply(wire::reply& r);
  void arm_ping_timer();
  void arm_refresh(std::uint32_t ttl_s);
  void cancel(timer_id& t);
  void set_state(client_state s) { state.store(s); }
  bool refresh_token();  // false: no token could be had

  // commands (centrifuge_client.cc)
  std::uint32_t send_command(std::string (*encode)(std::uint32_t, std::string_view),
                             std::string_view arg, pending_command pc);
  std::uint32_t send_raw(std::uint32_t id, std::string text, pending_command pc);
  void fail_pending(const sdk::error& e);
  void do_publish(std::string channel, std::string data, std::function<void(result<empty>)> cb);
  void flush_buffered();
  // Buffered publishes go out once the resubscriptions after a connect have their replies, so
  // that the application's own subscriptions see them.
  bool flush_after_subs = false;
  void maybe_flush();
  void do_presence(std::string channel, std::function<void(result<std::vector<presence_entry>>)> cb);
  void do_presence_stats(std::string channel, std::function<void(result<sdk::presence_stats>)> cb);
  void do_history(std::string channel, history_options o, std::function<void(result<history_result>)> cb);
  void on_push(wire::push& p);

  // subscriptions (subscription.cc)
  void sub_subscribe(const std::shared_ptr<subscription::impl>& s);
  void sub_unsubscribe(const std::shared_ptr<subscription::impl>& s, std::uint32_t code,
                       const std::string& reason);
  void send_subscribe(const std::shared_ptr<subscription::impl>& s);
  void on_subscribe_reply(const std::shared_ptr<subscription::impl>& s, wire::reply& r);
  void subs_to_subscribing(std::uint32_t code, const std::string& reason);
  void resubscribe_all();
  void deliver(subscription::impl& s, publication& p);
};

}  // namespace duplex::sdk
