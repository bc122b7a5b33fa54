// /ws: a plain WebSocket on the hub, for clients that speak no protocol at all (Node `ws`,
// browsers' WebSocket, python websockets).
//
// Request: GET /ws?channel=a&channel=b[&token=JWT] (Upgrade: websocket). Channel and token
// rules are those of /events (events_endpoint.h: admit_channels); browsers cannot set headers
// on a WebSocket, so the token comes in the query only. A refused request is accepted and then
// closed at once with a code that mirrors the HTTP status /events would give, and the reason
// as close reason (browsers show close codes and reasons, never a refused handshake's status):
//   4400 bad request, 4401 bad/expired/missing token, 4403 permission denied, 4404 unknown
//   namespace; 4500 a subscription failed after opening (too many subscribers, broker down).
//
// Out: each publication of a subscribed channel is one text frame whose payload is the
// publication's data (the JSON text), with no envelope: the frame is built once per
// publication and shared by every /ws subscriber (ws::connection::send_frame). Join/leave
// events are not sent.
// In: each text frame is published to the FIRST channel of the query (to publish elsewhere,
// open another connection), under the namespace's publish rule for this connection's
// credential; the publisher gets its own publication too, like every subscriber. A frame that
// is valid JSON is published as is; any other text is published as a JSON string (so that
// Centrifugo and SSE clients always receive valid JSON). A publish the rule refuses closes the
// connection with 1008 "publish not allowed"; a binary frame closes it with 1003.
//
// Slow consumer: past `max_output_bytes` of unsent output the namespace policy applies:
// `drop` skips publications until the output is below the limit again (a raw WebSocket has no
// way to say "gap": use /events or the Centrifugo protocol when positions matter);
// `disconnect` closes with 1013 "slow consumer".
//
// Broker gap: when the node may have missed publications (announce_possible_gap: its Redis
// subscriber link was lost and is back), every connection is closed with 1012 "service
// restart" (RFC 6455 §11.7, IANA registry: the client may reconnect): a raw WebSocket carries
// no positions and cannot resume, so its client reconnects and reloads whatever state it
// derives from the channel (or uses /events or the Centrifugo protocol, which recover).
//
// Thread safety: connections live on their loop thread (= hub shard) and never leave it.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "centrifuge/authenticator.h"
#include "duplex/server.h"
#include "hub/channel_hub.h"
#include "hub/wire_format.h"

namespace duplex::service {

struct raw_ws_options {
  std::size_t max_output_bytes = 4u << 20;  // unsent bytes before the slow-consumer policy
  std::size_t max_channels = 128;           // per connection
  bool anonymous = true;                    // connections without a token
};

class raw_ws_endpoint {
 public:
  // Registers the endpoint's wire format (a text frame of the data). Before the hub is built.
  static hub::wire_format register_format(hub::format_registry& registry);

  // hub and auth (may be null) must outlive the server's run(); the server's loop i must be hub
  // shard i.
  raw_ws_endpoint(hub::channel_hub& hub, hub::wire_format format,
                  const centrifuge::authenticator* auth, raw_ws_options options);
  ~raw_ws_endpoint();
  raw_ws_endpoint(const raw_ws_endpoint&) = delete;
  raw_ws_endpoint& operator=(const raw_ws_endpoint&) = delete;

  // Adds the WebSocket endpoint at `path`. `ws` gives the WebSocket limits (max_message_size,
  // allowed_origins, permessage_deflate...); the backpressure backstop is raised above
  // max_output_bytes so that the slow-consumer policy applies first. The endpoint must outlive
  // srv's run().
  void add_to(duplex::server& srv, std::string path, websocket_options ws);

  // The node may have missed publications of any channel (see "Broker gap" above): closes
  // every open connection with 1012. Any thread, while the server's loops run: one task is
  // posted to each loop, FIFO with the hub's deliveries there, so a connection gets nothing
  // that the broker delivers after this call.
  void announce_possible_gap();

  struct loop_state;  // implementation detail (raw_ws_endpoint.cc)

 private:
  hub::channel_hub& hub_;
  hub::wire_format format_;
  const centrifuge::authenticator* auth_;
  raw_ws_options options_;
  std::vector<std::unique_ptr<loop_state>> loops_;  // one per hub shard
};

}  // namespace duplex::service
