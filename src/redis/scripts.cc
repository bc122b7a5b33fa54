#include "redis/scripts.h"

#include <openssl/evp.h>

#include "base/assert.h"

namespace duplex::redis {
namespace {

// Milliseconds from the Redis server's clock: every expiry is computed and compared on the
// same clock, whichever node asked.
#define DUPLEX_LUA_NOW                    \
  "local t = redis.call('time')\n"        \
  "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

// Offsets are stream ids "<offset>-0", so a range of offsets is a range of ids. The meta hash
// holds e (epoch), o (top offset) and s (history size of the latest publish, which bounds the
// window: MAXLEN ~ may keep a few more entries than asked). Each entry holds x (expiry, ms on
// the Redis clock) and p (the whole envelope, as published).
constexpr std::string_view publish_lua =
    "local epoch = redis.call('hget', KEYS[2], 'e')\n"
    "if not epoch then\n"
    "  epoch = ARGV[6]\n"
    "  redis.call('del', KEYS[1])\n"  // a new epoch never sees the old stream's ids
    "  redis.call('hset', KEYS[2], 'e', epoch)\n"
    "end\n"
    "local offset = redis.call('hincrby', KEYS[2], 'o', 1)\n"
    "redis.call('hset', KEYS[2], 's', ARGV[3])\n"
    DUPLEX_LUA_NOW
    "local ttl = tonumber(ARGV[4])\n"
    "local off = string.format('%d', offset)\n"
    "local msg = 'D1p' .. #off .. ':' .. off .. #epoch .. ':' .. epoch .. ARGV[2]\n"
    "redis.call('xadd', KEYS[1], 'MAXLEN', '~', ARGV[3], off .. '-0',\n"
    "           'x', string.format('%d', now + ttl), 'p', msg)\n"
    "redis.call('pexpire', KEYS[1], ttl)\n"
    "local meta_ttl = tonumber(ARGV[5])\n"
    "if meta_ttl < ttl then meta_ttl = ttl end\n"
    "redis.call('pexpire', KEYS[2], meta_ttl)\n"
    "redis.call('publish', ARGV[1], msg)\n"
    "return {offset, epoch}\n";

constexpr std::string_view history_lua =
    "local m = redis.call('hmget', KEYS[2], 'e', 'o', 's')\n"
    "local epoch, top, size = m[1], tonumber(m[2]) or 0, tonumber(m[3]) or 0\n"
    "if not epoch then\n"
    "  epoch = ARGV[1]\n"
    "  redis.call('del', KEYS[1])\n"
    "  redis.call('hset', KEYS[2], 'e', epoch)\n"
    "  redis.call('pexpire', KEYS[2], ARGV[2])\n"
    "  top, size = 0, 0\n"
    "end\n"
    "local out = {epoch, top, 0}\n"
    "local has_since = ARGV[3] ~= ''\n"
    "if has_since and ARGV[4] ~= epoch then\n"
    "  out[3] = 1\n"
    "  return out\n"
    "end\n"
    "local limit = tonumber(ARGV[5])\n"
    "if limit == 0 or top == 0 or size <= 0 then return out end\n"
    "local low = top - size + 1\n"
    "if low < 1 then low = 1 end\n"
    DUPLEX_LUA_NOW
    "local function live(e)\n"
    "  local f, x, p = e[2], nil, nil\n"
    "  for i = 1, #f, 2 do\n"
    "    if f[i] == 'x' then x = tonumber(f[i + 1]) elseif f[i] == 'p' then p = f[i + 1] end\n"
    "  end\n"
    "  if x == nil or p == nil or x <= now then return nil end\n"
    "  return p\n"
    "end\n"
    "local function want()\n"
    "  if limit < 0 then return 1000 end\n"
    "  return math.min(1000, limit - (#out - 3))\n"
    "end\n"
    "if ARGV[6] ~= '1' then\n"
    // Forward: expired entries are the oldest, so skip them and keep reading.
    "  local from = low\n"
    "  if has_since then from = math.max(from, tonumber(ARGV[3]) + 1) end\n"
    "  while from <= top do\n"
    "    local n = want()\n"
    "    if n <= 0 then break end\n"
    "    local es = redis.call('xrange', KEYS[1], string.format('%d', from),\n"
    "                          string.format('%d', top), 'COUNT', n)\n"
    "    for i = 1, #es do\n"
    "      local p = live(es[i])\n"
    "      if p then out[#out + 1] = p end\n"
    "    end\n"
    "    if #es < n then break end\n"
    "    from = tonumber(string.match(es[#es][1], '^(%d+)')) + 1\n"
    "  end\n"
    "else\n"
    // Reverse: the first expired entry met means every older one expired too.
    "  local to = top\n"
    "  if has_since then to = math.min(to, tonumber(ARGV[3]) - 1) end\n"
    "  while to >= low do\n"
    "    local n = want()\n"
    "    if n <= 0 then break end\n"
    "    local es = redis.call('xrevrange', KEYS[1], string.format('%d', to),\n"
    "                          string.format('%d', low), 'COUNT', n)\n"
    "    local stop = #es < n\n"
    "    for i = 1, #es do\n"
    "      local p = live(es[i])\n"
    "      if not p then stop = true break end\n"
    "      out[#out + 1] = p\n"
    "    end\n"
    "    if stop then break end\n"
    "    to = tonumber(string.match(es[#es][1], '^(%d+)')) - 1\n"
    "  end\n"
    "end\n"
    "return out\n";

// Presence: a hash (client id -> encoded client) and a sorted set (client id -> expiry ms).
// Both keys expire with the newest entry, so a channel whose nodes all died disappears.
constexpr std::string_view presence_add_lua =
    DUPLEX_LUA_NOW
    "local ttl = tonumber(ARGV[1])\n"
    "local expires = string.format('%d', now + ttl)\n"
    "for i = 2, #ARGV - 1, 2 do\n"
    "  redis.call('zadd', KEYS[2], expires, ARGV[i])\n"
    "  redis.call('hset', KEYS[1], ARGV[i], ARGV[i + 1])\n"
    "end\n"
    "redis.call('pexpire', KEYS[1], ttl)\n"
    "redis.call('pexpire', KEYS[2], ttl)\n"
    "return 0\n";

constexpr std::string_view presence_remove_lua =
    "redis.call('hdel', KEYS[1], ARGV[1])\n"
    "redis.call('zrem', KEYS[2], ARGV[1])\n"
    "return 0\n";

constexpr std::string_view presence_get_lua =
    DUPLEX_LUA_NOW
    "local cut = string.format('%d', now)\n"
    "local gone = redis.call('zrangebyscore', KEYS[2], '-inf', cut)\n"
    "for i = 1, #gone, 1000 do\n"  // unpack() has a stack limit: delete in slices
    "  redis.call('hdel', KEYS[1], unpack(gone, i, math.min(i + 999, #gone)))\n"
    "end\n"
    "if #gone > 0 then redis.call('zremrangebyscore', KEYS[2], '-inf', cut) end\n"
    "return redis.call('hvals', KEYS[1])\n";

#undef DUPLEX_LUA_NOW

std::string sha1_hex(std::string_view text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const int ok = EVP_Digest(text.data(), text.size(), md, &len, EVP_sha1(), nullptr);
  DUPLEX_ASSERT(ok == 1);  // SHA-1 of bytes in memory cannot fail short of OOM
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  return out;
}

script make(std::string_view name, std::string_view source) {
  return script{name, source, sha1_hex(source)};
}

}  // namespace

const script_set& scripts() {
  static const script_set set{
      make("publish", publish_lua),
      make("history", history_lua),
      make("presence_add", presence_add_lua),
      make("presence_remove", presence_remove_lua),
      make("presence_get", presence_get_lua),
  };
  return set;
}

}  // namespace duplex::redis
