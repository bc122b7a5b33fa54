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
// encoded once per publication for every Socket.IO subscriber on the node.
//
// Slow consumer: past max_output_bytes of unsent output the channel's namespace policy
// applies: drop skips publications (the client sees a gap in offsets), disconnect ends the
// connection (the client reconnects and may resubscribe with its last offset).
//
// Thread safety: sockets live on their loop thread, which is their hub shard.
#pragma once

#include <cstddef>

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

  // Adds the middleware and the event handlers to io's namespace "/". The bridge must outlive
  // the server's run().
  void attach(io::server& io);

 private:
  hub::channel_hub& hub_;
  hub::wire_format format_;
  const centrifuge::authenticator* auth_;
  sio_bridge_options options_;
};

}  // namespace duplex::service
