// node_registry: announce / list / remove over one Redis connection, and the strict decoder of
// stored entries (see node_registry.h for the contract, docs/redis.md for the keys).
#include "redis/node_registry.h"

#include <hiredis/hiredis.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <initializer_list>
#include <limits>
#include <random>
#include <utility>

namespace duplex::redis {
namespace {

// ---- entry codec ----

constexpr std::string_view magic = "N1";
constexpr std::uint64_t max_number =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

void put_decimal(std::string& out, std::uint64_t n) {
  char buf[20];
  std::size_t i = sizeof buf;
  do {
    buf[--i] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  out.append(buf + i, sizeof buf - i);
}

void put_str(std::string& out, std::string_view s) {
  put_decimal(out, s.size());
  out += ':';
  out += s;
}

void put_num(std::string& out, std::uint64_t n) {
  const std::uint64_t v = std::min(n, max_number);
  std::string d;
  put_decimal(d, v);
  put_str(out, d);
}

// Reads fields off the front of the input; the first failure sticks.
class reader {
 public:
  explicit reader(std::string_view in) : in_(in) {}

  node_entry_error error() const noexcept { return err_; }
  bool done() const noexcept { return in_.empty(); }

  bool literal(std::string_view want) {
    if (err_ != node_entry_error::ok) return false;
    if (!in_.starts_with(want)) return fail(node_entry_error::bad_magic);
    in_.remove_prefix(want.size());
    return true;
  }

  // str(s) with len(s) <= limit.
  bool str(std::string& out, std::size_t limit) {
    std::uint64_t len = 0;
    if (!decimal_until_colon(len)) return false;
    if (len > in_.size()) return fail(node_entry_error::truncated);
    if (len > limit) return fail(node_entry_error::too_long);
    out.assign(in_.substr(0, len));
    in_.remove_prefix(len);
    return true;
  }

  // num(n): str(decimal(n)).
  bool num(std::uint64_t& out) {
    std::string digits;
    if (!str(digits, 19)) {
      if (err_ == node_entry_error::too_long) err_ = node_entry_error::bad_number;
      return false;
    }
    return parse_decimal(digits, out) || fail(node_entry_error::bad_number);
  }

 private:
  bool fail(node_entry_error e) {
    if (err_ == node_entry_error::ok) err_ = e;
    return false;
  }

  // Canonical decimal: "0" or [1-9][0-9]*, at most INT64_MAX.
  static bool parse_decimal(std::string_view d, std::uint64_t& out) {
    if (d.empty() || d.size() > 19 || (d.size() > 1 && d[0] == '0')) return false;
    std::uint64_t v = 0;
    for (char c : d) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + static_cast<std::uint64_t>(c - '0');  // 19 digits fit in uint64
    }
    if (v > max_number) return false;
    out = v;
    return true;
  }

  bool decimal_until_colon(std::uint64_t& out) {
    if (err_ != node_entry_error::ok) return false;
    const std::size_t colon = in_.find(':');
    if (colon == std::string_view::npos) {
      // Nothing left, or digits only to the end: a cut-off field (truncated); anything else
      // is a bad number.
      const bool digits = in_.size() <= 19 &&
                          in_.find_first_not_of("0123456789") == std::string_view::npos;
      return fail(digits ? node_entry_error::truncated : node_entry_error::bad_number);
    }
    if (!parse_decimal(in_.substr(0, colon), out)) return fail(node_entry_error::bad_number);
    in_.remove_prefix(colon + 1);
    return true;
  }

  std::string_view in_;
  node_entry_error err_ = node_entry_error::ok;
};

// ---- Redis side ----

// Milliseconds on the Redis server's clock: every node's expiry is written and compared on it.
#define DUPLEX_LUA_NOW                                                    \
  "local t = redis.call('time')\n"                                        \
  "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

// KEYS: hash, zset. ARGV: id, entry, ttl ms. Prunes up to 1,000 expired entries (every live
// node announces, so a dead one is gone within one interval), writes this one, and keeps both
// keys until the longest-lived entry expires (a node with a shorter ttl never cuts another's).
constexpr std::string_view announce_lua =
    DUPLEX_LUA_NOW
    "local ttl = tonumber(ARGV[3])\n"
    "local dead = redis.call('zrangebyscore', KEYS[2], '-inf', now, 'LIMIT', 0, 1000)\n"
    "if #dead > 0 then\n"
    "  redis.call('hdel', KEYS[1], unpack(dead))\n"
    "  redis.call('zrem', KEYS[2], unpack(dead))\n"
    "end\n"
    "redis.call('hset', KEYS[1], ARGV[1], ARGV[2])\n"
    "redis.call('zadd', KEYS[2], now + ttl, ARGV[1])\n"
    "for _, k in ipairs(KEYS) do\n"
    "  if redis.call('pttl', k) < ttl then redis.call('pexpire', k, ttl) end\n"
    "end\n"
    "return 1\n";

// KEYS: hash, zset. ARGV: max entries. Read-only: {id, entry-or-nil, ...} for the entries whose
// expiry is still ahead.
constexpr std::string_view list_lua =
    DUPLEX_LUA_NOW
    "local ids = redis.call('zrangebyscore', KEYS[2], string.format('(%d', now), '+inf',\n"
    "                       'LIMIT', 0, tonumber(ARGV[1]))\n"
    "if #ids == 0 then return {} end\n"
    "local vals = redis.call('hmget', KEYS[1], unpack(ids))\n"
    "local out = {}\n"
    "for i = 1, #ids do\n"
    "  out[2 * i - 1] = ids[i]\n"
    "  out[2 * i] = vals[i]\n"  // false (no value) becomes a nil reply
    "end\n"
    "return out\n";

// KEYS: hash, zset. ARGV: id.
constexpr std::string_view remove_lua =
    "redis.call('hdel', KEYS[1], ARGV[1])\n"
    "redis.call('zrem', KEYS[2], ARGV[1])\n"
    "return 1\n";

#undef DUPLEX_LUA_NOW

std::string_view text_of(const redisReply* r) noexcept { return {r->str, r->len}; }

bool is_string(const redisReply* r) noexcept {
  return r != nullptr && r->type == REDIS_REPLY_STRING;
}

std::string random_id(std::size_t n) {
  static constexpr char alphabet[] =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::random_device rd;
  std::mt19937_64 rng((static_cast<std::uint64_t>(rd()) << 32) ^ rd());
  std::string s(n, '0');
  for (char& c : s) c = alphabet[rng() % 62];
  return s;
}

// The default of node_registry_options::interval. (A temporary node_registry_options{} here
// trips GCC 12's -Wmaybe-uninitialized at -O3.)
constexpr std::chrono::milliseconds default_interval{3000};

node_registry_options with_defaults(node_registry_options o) {
  if (o.node_id.empty()) o.node_id = random_id(12);
  if (o.node_id.size() > max_node_id_bytes) o.node_id.resize(max_node_id_bytes);
  if (o.name.size() > max_node_text_bytes) o.name.resize(max_node_text_bytes);
  if (o.version.size() > max_node_text_bytes) o.version.resize(max_node_text_bytes);
  if (o.interval.count() <= 0) o.interval = default_interval;
  if (o.ttl.count() <= 0) o.ttl = 3 * o.interval;
  if (o.max_nodes == 0) o.max_nodes = 1;
  return o;
}

connection_options link_options(const node_registry_options& o) {
  connection_options c;
  c.where = o.where;
  c.connect_timeout = o.connect_timeout;
  c.command_timeout = o.command_timeout;
  c.reconnect_min = o.reconnect_min;
  c.reconnect_max = o.reconnect_max;
  c.client_name = "duplex-" + o.node_id + "-registry";
  return c;
}

// EVAL (not EVALSHA): a few hundred bytes once per interval per node, or per `info` request;
// not worth the NOSCRIPT fallback the broker's per-publication scripts need.
bool eval(connection& c, std::string_view source, std::string_view key1, std::string_view key2,
          std::initializer_list<std::string_view> argv, connection::reply_fn done) {
  std::vector<std::string_view> args{"EVAL", source, "2", key1, key2};
  args.insert(args.end(), argv.begin(), argv.end());
  return c.command(args, std::move(done));
}

}  // namespace

std::string_view to_string(node_entry_error e) noexcept {
  switch (e) {
    case node_entry_error::ok: return "ok";
    case node_entry_error::bad_magic: return "bad magic";
    case node_entry_error::truncated: return "truncated";
    case node_entry_error::bad_number: return "bad number";
    case node_entry_error::too_long: return "field too long";
    case node_entry_error::trailing: return "trailing bytes";
  }
  return "unknown";
}

node_entry_error decode_node_entry(std::string_view bytes, node_entry& out) {
  reader r(bytes);
  node_load& l = out.load;
  if (r.literal(magic) && r.str(out.id, max_node_id_bytes) &&
      r.str(out.name, max_node_text_bytes) && r.str(out.version, max_node_text_bytes) &&
      r.num(l.num_clients) && r.num(l.num_users) && r.num(l.num_channels) &&
      r.num(l.num_subs) && r.num(l.uptime_s)) {
    return r.done() ? node_entry_error::ok : node_entry_error::trailing;
  }
  return r.error();
}

std::string encode_node_entry(const node_entry& e) {
  std::string out(magic);
  put_str(out, std::string_view(e.id).substr(0, max_node_id_bytes));
  put_str(out, std::string_view(e.name).substr(0, max_node_text_bytes));
  put_str(out, std::string_view(e.version).substr(0, max_node_text_bytes));
  put_num(out, e.load.num_clients);
  put_num(out, e.load.num_users);
  put_num(out, e.load.num_channels);
  put_num(out, e.load.num_subs);
  put_num(out, e.load.uptime_s);
  return out;
}

// ---- registry ----

node_registry::node_registry(net::loop& l, node_registry_options opts)
    : loop_(l),
      opts_(with_defaults(std::move(opts))),
      hash_key_(opts_.prefix + ":{nodes}"),
      zset_key_(opts_.prefix + ":{nodes}:z"),
      conn_(std::make_unique<connection>(l, link_options(opts_))) {
  conn_->on_up = [this] {
    up_.store(true, std::memory_order_release);
    announcing_ = false;  // the previous link's announce, if any, was failed with it
    announce();           // at once: a restarted Redis learns of this node now
  };
  conn_->on_down = [this] { up_.store(false, std::memory_order_release); };
  loop_.post([this, w = std::weak_ptr<int>(life_)] {
    if (!w.expired()) start();
  });
}

node_registry::~node_registry() {
  shut_down_ = true;
  shutdown_done_ = nullptr;
  if (loop_.in_thread()) {
    if (timer_ != 0) loop_.cancel(timer_);
    if (shutdown_timer_ != 0) loop_.cancel(shutdown_timer_);
  }
  // Outstanding callbacks run now, with nullptr, while the members they touch still exist.
  conn_.reset();
  up_.store(false, std::memory_order_release);
}

void node_registry::start() {
  if (shut_down_) return;
  conn_->start();
  arm_timer();
}

void node_registry::arm_timer() {
  timer_ = loop_.run_after(opts_.interval, [this, w = std::weak_ptr<int>(life_)] {
    if (w.expired()) return;
    timer_ = 0;
    if (shut_down_) return;
    announce();
    arm_timer();
  });
}

node_entry node_registry::self() const {
  node_entry e;
  e.id = opts_.node_id;
  e.name = opts_.name;
  e.version = opts_.version;
  if (opts_.load) e.load = opts_.load();
  return e;
}

void node_registry::announce() {
  if (shut_down_ || announcing_) return;
  const std::string entry = encode_node_entry(self());
  const std::string ttl = std::to_string(opts_.ttl.count());
  const bool sent = conn_->up() &&
                    eval(*conn_, announce_lua, hash_key_, zset_key_, {opts_.node_id, entry, ttl},
                         [this](redisReply* r) {
                           announcing_ = false;
                           if (r != nullptr && r->type == REDIS_REPLY_INTEGER) {
                             counters_.announces.fetch_add(1, std::memory_order_relaxed);
                             return;
                           }
                           counters_.announce_failures.fetch_add(1, std::memory_order_relaxed);
                           if (r != nullptr && r->type == REDIS_REPLY_ERROR) {
                             spdlog::error("node registry: announce failed: {}", text_of(r));
                           }
                         });
  if (sent) {
    announcing_ = true;
  } else {
    counters_.announce_failures.fetch_add(1, std::memory_order_relaxed);
  }
}

void node_registry::list(executor* reply_on, hub::callback<node_list_result> done) {
  loop_.post([this, w = std::weak_ptr<int>(life_), reply_on, done = std::move(done)]() mutable {
    if (w.expired()) return;
    send_list(reply_on, std::move(done));
  });
}

void node_registry::send_list(executor* reply_on, hub::callback<node_list_result> done) {
  auto fail = [this](executor* on, hub::callback<node_list_result> d) {
    counters_.list_failures.fetch_add(1, std::memory_order_relaxed);
    hub::complete(on, std::move(d), node_list_result{hub::error::broker_unavailable, {}});
  };
  if (shut_down_ || !conn_->up()) return fail(reply_on, std::move(done));
  // Shared so that a failed send can still answer (command() drops the callback on refusal).
  auto answer = std::make_shared<hub::callback<node_list_result>>(std::move(done));
  const std::string max = std::to_string(opts_.max_nodes);
  const bool sent = eval(
      *conn_, list_lua, hash_key_, zset_key_, {max},
      [this, reply_on, answer, fail](redisReply* r) {
        if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0) {
          if (r != nullptr && r->type == REDIS_REPLY_ERROR) {
            spdlog::error("node registry: list failed: {}", text_of(r));
          }
          return fail(reply_on, std::move(*answer));
        }
        node_list_result res;
        res.nodes.reserve(r->elements / 2 + 1);
        for (std::size_t i = 0; i + 1 < r->elements; i += 2) {
          const redisReply* id = r->element[i];
          const redisReply* value = r->element[i + 1];
          if (is_string(id) && text_of(id) == opts_.node_id) continue;  // added below
          node_entry e;
          node_entry_error why = node_entry_error::ok;
          // The stored id must be the member's: an entry copied under another id is refused.
          if (!is_string(id) || !is_string(value) ||
              (why = decode_node_entry(text_of(value), e)) != node_entry_error::ok ||
              e.id != text_of(id)) {
            const std::uint64_t n = counters_.malformed.fetch_add(1, std::memory_order_relaxed);
            if (n % 1000 == 0) {
              spdlog::warn("node registry: refused a stored entry ({}; {} so far)",
                           why == node_entry_error::ok ? "missing or mismatched" : to_string(why),
                           n + 1);
            }
            continue;
          }
          res.nodes.push_back(std::move(e));
        }
        // This node: fresh figures rather than those of its last announce.
        if (!shut_down_) res.nodes.push_back(self());
        std::sort(res.nodes.begin(), res.nodes.end(), [](const node_entry& a, const node_entry& b) {
          return a.name != b.name ? a.name < b.name : a.id < b.id;
        });
        counters_.lists.fetch_add(1, std::memory_order_relaxed);
        hub::complete(reply_on, std::move(*answer), std::move(res));
      });
  if (!sent) fail(reply_on, std::move(*answer));
}

