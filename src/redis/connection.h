// connection: one hiredis async context driven by a net::loop, that keeps itself connected.
//
// hiredis does the protocol (command formatting, the RESP reader, reply/callback matching);
// this class is the event-loop adapter hiredis asks for (its ev.addRead/delRead/addWrite/
// delWrite/cleanup hooks map onto loop::watch/rewatch/unwatch) plus the policy around it:
//   - reconnect with exponential backoff and jitter after a failed attempt or a lost link,
//     until stop();
//   - a connect timeout, and a command timeout: if replies stop coming while commands are
//     outstanding, the link is declared dead and dropped (a stalled Redis must not hold
//     callbacks forever); TCP keepalive covers idle links;
//   - while not up, command() refuses at once (returns false), so callers can fail their
//     requests promptly instead of queueing behind a connect that may never finish.
//
// Callbacks: every accepted command's reply_fn runs exactly once, on the loop thread, with the
// reply (owned by hiredis, valid only during the call) or with nullptr when the connection went
// away first (closed, timed out, stop(), destruction).
//
// Pub/Sub: subscribe()/unsubscribe() route every subscribe/unsubscribe/message reply to the
// push handler. hiredis 0.14 asserts if a subscribed context ever drops to zero subscriptions
// while a SUBSCRIBE is in flight, so a user that unsubscribes must keep one permanent
// subscription (the Redis broker keeps its node channel).
//
// Thread safety: loop thread only (start, stop, command, destruction); construction may happen
// anywhere. Hooks and reply callbacks must not stop() or destroy the connection (hiredis defers
// a free requested from inside its callbacks): post that to the loop instead.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <random>
#include <span>
#include <string>
#include <string_view>

#include "net/loop.h"
#include "redis/endpoint.h"

struct redisAsyncContext;
struct redisReply;

namespace duplex::redis {

struct connection_options {
  endpoint where;
  std::chrono::milliseconds connect_timeout{2000};
  // A link with outstanding commands and no reply for this long is dropped.
  std::chrono::milliseconds command_timeout{5000};
  std::chrono::milliseconds reconnect_min{50};
  std::chrono::milliseconds reconnect_max{5000};
  std::string client_name;  // CLIENT SETNAME after connecting; empty: none
};

// Loop-thread counters (read on the loop thread or after it stopped).
struct connection_stats {
  std::uint64_t connects = 0;          // links established
  std::uint64_t connect_failures = 0;  // attempts that failed or timed out
  std::uint64_t disconnects = 0;       // established links lost (or timed out)
  std::uint64_t timeouts = 0;          // connect or command timeouts
  std::uint64_t commands = 0;          // commands queued (SUBSCRIBE/UNSUBSCRIBE count as one)
};

class connection final : private net::detail::io_source {
 public:
  using reply_fn = std::function<void(redisReply* reply)>;
  using push_fn = std::function<void(redisReply& reply)>;

  connection(net::loop& l, connection_options opts);
  // Fails outstanding callbacks (nullptr). Loop thread, or after the loop stopped.
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // Hooks; set them before start(). on_up runs when a link is established, after AUTH/SELECT/
  // CLIENT SETNAME were queued: commands queued here go out before anything else. on_down runs
  // when an established link is lost, after its outstanding callbacks ran with nullptr.
  std::function<void()> on_up;
  std::function<void()> on_down;
  void set_push_handler(push_fn fn) { push_ = std::move(fn); }

  // Starts connecting; keeps reconnecting until stop(). Idempotent.
  void start();
  // Closes the link (outstanding callbacks run with nullptr), cancels reconnects. on_down runs
  // if a link was up. start() may be called again later.
  void stop();

  bool up() const noexcept { return state_ == state::up; }

  // Drops the current link as failed (outstanding callbacks run with nullptr, on_down runs)
  // and reconnects after the backoff: for an owner that found the link dead by its own check.
  // Not from inside hooks or reply callbacks.
  void reset();

  // While waiting to reconnect (after a failed attempt or a lost link), attempts at once
  // instead of at the end of the backoff; otherwise nothing. For an owner that learned that the
  // server is back (its other link to the same server just came up). Not from inside hooks or
  // reply callbacks.
  void retry_now();

  // Queues a command (args[0] is the command name); binary-safe arguments. Returns false
  // without calling or keeping cb when the link is not up.
  bool command(std::span<const std::string_view> args, reply_fn cb);
  // SUBSCRIBE / UNSUBSCRIBE the given channels (at least one); replies go to the push handler.
  bool subscribe(std::span<const std::string> channels);
  bool unsubscribe(std::span<const std::string> channels);

  // Commands (and per-channel subscribe/unsubscribe confirmations) still awaiting a reply.
  std::size_t outstanding() const noexcept { return outstanding_; }
  const connection_stats& stats() const noexcept { return stats_; }
  const connection_options& options() const noexcept { return opts_; }

 private:
  enum class state : std::uint8_t { stopped, connecting, up, waiting };

  void on_io(unsigned events) override;
  void connect_now();
  void schedule_retry();
  void arm_watchdog();
  void watchdog();
  // The context is gone (freed by hiredis or by us); was_up: it had been established.
  void context_gone(bool was_up);
  // Logs a failed connect: the first after a loss or start at warn, then one in 30.
  void log_connect_failure(std::string_view why);
  void abort_link();
  void set_events(unsigned events);
  void progress() noexcept;
  bool send_subscription(std::string_view verb, std::span<const std::string> channels);

  // hiredis hooks (privdata / ac->data is the connection).
  static void hook_add_read(void* self);
  static void hook_del_read(void* self);
  static void hook_add_write(void* self);
  static void hook_del_write(void* self);
  static void hook_cleanup(void* self);
  static void on_connect_cb(const redisAsyncContext* ac, int status);
  static void on_disconnect_cb(const redisAsyncContext* ac, int status);
  static void on_reply_cb(redisAsyncContext* ac, void* reply, void* privdata);
  static void on_push_cb(redisAsyncContext* ac, void* reply, void* privdata);

  net::loop& loop_;
  connection_options opts_;
  push_fn push_;
  redisAsyncContext* ctx_ = nullptr;
  state state_ = state::stopped;
  int fd_ = -1;             // the watched descriptor, -1 when not registered
  unsigned events_ = 0;     // loop::ev_* bits currently requested
  std::size_t outstanding_ = 0;
  std::uint64_t last_progress_ms_ = 0;  // last reply, or when outstanding went 0 -> 1
  std::uint64_t connect_started_ms_ = 0;
  unsigned attempts_ = 0;  // failed attempts since the last established link
  unsigned quiet_failures_ = 0;  // failed attempts not logged at warn level
  timer_id retry_timer_ = 0;
  timer_id watchdog_timer_ = 0;
  std::minstd_rand rng_;
  connection_stats stats_;
};

}  // namespace duplex::redis
