#include "redis/connection.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "base/assert.h"
#include "base/clock.h"

namespace duplex::redis {
namespace {

connection* self_of(const redisAsyncContext* ac) noexcept {
  return static_cast<connection*>(ac->data);
}

// Whether a Pub/Sub reply confirms a (un)subscription (as opposed to carrying a message).
bool is_confirmation(const redisReply& r) noexcept {
  if (r.type != REDIS_REPLY_ARRAY || r.elements < 1 || r.element[0]->type != REDIS_REPLY_STRING) {
    return false;
  }
  const std::string_view kind(r.element[0]->str, r.element[0]->len);
  return kind == "subscribe" || kind == "unsubscribe";
}

}  // namespace

connection::connection(net::loop& l, connection_options opts)
    : loop_(l), opts_(std::move(opts)), rng_(std::random_device{}()) {}

connection::~connection() {
  on_up = nullptr;
  on_down = nullptr;
  stop();
}

void connection::start() {
  if (state_ != state::stopped) return;
  attempts_ = 0;
  arm_watchdog();
  connect_now();
}

void connection::stop() {
  if (retry_timer_ != 0) {
    loop_.cancel(retry_timer_);
    retry_timer_ = 0;
  }
  if (watchdog_timer_ != 0) {
    loop_.cancel(watchdog_timer_);
    watchdog_timer_ = 0;
  }
  const state was = state_;
  state_ = state::stopped;  // before freeing: context_gone() must not schedule a reconnect
  if (ctx_) {
    // Outside a hiredis callback this frees at once: outstanding callbacks run with nullptr,
    // then hook_cleanup and (only if it was connected) on_disconnect_cb.
    redisAsyncFree(ctx_);
    ctx_ = nullptr;
    outstanding_ = 0;
  }
  // on_disconnect_cb saw state_ == stopped and left on_down to us.
  if (was == state::up && on_down) on_down();
}

void connection::connect_now() {
  retry_timer_ = 0;
  DUPLEX_ASSERT(ctx_ == nullptr);
  // hiredis resolves the host with a blocking getaddrinfo: use an address or a local name.
  redisAsyncContext* ac = redisAsyncConnect(opts_.where.host.c_str(), opts_.where.port);
  if (ac == nullptr || ac->err) {
    ++stats_.connect_failures;
    log_connect_failure(ac ? ac->errstr : "out of memory");
    if (ac) redisAsyncFree(ac);  // no hooks attached yet: nothing else runs
    state_ = state::waiting;
    schedule_retry();
    return;
  }
  ctx_ = ac;
  ac->data = this;
  ac->ev.data = this;
  ac->ev.addRead = &connection::hook_add_read;
  ac->ev.delRead = &connection::hook_del_read;
  ac->ev.addWrite = &connection::hook_add_write;
  ac->ev.delWrite = &connection::hook_del_write;
  ac->ev.cleanup = &connection::hook_cleanup;
  state_ = state::connecting;
  connect_started_ms_ = clock::now_ms();
  redisAsyncSetDisconnectCallback(ac, &connection::on_disconnect_cb);
  // Setting the connect callback asks for the first write event, which reports the connect.
  redisAsyncSetConnectCallback(ac, &connection::on_connect_cb);
}

void connection::schedule_retry() {
  if (state_ == state::stopped) return;
  const auto base = std::min<std::int64_t>(
      opts_.reconnect_max.count(),
      opts_.reconnect_min.count() << std::min(attempts_, 16u));
  ++attempts_;
  // Full jitter over the upper half: nodes that lost Redis together do not return together.
  std::uniform_int_distribution<std::int64_t> jitter(base / 2, std::max<std::int64_t>(base, 1));
  retry_timer_ = loop_.run_after(std::chrono::milliseconds(jitter(rng_)), [this] { connect_now(); });
}

void connection::arm_watchdog() {
  const auto tick = std::clamp(std::min(opts_.connect_timeout, opts_.command_timeout) / 4,
                               std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
  watchdog_timer_ = loop_.run_after(tick, [this] { watchdog(); });
}

void connection::watchdog() {
  watchdog_timer_ = 0;
  const std::uint64_t now = clock::now_ms();
  if (state_ == state::connecting &&
      now - connect_started_ms_ >= static_cast<std::uint64_t>(opts_.connect_timeout.count())) {
    ++stats_.timeouts;
    log_connect_failure("timed out");
    abort_link();
  } else if (state_ == state::up && outstanding_ > 0 &&
             now - last_progress_ms_ >= static_cast<std::uint64_t>(opts_.command_timeout.count())) {
    ++stats_.timeouts;
    spdlog::warn("redis {}:{}: no reply for {} ms with {} commands outstanding; reconnecting",
                 opts_.where.host, opts_.where.port, now - last_progress_ms_, outstanding_);
    abort_link();
  }
  if (state_ != state::stopped) arm_watchdog();
}

void connection::log_connect_failure(std::string_view why) {
  if (quiet_failures_++ % 30 == 0) {
    spdlog::warn("redis {}:{}: connect failed: {} (retrying with backoff)", opts_.where.host,
                 opts_.where.port, why);
  } else {
    spdlog::debug("redis {}:{}: connect failed: {}", opts_.where.host, opts_.where.port, why);
  }
}

void connection::reset() {
  if (state_ != state::up && state_ != state::connecting) return;
  ++stats_.timeouts;
  abort_link();
}

void connection::retry_now() {
  if (state_ != state::waiting || retry_timer_ == 0) return;
  loop_.cancel(retry_timer_);
  connect_now();
}

void connection::abort_link() {
  if (ctx_ == nullptr) return;
  const bool was_up = state_ == state::up;
  // Timers never run inside hiredis callbacks, so this frees at once. hiredis reports the
  // end of an established link (on_disconnect_cb -> context_gone) but says nothing about an
  // attempt still connecting: that one we close ourselves.
  redisAsyncFree(ctx_);
  if (!was_up && ctx_ != nullptr) context_gone(false);
}

void connection::context_gone(bool was_up) {
  ctx_ = nullptr;
  outstanding_ = 0;
  if (state_ == state::stopped) return;  // stop() handles on_down itself
  if (was_up) {
    ++stats_.disconnects;
    attempts_ = 0;
  } else {
    ++stats_.connect_failures;
  }
  state_ = state::waiting;
  schedule_retry();
  if (was_up && on_down) on_down();
}

void connection::progress() noexcept { last_progress_ms_ = clock::now_ms(); }

bool connection::command(std::span<const std::string_view> args, reply_fn cb) {
  if (state_ != state::up || ctx_ == nullptr || args.empty()) return false;
  constexpr std::size_t inline_args = 16;
  const char* argv_small[inline_args];
  std::size_t lens_small[inline_args];
  std::vector<const char*> argv_big;
  std::vector<std::size_t> lens_big;
  const char** argv = argv_small;
  std::size_t* lens = lens_small;
  if (args.size() > inline_args) {
    argv_big.resize(args.size());
    lens_big.resize(args.size());
    argv = argv_big.data();
    lens = lens_big.data();
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    argv[i] = args[i].data();
    lens[i] = args[i].size();
  }
  auto owned = std::make_unique<reply_fn>(std::move(cb));
  if (redisAsyncCommandArgv(ctx_, &connection::on_reply_cb, owned.get(),
                            static_cast<int>(args.size()), argv, lens) != REDIS_OK) {
    return false;  // disconnecting: the link is going away
  }
  owned.release();  // on_reply_cb deletes it
  if (outstanding_++ == 0) progress();
  ++stats_.commands;
  return true;
}

bool connection::send_subscription(std::string_view verb, std::span<const std::string> channels) {
  if (state_ != state::up || ctx_ == nullptr || channels.empty()) return false;
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  argv.reserve(channels.size() + 1);
  lens.reserve(channels.size() + 1);
  argv.push_back(verb.data());
  lens.push_back(verb.size());
  for (const std::string& c : channels) {
    argv.push_back(c.data());
    lens.push_back(c.size());
  }
  // The push callback stays registered per channel inside hiredis (privdata = this).
  if (redisAsyncCommandArgv(ctx_, &connection::on_push_cb, this, static_cast<int>(argv.size()),
                            argv.data(), lens.data()) != REDIS_OK) {
    return false;
  }
  if (outstanding_ == 0) progress();
  outstanding_ += channels.size();  // one confirmation per channel
  ++stats_.commands;
  return true;
}

bool connection::subscribe(std::span<const std::string> channels) {
  return send_subscription("SUBSCRIBE", channels);
}

bool connection::unsubscribe(std::span<const std::string> channels) {
  return send_subscription("UNSUBSCRIBE", channels);
}

void connection::on_io(unsigned events) {
  if (ctx_ == nullptr) return;
  const bool failed = events & (net::loop::ev_error | net::loop::ev_hangup);
  // Either handler notices a failed connect; a read notices EOF on an established link.
  if ((events & net::loop::ev_read) || (failed && (events_ & net::loop::ev_read))) {
    redisAsyncHandleRead(ctx_);
  }
  if (ctx_ != nullptr &&
      ((events & net::loop::ev_write) || (failed && !(events_ & net::loop::ev_read)))) {
    redisAsyncHandleWrite(ctx_);
  }
}

void connection::set_events(unsigned events) {
  if (events == events_ || ctx_ == nullptr) return;
  events_ = events;
  if (fd_ < 0) {
    fd_ = ctx_->c.fd;
    if (!loop_.watch(fd_, events_, this)) {
      spdlog::error("redis: cannot watch fd {}", fd_);
      fd_ = -1;
    }
    return;
  }
  loop_.rewatch(fd_, events_, this);
}

void connection::hook_add_read(void* self) {
  auto* c = static_cast<connection*>(self);
  c->set_events(c->events_ | net::loop::ev_read);
}
void connection::hook_del_read(void* self) {
  auto* c = static_cast<connection*>(self);
  c->set_events(c->events_ & ~net::loop::ev_read);
}
void connection::hook_add_write(void* self) {
  auto* c = static_cast<connection*>(self);
  c->set_events(c->events_ | net::loop::ev_write);
}
void connection::hook_del_write(void* self) {
  auto* c = static_cast<connection*>(self);
  c->set_events(c->events_ & ~net::loop::ev_write);
}

void connection::hook_cleanup(void* self) {
  // hiredis is about to close the descriptor and free the context.
  auto* c = static_cast<connection*>(self);
  if (c->fd_ >= 0) c->loop_.unwatch(c->fd_);
  c->fd_ = -1;
  c->events_ = 0;
}

void connection::on_connect_cb(const redisAsyncContext* ac, int status) {
  connection* c = self_of(ac);
  if (status != REDIS_OK) {
    c->log_connect_failure(ac->errstr ? ac->errstr : "?");
    // hiredis frees the context right after this returns; hook_cleanup runs then.
    c->context_gone(false);
    return;
  }
  c->state_ = state::up;
  c->attempts_ = 0;
  c->quiet_failures_ = 0;
  ++c->stats_.connects;
  redisEnableKeepAlive(&c->ctx_->c);
  const endpoint& ep = c->opts_.where;
  auto log_error = [c](const char* what) {
    return [c, what](redisReply* r) {
      if (r && r->type == REDIS_REPLY_ERROR) {
        spdlog::error("redis {}:{}: {} failed: {}", c->opts_.where.host, c->opts_.where.port,
                      what, std::string_view(r->str, r->len));
      }
    };
  };
  if (!ep.password.empty()) {
    if (ep.user.empty()) {
      const std::string_view args[] = {"AUTH", ep.password};
      c->command(args, log_error("AUTH"));
    } else {
      const std::string_view args[] = {"AUTH", ep.user, ep.password};
      c->command(args, log_error("AUTH"));
    }
  }
  if (ep.db != 0) {
    const std::string db = std::to_string(ep.db);
    const std::string_view args[] = {"SELECT", db};
    c->command(args, log_error("SELECT"));
  }
  if (!c->opts_.client_name.empty()) {
    const std::string_view args[] = {"CLIENT", "SETNAME", c->opts_.client_name};
    c->command(args, log_error("CLIENT SETNAME"));
  }
  if (c->on_up) c->on_up();
}

void connection::on_disconnect_cb(const redisAsyncContext* ac, int status) {
  connection* c = self_of(ac);
  if (status != REDIS_OK && c->state_ != state::stopped) {
    spdlog::warn("redis {}:{}: connection lost: {}", c->opts_.where.host, c->opts_.where.port,
                 ac->errstr ? ac->errstr : "?");
  }
  c->context_gone(true);
}

void connection::on_reply_cb(redisAsyncContext* ac, void* reply, void* privdata) {
  std::unique_ptr<reply_fn> cb(static_cast<reply_fn*>(privdata));
  connection* c = self_of(ac);
  if (reply != nullptr) {
    if (c->outstanding_ > 0) --c->outstanding_;
    c->progress();
  }
  if (*cb) (*cb)(static_cast<redisReply*>(reply));
}

void connection::on_push_cb(redisAsyncContext* ac, void* reply, void* privdata) {
  if (reply == nullptr) return;  // the context is being freed
  auto* c = static_cast<connection*>(privdata);
  auto& r = *static_cast<redisReply*>(reply);
  if (is_confirmation(r) && c->outstanding_ > 0) --c->outstanding_;
  c->progress();
  if (c->push_) c->push_(r);
}

}  // namespace duplex::redis
