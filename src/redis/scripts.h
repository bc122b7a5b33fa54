// scripts: the Lua scripts the Redis broker runs server-side, and the Redis key names.
//
// Each operation that must be atomic (assign an offset and publish in that order, read a
// consistent history window, expire presence entries) is one script, so it is one round trip
// and Redis runs it without interleaving other clients' commands. Scripts are called with
// EVALSHA; the SHA-1 is computed here at start-up, and a NOSCRIPT reply (script cache flushed,
// failover) falls back to EVAL, which also reloads the cache.
//
// Keys of a channel share the hash tag {channel}, so they would land on one Redis Cluster slot
// (channel names cannot contain braces: hub::parse_channel). docs/redis.md lists every key.
#pragma once

#include <string>
#include <string_view>

namespace duplex::redis {

struct script {
  std::string_view name;    // for logs
  std::string_view source;  // Lua
  std::string sha1;         // lower-case hex of source
};

// Built once (the SHA-1s computed on first use); immutable, shared by all brokers.
struct script_set {
  // KEYS: stream, meta. ARGV: topic, body, history size, history ttl ms, meta ttl ms, epoch
  // candidate. Returns {offset, epoch}.
  script publish;
  // KEYS: stream, meta. ARGV: epoch candidate, meta ttl ms, since offset ("" = none), since
  // epoch, limit (< 0: all), reverse ("1"/"0"). Returns {epoch, top, unrecoverable, env...}.
  script history;
  // KEYS: presence hash, presence zset. ARGV: ttl ms, then client id / encoded info pairs.
  script presence_add;
  // KEYS: presence hash, presence zset. ARGV: client id.
  script presence_remove;
  // KEYS: presence hash, presence zset. Drops expired entries; returns the hash values.
  script presence_get;
};

const script_set& scripts();

// Key and topic names under a prefix (default "duplex").
class key_names {
 public:
  explicit key_names(std::string prefix) : prefix_(std::move(prefix)) {}

  std::string stream(std::string_view channel) const { return keyed("s", channel); }
  std::string meta(std::string_view channel) const { return keyed("m", channel); }
  std::string presence(std::string_view channel) const { return keyed("p", channel); }
  std::string presence_expiry(std::string_view channel) const { return keyed("z", channel); }
  // The Pub/Sub topic of a channel, and the prefix every channel topic starts with.
  std::string topic(std::string_view channel) const { return topic_prefix() + std::string(channel); }
  std::string topic_prefix() const { return prefix_ + ":c:"; }
  // A node's own topic (kept subscribed for the life of the link; see connection.h).
  std::string node_topic(std::string_view node_id) const { return prefix_ + ":n:" + std::string(node_id); }

 private:
  std::string keyed(std::string_view kind, std::string_view channel) const {
    std::string k;
    k.reserve(prefix_.size() + kind.size() + channel.size() + 5);
    k.append(prefix_).append(":").append(kind).append(":{").append(channel).append("}");
    return k;
  }
  std::string prefix_;
};

}  // namespace duplex::redis
