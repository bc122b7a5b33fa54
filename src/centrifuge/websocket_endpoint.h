// The Centrifugo client protocol over WebSocket (`/connection/websocket`): one session per
// connection, created on the connection's loop thread and living on that thread's hub shard.
//
// Heartbeats are the protocol's own ({} pings with pong replies, see session.h), so the
// WebSocket layer's ping is turned off; its idle timeout stays as a backstop. A server stop
// closes these connections with 3001 "shutdown", which the SDKs treat as "reconnect".
#pragma once

#include <string>

#include "centrifuge/node.h"
#include "duplex/server.h"

namespace duplex::centrifuge {

// Adds the endpoint at `path`. `n` must outlive the server's run(). `options` gives the
// WebSocket limits (permessage_deflate, max_message_size, allowed_origins...); the heartbeat,
// backpressure and shutdown settings are set here from the node's options.
void add_websocket_endpoint(duplex::server& srv, node& n, std::string path,
                            websocket_options options);

}  // namespace duplex::centrifuge
