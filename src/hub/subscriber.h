// subscriber: what a protocol session (Centrifugo JSON, Socket.IO, SSE, raw ws) implements to
// receive pushes from the hub.
//
// Contract:
// - Every call happens on the thread of the shard the subscriber subscribed through, and only
//   between a successful subscribe (its callback has run) and unsubscribe.
// - deliver() is fire-and-forget: it must not block. Take d.frame(format()) (already encoded
//   and framed, shared with every other subscriber of that format) and queue it. When the
//   connection's output limit is exceeded, call shard::report_slow() instead of buffering
//   without bound.
// - A subscriber may call shard::unsubscribe()/subscribe() from inside deliver() or on_slow();
//   the shard tolerates changes to the list it is iterating.
// - The subscriber must outlive its subscriptions: unsubscribe from every channel (on its
//   thread) before being destroyed. The hub never owns or deletes a subscriber.
#pragma once

#include <string_view>

#include "hub/delivery.h"
#include "hub/namespace_options.h"
#include "hub/publication.h"
#include "hub/wire_format.h"

namespace duplex::hub {

class subscriber {
 public:
  // The format this session's connection speaks; constant for the subscriber's lifetime.
  virtual wire_format format() const noexcept = 0;

  // Identity used for presence and join/leave (client id, user id, connection info).
  virtual const client_info& client() const noexcept = 0;

  // A push on one of the subscriber's channels (publication, join or leave).
  virtual void deliver(const delivery& d) = 0;

  // Outcome of report_slow for `channel`: with `drop` the session has lost publications on
  // that channel (tell the client it has a gap, e.g. Centrifugo's "insufficient state"
  // unsubscribe so the SDK resubscribes with recovery); with `disconnect` the session closes
  // with a reconnect advice. Called synchronously from report_slow.
  virtual void on_slow(std::string_view channel, slow_consumer_policy applied) = 0;

  // Cache prefetch of what deliver() will touch, one pointer hop per stage: a channel's
  // dispatch prefetches the subscriber object itself some slots ahead, then calls stage 0, 1,
  // 2, ... on later slots, each stage following pointers that the previous one brought into
  // cache (a session: its connection, the socket's stream, its output queue, the tail of the
  // output). The misses of several deliveries then overlap instead of each waiting for the
  // last. Only hints: any stage may do nothing.
  virtual void prefetch(unsigned /*stage*/) const noexcept {}

 protected:
  ~subscriber() = default;
};

}  // namespace duplex::hub
