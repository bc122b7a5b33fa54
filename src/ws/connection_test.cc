// Pins the memory an idle WebSocket connection costs (issue 3: <= 256 bytes of server RSS per
// idle connection, aiming at 128). An idle server connection after the handshake, with no
// heartbeat and no compression, is exactly two heap blocks:
//   net::stream (net/stream.h, owned by the loop) + ws::connection (this object);
// the protocol's receive state, the deflate state and the "extras" block (path other than
// the endpoint's, subprotocol, extensions, close reason, client handshake) are allocated only
// when needed. glibc malloc adds 8 bytes per block and rounds to 16.
#include <gtest/gtest.h>

#include "net/stream.h"
#include "ws/connection.h"
#include "ws/protocol.h"

namespace duplex::ws {
namespace {

constexpr std::size_t malloc_chunk(std::size_t n) { return (n + 8 + 15) / 16 * 16; }

// 3 vtable pointers (websocket, stream_handler, protocol_handler with its output_sink), stream,
// config, home, timer id, the protocol, the extras pointer, and 8 bytes of last-receive time
// and flags.
static_assert(sizeof(connection) <= 128, "ws::connection grew: idle connections cost more");
// the handler (also the sink) reference, limits, flags, and two pointers to lazily allocated
// state.
static_assert(sizeof(protocol) <= 40, "ws::protocol grew: it is part of every connection");

TEST(ConnectionMemory, IdleServerConnectionFitsTheBudget) {
  const std::size_t idle = malloc_chunk(sizeof(net::stream)) + malloc_chunk(sizeof(connection));
  EXPECT_LE(idle, 224u) << "stream " << sizeof(net::stream) << " + connection "
                        << sizeof(connection);
}

}  // namespace
}  // namespace duplex::ws
