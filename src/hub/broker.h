// broker: where publications get their offsets, where history and presence are kept, and how
// publications reach every node (ARCHITECTURE.md: "broker: memory | redis").
//
// Declared here, implemented by memory_broker (hub/, the default) and later by the Redis
// broker (redis/, Pub/Sub + Streams) — STYLE.md rule 4.
//
// Asynchrony: every operation that may need a network round trip completes through a
// callback, never a blocking return. The callback is posted to `reply_on` (the caller's
// executor), so it runs on the caller's thread on a later turn even when the broker finished
// synchronously (the memory broker does). `reply_on == nullptr` means "call it on whatever
// thread completes the operation" — for callers without an executor (tests, start-up code).
// A null callback is allowed: the operation still happens and nothing is called.
// Callbacks may be called after the caller has gone away only if the caller let them: capture
// what stays valid (the hub's shards check that the subscription still exists).
//
// Inbound side: the node installs one broker_events handler; the broker calls it for every
// publication/join/leave on any channel this node is interested in (node_subscribe), from
// every node including this one, in offset order per channel, from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/executor.h"
#include "hub/error.h"
#include "hub/publication.h"

namespace duplex::hub {

template <class T>
using callback = std::function<void(T)>;

struct publish_options {
  std::size_t history_size = 0;             // 0 or ttl 0: no history, no offset
  std::chrono::milliseconds history_ttl{0};
};

struct publish_result {
  error err = error::ok;
  stream_position position;  // of this publication (offset 0, epoch "" without history)
};

struct history_query {
  std::optional<stream_position> since;  // forward: offsets > since.offset; reverse: < since
  std::int64_t limit = 0;                // 0: position only; < 0: no limit
  bool reverse = false;                  // newest first
};

struct history_result {
  error err = error::ok;  // unrecoverable_position when since.epoch is not the current epoch
  std::vector<publication> pubs;
  stream_position position;  // the stream's current top (set even on unrecoverable_position)
};

struct presence_result {
  error err = error::ok;
  std::vector<client_info> clients;
};

struct presence_stats_result {
  error err = error::ok;
  std::size_t num_clients = 0;
  std::size_t num_users = 0;  // distinct user ids (anonymous "" counts as one user)
};

class broker_events {
 public:
  // Called from any thread. Must not block and must not call back into the broker
  // synchronously (the memory broker calls these under its per-channel lock to keep order).
  virtual void on_publication(const publication& pub) = 0;
  virtual void on_join(const std::string& channel, const client_info& who) = 0;
  virtual void on_leave(const std::string& channel, const client_info& who) = 0;

 protected:
  ~broker_events() = default;
};

class broker {
 public:
  virtual ~broker() = default;

  // Installs the inbound handler; call once, before any other call. Not owned.
  virtual void set_events(broker_events* events) = 0;

  // This node gained its first / lost its last local subscriber of `channel`. A distributed
  // broker (un)subscribes the node from the channel's Pub/Sub topic. Called from any thread,
  // in order per channel; must be cheap and must not call back into the hub synchronously.
  virtual void node_subscribe(const std::string& channel) = 0;
  virtual void node_unsubscribe(const std::string& channel) = 0;

  // Assigns offset and epoch (when opts enable history), stores the publication in history,
  // and sends it to every node interested in the channel. pub.offset/epoch are ignored.
  virtual void publish(publication pub, const publish_options& opts, executor* reply_on,
                       callback<publish_result> done) = 0;
  // Join/leave events go to every node's subscribers; not stored.
  virtual void publish_join(const std::string& channel, const client_info& who) = 0;
  virtual void publish_leave(const std::string& channel, const client_info& who) = 0;

  virtual void history(const std::string& channel, const history_query& q, executor* reply_on,
                       callback<history_result> done) = 0;
  // Drops the channel's history; the next publication starts a new epoch.
  virtual void remove_history(const std::string& channel, executor* reply_on,
                              callback<error> done) = 0;

  // Presence is keyed by (channel, client_id); adding an existing client replaces its entry.
  virtual void add_presence(const std::string& channel, const client_info& who,
                            executor* reply_on, callback<error> done) = 0;
  virtual void remove_presence(const std::string& channel, const std::string& client_id,
                               executor* reply_on, callback<error> done) = 0;
  virtual void presence(const std::string& channel, executor* reply_on,
                        callback<presence_result> done) = 0;
  virtual void presence_stats(const std::string& channel, executor* reply_on,
                              callback<presence_stats_result> done) = 0;
};

// Runs done(result) per the reply_on rule above. For broker implementations and the hub.
template <class T>
void complete(executor* reply_on, callback<T> done, T result) {
  if (!done) return;
  if (reply_on == nullptr) {
    done(std::move(result));
    return;
  }
  reply_on->post([done = std::move(done), result = std::move(result)]() mutable {
    done(std::move(result));
  });
}

}  // namespace duplex::hub
