// sio_session: the Engine.IO/Socket.IO housekeeping that every Socket.IO scenario shares, on one
// client_connection in receive_mode::messages (see sio_protocol.h for the packets).
#pragma once

#include <string_view>

#include "client_connection.h"
#include "sio_protocol.h"

namespace duplex::bench {

// Classifies one text message of a Socket.IO connection and does the protocol's part: the
// Engine.IO open packet is answered with a CONNECT to "/" ("40"), a ping with a pong ("3"),
// both flushed at once through `events` (the pool's handler, so a failed send is reaped). The
// caller acts on the rest: kind::connected (the socket is ready), events and acks, and treats
// close, disconnect, connect_error and other as errors. `text` is valid during the call only,
// and so are the views in the result.
sio_info sio_on_message(client_connection& c, std::string_view text, connection_handler& events);

}  // namespace duplex::bench
