// Library-internal access to a duplex::io socket for the layers that deliver hub publications
// to Socket.IO clients (server/sio_bridge): send a Socket.IO packet already encoded once for
// every receiver, and read the connection's unsent output.
//
// Thread safety: the socket's thread only, as for every socket call.
#pragma once

#include <cstddef>
#include <string_view>

#include "duplex/socketio.h"

namespace duplex::io {

// Sends `sio_text`, one Socket.IO packet in text form without binary attachments (e.g.
// 2["publication",{...}]), as it is. Dropped when the socket is disconnected.
void send_encoded(socket& s, std::string_view sio_text);

// Bytes queued for the socket's connection and not yet written.
std::size_t buffered(const socket& s);

}  // namespace duplex::io
