#include "redis/redis_broker.h"

#include <hiredis/hiredis.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "redis/envelope.h"

namespace duplex::redis {
namespace {

using hub::error;

std::string_view text_of(const redisReply* r) noexcept { return {r->str, r->len}; }

bool is_string(const redisReply* r) noexcept {
  return r != nullptr && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

std::string ms(std::chrono::milliseconds d) { return std::to_string(d.count()); }

std::string random_name(std::mt19937_64& rng, std::size_t n) {
  static constexpr char alphabet[] =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::string s(n, '0');
  std::uint64_t v = rng();
  for (std::size_t i = 0; i < n; ++i) {
    if (i % 10 == 9) v = rng();  // 62^10 < 2^64: ten characters per draw
    s[i] = alphabet[v % 62];
    v /= 62;
  }
  return s;
}

std::mt19937_64 seeded_rng() {
  std::random_device rd;
  return std::mt19937_64((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
}

redis_broker_options with_defaults(redis_broker_options o) {
  if (o.node_id.empty()) {
    auto rng = seeded_rng();
    o.node_id = random_name(rng, 12);
  }
  if (o.presence_ttl.count() <= 0) o.presence_ttl = redis_broker_options{}.presence_ttl;
  if (o.presence_refresh.count() <= 0) {
    o.presence_refresh = std::max(o.presence_ttl / 3, std::chrono::milliseconds(10));
  }
  if (o.subscribe_batch == 0) o.subscribe_batch = 1;
  return o;
}

connection_options link_options(const redis_broker_options& o, std::string_view role) {
  connection_options c;
  c.where = o.where;
  c.connect_timeout = o.connect_timeout;
  c.command_timeout = o.command_timeout;
  c.reconnect_min = o.reconnect_min;
  c.reconnect_max = o.reconnect_max;
  c.client_name = "duplex-" + o.node_id + "-" + std::string(role);
  return c;
}

}  // namespace

redis_broker::redis_broker(net::loop& l, redis_broker_options opts)
    : loop_(l),
      opts_(with_defaults(std::move(opts))),
      keys_(opts_.prefix),
      topic_prefix_(keys_.topic_prefix()),
      node_topic_(keys_.node_topic(opts_.node_id)),
      cmd_(std::make_unique<connection>(l, link_options(opts_, "cmd"))),
      sub_(std::make_unique<connection>(l, link_options(opts_, "sub"))),
      rng_(seeded_rng()) {
  cmd_->on_up = [this] { on_cmd_up(); };
  cmd_->on_down = [this] { on_cmd_down(); };
  sub_->on_up = [this] { on_sub_up(); };
  sub_->on_down = [this] { on_sub_down(); };
  sub_->set_push_handler([this](redisReply& r) { on_push(r); });
  on_loop([this] { start(); });
}

redis_broker::~redis_broker() {
  if (!shut_down_) shutdown();
}

void redis_broker::on_loop(std::function<void()> fn) { loop_.post(std::move(fn)); }

void redis_broker::start() {
  if (shut_down_) return;
  cmd_->start();
  sub_->start();
  arm_presence_timer();
}

void redis_broker::arm_presence_timer() {
  presence_timer_ = loop_.run_after(opts_.presence_refresh, [this] {
    presence_timer_ = 0;
    if (shut_down_) return;
    refresh_presence();
    arm_presence_timer();
  });
}

void redis_broker::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (presence_timer_ != 0) {
    loop_.cancel(presence_timer_);
    presence_timer_ = 0;
  }
  sub_->stop();  // on_sub_down releases held history reads: they fail (shut_down_)
  cmd_->stop();  // outstanding commands complete with broker_unavailable
  cmd_up_.store(false, std::memory_order_release);
  sub_up_.store(false, std::memory_order_release);
}

redis_broker_stats redis_broker::stats() const noexcept {
  auto get = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  redis_broker_stats s;
  s.publishes = get(counters_.publishes);
  s.failures = get(counters_.failures);
  s.messages = get(counters_.messages);
  s.malformed = get(counters_.malformed);
  s.node_messages = get(counters_.node_messages);
  s.late_messages = get(counters_.late_messages);
  s.subscribe_commands = get(counters_.subscribe_commands);
  s.unsubscribe_commands = get(counters_.unsubscribe_commands);
  s.commands = get(counters_.commands);
  s.reconnects = get(counters_.reconnects);
  return s;
}

template <class T>
void redis_broker::fail(executor* reply_on, hub::callback<T> done, T result) {
  counters_.failures.fetch_add(1, std::memory_order_relaxed);
  hub::complete(reply_on, std::move(done), std::move(result));
}

// ---- links ----

void redis_broker::on_cmd_up() {
  if (cmd_was_up_) counters_.reconnects.fetch_add(1, std::memory_order_relaxed);
  cmd_was_up_ = true;
  // Warm the script cache so the first EVALSHA after a Redis restart does not miss.
  for (const script* s : {&scripts().publish, &scripts().history, &scripts().presence_add,
                          &scripts().presence_remove, &scripts().presence_get}) {
    const std::string_view args[] = {"SCRIPT", "LOAD", s->source};
    command(args, {});
  }
  // Presence entries of this node come back at once after a Redis restart.
  refresh_presence();
  cmd_up_.store(true, std::memory_order_release);
  // Redis answers again: the subscriber link need not sit out its own backoff (posted: not
  // from inside a hook).
  on_loop([this] {
    if (!shut_down_) sub_->retry_now();
  });
}

void redis_broker::on_cmd_down() { cmd_up_.store(false, std::memory_order_release); }

void redis_broker::on_sub_up() {
  const bool restored = sub_was_up_;
  if (restored) counters_.reconnects.fetch_add(1, std::memory_order_relaxed);
  sub_was_up_ = true;
  // The node topic goes first and stays: the link never drops to zero subscriptions
  // (connection.h explains why hiredis 0.14 needs that).
  const std::string node[] = {node_topic_};
  if (sub_->subscribe(node)) counters_.subscribe_commands.fetch_add(1, std::memory_order_relaxed);
  sub_up_.store(true, std::memory_order_release);
  flush_subscriptions(true);
  // Likewise for the command link (a node that receives but cannot publish or read history).
  on_loop([this] {
    if (!shut_down_) cmd_->retry_now();
  });
  if (restored && opts_.on_pubsub_restored && !shut_down_) opts_.on_pubsub_restored();
}

void redis_broker::on_sub_down() {
  sub_up_.store(false, std::memory_order_release);
  inflight_.clear();
  // Held history reads go ahead: nothing will confirm their SUBSCRIBE on this link.
  auto held = std::move(active_);
  active_.clear();
  for (auto& [ch, s] : held) release_waiting(s);
}

// ---- commands ----

bool redis_broker::command(std::span<const std::string_view> args, reply_fn done) {
  if (!cmd_->command(args, std::move(done))) return false;
  counters_.commands.fetch_add(1, std::memory_order_relaxed);
  return true;
}

struct redis_broker::eval_call {
  const script* s;
  std::string num_keys;
  std::vector<std::string> args;  // KEYS then ARGV; kept for the EVAL retry
  reply_fn done;
};

void redis_broker::eval(const script& s, int num_keys, std::vector<std::string> args,
                        reply_fn done) {
  auto call = std::make_shared<eval_call>(
      eval_call{&s, std::to_string(num_keys), std::move(args), std::move(done)});
  if (!send_eval(call, true) && call->done) call->done(nullptr);
}

bool redis_broker::send_eval(const std::shared_ptr<eval_call>& call, bool by_sha) {
  std::vector<std::string_view> argv;
  argv.reserve(call->args.size() + 3);
  argv.push_back(by_sha ? "EVALSHA" : "EVAL");
  argv.push_back(by_sha ? std::string_view(call->s->sha1) : call->s->source);
  argv.push_back(call->num_keys);
  for (const std::string& a : call->args) argv.push_back(a);
  return command(argv, [this, call, by_sha](redisReply* r) {
    if (by_sha && r && r->type == REDIS_REPLY_ERROR && text_of(r).starts_with("NOSCRIPT")) {
      // The script cache was flushed (restart, failover, SCRIPT FLUSH). EVAL runs and reloads
      // it; this one call may now run after commands queued behind it, which is harmless:
      // offsets are still assigned and published atomically, in one order.
      if (send_eval(call, false)) return;
      r = nullptr;
    }
    if (r && r->type == REDIS_REPLY_ERROR) {
      spdlog::error("redis broker: script {} failed: {}", call->s->name, text_of(r));
    }
    if (call->done) call->done(r);
  });
}

std::string redis_broker::new_epoch() { return random_name(rng_, 8); }

// ---- publish ----

void redis_broker::publish(hub::publication pub, const hub::publish_options& opts,
                           executor* reply_on, hub::callback<hub::publish_result> done) {
  on_loop([this, pub = std::move(pub), opts, reply_on, done = std::move(done)]() mutable {
    using result = hub::publish_result;
    if (shut_down_ || !cmd_->up()) {
      return fail(reply_on, std::move(done), result{error::broker_unavailable, {}});
    }
    const std::string& ch = pub.channel;
    if (opts.history_size == 0 || opts.history_ttl.count() <= 0) {
      pub.offset = 0;
      pub.epoch.clear();
      const std::string topic = keys_.topic(ch);
      const std::string msg = encode_publication(pub);
      const std::string_view args[] = {"PUBLISH", topic, msg};
      auto on_reply = [this, reply_on, done](redisReply* r) mutable {
        if (r == nullptr || r->type != REDIS_REPLY_INTEGER) {
          return fail(reply_on, std::move(done), result{error::broker_unavailable, {}});
        }
        counters_.publishes.fetch_add(1, std::memory_order_relaxed);
        hub::complete(reply_on, std::move(done), result{});
      };
      if (!command(args, on_reply)) {
        fail(reply_on, std::move(done), result{error::broker_unavailable, {}});
      }
      return;
    }
    std::string body;
    body.reserve(ch.size() + pub.data.size() + 32);
    encode_publication_body(pub, body);
    std::vector<std::string> args{keys_.stream(ch),
                                  keys_.meta(ch),
                                  keys_.topic(ch),
                                  std::move(body),
                                  std::to_string(opts.history_size),
                                  ms(opts.history_ttl),
                                  ms(opts_.meta_ttl),
                                  new_epoch()};
    eval(scripts().publish, 2, std::move(args), [this, reply_on, done](redisReply* r) mutable {
      if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
          r->element[0]->type != REDIS_REPLY_INTEGER || r->element[0]->integer <= 0 ||
          !is_string(r->element[1])) {
        return fail(reply_on, std::move(done), result{error::broker_unavailable, {}});
      }
      counters_.publishes.fetch_add(1, std::memory_order_relaxed);
      result res;
      res.position.offset = static_cast<std::uint64_t>(r->element[0]->integer);
      res.position.epoch.assign(text_of(r->element[1]));
      hub::complete(reply_on, std::move(done), std::move(res));
    });
  });
}

void redis_broker::publish_join(const std::string& channel, const hub::client_info& who) {
  on_loop([this, channel, msg = encode_join(channel, who)] {
    const std::string topic = keys_.topic(channel);
    const std::string_view args[] = {"PUBLISH", topic, msg};
    if (shut_down_ || !command(args, {})) {
      counters_.failures.fetch_add(1, std::memory_order_relaxed);
    }
  });
}

void redis_broker::send_to_node(std::string_view node_id, std::string payload,
                                executor* reply_on, hub::callback<long long> done) {
  on_loop([this, topic = keys_.node_topic(node_id), payload = std::move(payload), reply_on,
           done = std::move(done)]() mutable {
    auto answer = std::make_shared<hub::callback<long long>>(std::move(done));
    const std::string_view args[] = {"PUBLISH", topic, payload};
    const bool sent = !shut_down_ && command(args, [reply_on, answer](redisReply* r) mutable {
      const long long n = r != nullptr && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
      hub::complete(reply_on, std::move(*answer), n);
    });
    if (!sent) {
      counters_.failures.fetch_add(1, std::memory_order_relaxed);
      hub::complete(reply_on, std::move(*answer), -1LL);
    }
  });
}

void redis_broker::publish_leave(const std::string& channel, const hub::client_info& who) {
  on_loop([this, channel, msg = encode_leave(channel, who)] {
    const std::string topic = keys_.topic(channel);
    const std::string_view args[] = {"PUBLISH", topic, msg};
    if (shut_down_ || !command(args, {})) {
      counters_.failures.fetch_add(1, std::memory_order_relaxed);
    }
  });
}

// ---- history ----

void redis_broker::history(const std::string& channel, const hub::history_query& q,
                           executor* reply_on, hub::callback<hub::history_result> done) {
  on_loop([this, channel, q, reply_on, done = std::move(done)]() mutable {
    auto it = active_.find(channel);
    if (!shut_down_ && it != active_.end() && !it->second.confirmed && sub_->up()) {
      // Read the position only once this node receives the channel: a subscriber positioned
      // at that top then misses nothing (later publications arrive through Pub/Sub, earlier
      // ones are in the reply; the hub drops what both cover).
      it->second.waiting.push_back([this, channel, q, reply_on, done]() mutable {
        send_history(channel, q, reply_on, std::move(done));
      });
      return;
    }
    send_history(channel, q, reply_on, std::move(done));
  });
}

void redis_broker::send_history(const std::string& channel, const hub::history_query& q,
                                executor* reply_on, hub::callback<hub::history_result> done) {
  using result = hub::history_result;
  if (shut_down_ || !cmd_->up()) {
    return fail(reply_on, std::move(done), result{error::broker_unavailable, {}, {}});
  }
  std::vector<std::string> args{keys_.stream(channel),
                                keys_.meta(channel),
                                new_epoch(),
                                ms(opts_.meta_ttl),
                                q.since ? std::to_string(q.since->offset) : std::string(),
                                q.since ? q.since->epoch : std::string(),
                                std::to_string(q.limit),
                                q.reverse ? "1" : "0"};
  eval(scripts().history, 2, std::move(args), [this, channel, reply_on, done](redisReply* r) mutable {
    if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements < 3 ||
        !is_string(r->element[0]) || r->element[1]->type != REDIS_REPLY_INTEGER ||
        r->element[1]->integer < 0 || r->element[2]->type != REDIS_REPLY_INTEGER) {
      return fail(reply_on, std::move(done), result{error::broker_unavailable, {}, {}});
    }
    result res;
    res.position.epoch.assign(text_of(r->element[0]));
    res.position.offset = static_cast<std::uint64_t>(r->element[1]->integer);
    if (r->element[2]->integer != 0) {
      res.err = error::unrecoverable_position;
      return hub::complete(reply_on, std::move(done), std::move(res));
    }
    res.pubs.reserve(r->elements - 3);
    for (std::size_t i = 3; i < r->elements; ++i) {
      envelope env;
      const redisReply* e = r->element[i];
      // A stored entry that does not decode is not skipped: handing out history with a hole
      // would claim a recovery that is not complete.
      if (!is_string(e) || decode(text_of(e), env) != envelope_error::ok ||
          env.kind != envelope_kind::publication || env.pub.channel != channel ||
          env.pub.epoch != res.position.epoch) {
        count_malformed("bad history entry", is_string(e) ? text_of(e) : "");
        return fail(reply_on, std::move(done), result{error::broker_unavailable, {}, {}});
      }
      res.pubs.push_back(std::move(env.pub));
    }
    hub::complete(reply_on, std::move(done), std::move(res));
  });
}

void redis_broker::remove_history(const std::string& channel, executor* reply_on,
                                  hub::callback<error> done) {
  on_loop([this, channel, reply_on, done = std::move(done)]() mutable {
    if (shut_down_ || !cmd_->up()) return fail(reply_on, std::move(done), error::broker_unavailable);
    const std::string stream = keys_.stream(channel);
    const std::string meta = keys_.meta(channel);
    const std::string_view args[] = {"DEL", stream, meta};
    auto on_reply = [this, reply_on, done](redisReply* r) mutable {
      if (r == nullptr || r->type != REDIS_REPLY_INTEGER) {
        return fail(reply_on, std::move(done), error::broker_unavailable);
      }
      hub::complete(reply_on, std::move(done), error::ok);
    };
    if (!command(args, on_reply)) fail(reply_on, std::move(done), error::broker_unavailable);
  });
}

// ---- presence ----

void redis_broker::send_presence_add(
    const std::string& channel, const std::vector<std::pair<std::string, std::string>>& entries,
    reply_fn done) {
  std::vector<std::string> args;
  args.reserve(3 + entries.size() * 2);
  args.push_back(keys_.presence(channel));
  args.push_back(keys_.presence_expiry(channel));
  args.push_back(ms(opts_.presence_ttl));
  for (const auto& [id, info] : entries) {
    args.push_back(id);
    args.push_back(info);
  }
  eval(scripts().presence_add, 2, std::move(args), std::move(done));
}

void redis_broker::refresh_presence() {
  if (shut_down_ || !cmd_->up()) return;
  constexpr std::size_t per_call = 256;
  std::vector<std::pair<std::string, std::string>> entries;
  for (const auto& [channel, clients] : local_presence_) {
    entries.clear();
    for (const auto& [id, info] : clients) {
      entries.emplace_back(id, info);
      if (entries.size() == per_call) {
        send_presence_add(channel, entries, {});
        entries.clear();
      }
    }
    if (!entries.empty()) send_presence_add(channel, entries, {});
  }
}

void redis_broker::add_presence(const std::string& channel, const hub::client_info& who,
                                executor* reply_on, hub::callback<error> done) {
  on_loop([this, channel, who, reply_on, done = std::move(done)]() mutable {
    if (shut_down_) return fail(reply_on, std::move(done), error::broker_unavailable);
    std::string info = encode_client(who);
    // Kept (and refreshed) even if this write fails: the hub removes the entry when it gives
    // up on the subscription, and a Redis that comes back gets it again from the refresh.
    local_presence_[channel].insert_or_assign(who.client_id, info);
    if (!cmd_->up()) return fail(reply_on, std::move(done), error::broker_unavailable);
    send_presence_add(channel, {{who.client_id, std::move(info)}},
                      [this, reply_on, done](redisReply* r) mutable {
                        if (r == nullptr || r->type != REDIS_REPLY_INTEGER) {
                          return fail(reply_on, std::move(done), error::broker_unavailable);
                        }
                        hub::complete(reply_on, std::move(done), error::ok);
                      });
  });
}

void redis_broker::remove_presence(const std::string& channel, const std::string& client_id,
                                   executor* reply_on, hub::callback<error> done) {
  on_loop([this, channel, client_id, reply_on, done = std::move(done)]() mutable {
    if (auto it = local_presence_.find(channel); it != local_presence_.end()) {
      it->second.erase(client_id);
      if (it->second.empty()) local_presence_.erase(it);
    }
    if (shut_down_ || !cmd_->up()) return fail(reply_on, std::move(done), error::broker_unavailable);
    eval(scripts().presence_remove, 2,
         {keys_.presence(channel), keys_.presence_expiry(channel), client_id},
         [this, reply_on, done](redisReply* r) mutable {
           if (r == nullptr || r->type != REDIS_REPLY_INTEGER) {
             return fail(reply_on, std::move(done), error::broker_unavailable);
           }
           hub::complete(reply_on, std::move(done), error::ok);
         });
  });
}

void redis_broker::read_presence(const std::string& channel,
                                 std::function<void(bool, std::vector<hub::client_info>)> done) {
  if (shut_down_ || !cmd_->up()) return done(false, {});
  eval(scripts().presence_get, 2, {keys_.presence(channel), keys_.presence_expiry(channel)},
       [this, done](redisReply* r) {
         if (r == nullptr || r->type != REDIS_REPLY_ARRAY) return done(false, {});
         std::vector<hub::client_info> clients;
         clients.reserve(r->elements);
         for (std::size_t i = 0; i < r->elements; ++i) {
           const redisReply* e = r->element[i];
           envelope env;
           // A bad entry is skipped (and counted): presence is advisory, unlike history.
           if (!is_string(e) || decode(text_of(e), env) != envelope_error::ok ||
               env.kind != envelope_kind::client) {
             count_malformed("bad presence entry", is_string(e) ? text_of(e) : "");
             continue;
           }
           clients.push_back(std::move(env.who));
         }
         done(true, std::move(clients));
       });
}

void redis_broker::presence(const std::string& channel, executor* reply_on,
                            hub::callback<hub::presence_result> done) {
  on_loop([this, channel, reply_on, done = std::move(done)]() mutable {
    read_presence(channel, [this, reply_on, done](bool ok, std::vector<hub::client_info> c) mutable {
      if (!ok) return fail(reply_on, std::move(done), hub::presence_result{error::broker_unavailable, {}});
      hub::complete(reply_on, std::move(done), hub::presence_result{error::ok, std::move(c)});
    });
  });
}

void redis_broker::presence_stats(const std::string& channel, executor* reply_on,
                                  hub::callback<hub::presence_stats_result> done) {
  on_loop([this, channel, reply_on, done = std::move(done)]() mutable {
    read_presence(channel, [this, reply_on, done](bool ok, std::vector<hub::client_info> c) mutable {
      hub::presence_stats_result res;
      if (!ok) {
        res.err = error::broker_unavailable;
        return fail(reply_on, std::move(done), std::move(res));
      }
      std::unordered_set<std::string_view> users;
      for (const hub::client_info& who : c) users.insert(who.user_id);
      res.num_clients = c.size();
      res.num_users = users.size();
      hub::complete(reply_on, std::move(done), std::move(res));
    });
  });
}

}  // namespace duplex::redis