void node_registry::shutdown(std::function<void()> done) {
  if (shut_down_) {
    if (done) done();
    return;
  }
  shut_down_ = true;
  shutdown_done_ = std::move(done);
  if (timer_ != 0) {
    loop_.cancel(timer_);
    timer_ = 0;
  }
  const bool sent =
      conn_->up() && eval(*conn_, remove_lua, hash_key_, zset_key_, {opts_.node_id},
                          [this, w = std::weak_ptr<int>(life_)](redisReply*) {
                            // Not from inside the reply: the link must not be closed here.
                            loop_.post([this, w] {
                              if (!w.expired()) finish_shutdown();
                            });
                          });
  if (!sent) return finish_shutdown();
  shutdown_timer_ = loop_.run_after(opts_.shutdown_timeout, [this, w = std::weak_ptr<int>(life_)] {
    if (w.expired()) return;
    shutdown_timer_ = 0;
    spdlog::warn("node registry: Redis did not confirm the removal of this node in {} ms; its "
                 "entry expires in {} ms",
                 opts_.shutdown_timeout.count(), opts_.ttl.count());
    finish_shutdown();
  });
}

void node_registry::finish_shutdown() {
  if (finished_) return;  // the reply and the timer may both come
  finished_ = true;
  if (shutdown_timer_ != 0) {
    loop_.cancel(shutdown_timer_);
    shutdown_timer_ = 0;
  }
  auto done = std::move(shutdown_done_);
  shutdown_done_ = nullptr;
  conn_->stop();  // outstanding list() calls fail with broker_unavailable
  up_.store(false, std::memory_order_release);
  if (done) done();
}

node_registry_stats node_registry::stats() const noexcept {
  auto get = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  node_registry_stats s;
  s.announces = get(counters_.announces);
  s.announce_failures = get(counters_.announce_failures);
  s.lists = get(counters_.lists);
  s.list_failures = get(counters_.list_failures);
  s.malformed = get(counters_.malformed);
  return s;
}

}  // namespace duplex::redis
