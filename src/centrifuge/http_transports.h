// The Centrifugo protocol's other transports (centrifugal.dev docs/transports/*):
//
//   bidirectional emulation   POST /connection/http_stream  (body: the connect command)
//                             GET  /connection/sse?cf_connect=<connect command>
//                             POST /emulation  {"session","node","data"}: later commands
//   unidirectional            GET  /connection/uni_websocket  (first message: ConnectRequest)
//                             GET|POST /connection/uni_sse  (cf_connect query, or the body)
//                             POST /connection/uni_http_stream  (body: ConnectRequest)
//
// Each connection is a centrifuge::session (session.h) whose transport writes to a long-lived
// response (sse::stream_response) or, for uni_websocket, a WebSocket. Emulation streams get a
// random session id (with the owning loop's index) in their connect reply; an /emulation POST
// may land on any loop: it is handed to the owner's executor, which runs the commands on the
// session (replies go down the stream, as the protocol says) and the POST is answered 204 on
// its own loop. Unknown session or node -> 404 (centrifuge-js then closes and reconnects);
// malformed body -> 400. Several nodes without sticky sessions: a POST naming another node
// (the connect reply's `node`, node_options::node_name) goes to options.forward_emulation,
// and that node serves it with the function add_fallback_endpoints returned.
//
// Bad connect input is refused before a stream opens: 400 when the connect is not JSON
// (bidirectional: not one JSON object per line; unidirectional: not one JSON object), 413
// over max_connect_bytes. A connect the session refuses ends the stream with a disconnect push.
//
// CORS: requests with an allowed Origin get Access-Control-Allow-Origin (echoed) and Vary;
// OPTIONS preflights get 204 with the path's methods; a refused Origin gets 403.
//
// Server stop: an on_stop hook disconnects every session of these transports with 3001
// "shutdown" (a disconnect push, then the stream ends), so `duplex serve` stops quickly with
// streams open.
//
// Thread safety: set-up only (before listen()); everything else runs on loop threads.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "centrifuge/node.h"
#include "duplex/server.h"

namespace duplex::centrifuge {

struct fallback_options {
  std::string http_stream_path = "/connection/http_stream";
  std::string sse_path = "/connection/sse";
  std::string emulation_path = "/emulation";
  std::string uni_websocket_path = "/connection/uni_websocket";
  std::string uni_sse_path = "/connection/uni_sse";
  std::string uni_http_stream_path = "/connection/uni_http_stream";
  // Origins allowed to use these endpoints from a browser page elsewhere (CORS, http/cors.h):
  // empty = any. Others get 403; preflights (OPTIONS) are answered for every path.
  std::vector<std::string> allowed_origins;
  // Longest connect command (body or decoded query); Centrifugo's default is 64 KiB.
  std::size_t max_connect_bytes = 64 * 1024;
  // WebSocket limits for uni_websocket (as for /connection/websocket); the heartbeat,
  // backpressure and shutdown settings are set from the node's options.
  websocket_options uni_websocket;
  // An /emulation request for a session of node `node` (not this one): hand it over and call
  // done with the owner's status (204 served, 404 unknown session; 0 = the node could not be
  // reached, answered 404). Empty: such requests get 404.
  std::function<void(std::string node, std::string session, std::string data,
                     std::function<void(int status)> done)>
      forward_emulation;
};

// Runs the commands of an /emulation request forwarded from another node on the session
// `session` of this one; done(204) or done(404) (unknown session), on any thread. Any thread.
using emulation_server =
    std::function<void(std::string session, std::string data, std::function<void(int status)> done)>;

// Adds the six endpoints and the stop hook. `n` must outlive the server's run(). The loops'
// indexes must be the hub's shard indexes (as app.cc builds them).
emulation_server add_fallback_endpoints(duplex::server& srv, node& n, fallback_options options);

}  // namespace duplex::centrifuge
