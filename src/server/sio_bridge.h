// Socket.IO clients on the hub: in `duplex serve`, a socket.io-client reaches the same channels
// as the Centrifugo, SSE and raw WebSocket clients, with the same permissions and JWT auth.
//
// Namespace "/" of the duplex::io server. Connect with the connection token in the auth
// payload, io(url, {auth: {token: JWT}}); without one the client is anonymous (refused with
// connect_error "unauthorized" when anonymous connections are off; an invalid or expired
// token is refused with "invalid token" / "token expired"). Events from the client:
//   subscribe(channel | {channel, offset, epoch}, ack)
//       ack({channel, offset, epoch, recovered})  offset/epoch when the namespace keeps
//       history; with a position, the publications after it come first (recovered tells
//       whether none were lost), then live ones.
//   unsubscribe(channel, ack)     ack({channel})
//   publish(channel, data, ack)   ack({channel, offset}) (offset 0 without history)
// Each failure acks {error: "<reason>"} (bad_channel, unknown_namespace, permission_denied,
// already_subscribed, not_subscribed, too_many_subscribers, too_many_channels,
// broker_unavailable, bad_request). Publications of subscribed channels arrive as the event
//   publication({channel, data, offset})
// encoded once per publication for every Socket.IO subscriber on the node, and
//   gap({channel, reason, offset, epoch})
// when publications of a subscribed channel were (or may have been) lost and the socket
// cannot be given them: the publications that follow continue from {offset, epoch} (the
// client's new position; a client that needs the lost state reloads it, e.g. from the history
// API). Reasons: "epoch_changed" (the broker lost the channel's history, e.g. Redis restarted
// empty), "history_exhausted" (what was missed is older than the history kept), and
// "broker_reconnected" for a channel without history (no offset/epoch then).
//
// Broker gap: when the node may have missed publications (announce_possible_gap: its Redis
// subscriber link was lost and is back), each subscribed channel with history is subscribed
// again from the last position the socket was given: the missed publications arrive as
// ordinary publication events, in order and once each, or, when history cannot tell, a gap
// event comes first. The socket stays connected. If the broker still refuses after a few
// retries (~3 s), the connection is closed (transport close): socket.io-client reconnects and
// the application resubscribes with its last {channel, offset, epoch}, as after any drop.
//
// Slow consumer: past max_output_bytes of unsent output the channel's namespace policy
// applies: drop skips publications (the client sees a gap in offsets), disconnect ends the
// connection (the client reconnects and may resubscribe with its last offset).
//
// Thread safety: sockets live on their loop thread, which is their hub shard.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "centrifuge/authenticator.h"
#include "duplex/socketio.h"
#include "hub/channel_hub.h"
#include "hub/wire_format.h"

namespace duplex::service {

struct sio_bridge_options {
  bool anonymous = true;                    // connections without a token
  std::size_t max_channels = 128;           // per socket
  std::size_t max_output_bytes = 4u << 20;  // unsent bytes before the slow-consumer policy
};

class sio_bridge {
 public:
  // Registers the publication event's wire format. Before the hub is built.
  static hub::wire_format register_format(hub::format_registry& registry);

  // hub and auth (may be null) must outlive the server's run(); loop i must be hub shard i.
  sio_bridge(hub::channel_hub& hub, hub::wire_format format, const centrifuge::authenticator* auth,
             sio_bridge_options options);
  ~sio_bridge();
  sio_bridge(const sio_bridge&) = delete;
  sio_bridge& operator=(const sio_bridge&) = delete;

  // Adds the middleware and the event handlers to io's namespace "/". The bridge must outlive
  // the server's run().
  void attach(io::server& io);

  // The node may have missed publications of any channel (see "Broker gap" above): every
  // socket recovers or is told, per channel. Any thread, while the server's loops run: one
  // task is posted to each loop, FIFO with the hub's deliveries there, so no socket is given a
  // publication that the broker delivers after this call before it has recovered.
  void announce_possible_gap();

  struct loop_state;  // implementation detail (sio_bridge.cc)

 private:
  hub::channel_hub& hub_;
  hub::wire_format format_;
  const centrifuge::authenticator* auth_;
  sio_bridge_options options_;
  std::vector<std::unique_ptr<loop_state>> loops_;  // one per hub shard
};

}  // namespace duplex::service
