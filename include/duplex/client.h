// duplex::client — WebSocket client connections on one loop run by the calling thread.
//
//   duplex::client c;
//   c.connect("ws://127.0.0.1:9001/echo", {}, {.on_open = [](duplex::websocket& ws) { ws.send("hi"); },
//              .on_message = [](duplex::websocket& ws, std::string_view m, duplex::message_type) {
//                ws.close(); }});
//   c.run();   // returns when no connection is left (or stop())
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "duplex/websocket.h"

namespace duplex {

struct client_options {
  websocket_options ws;               // permessage_deflate here makes the client offer it
  std::string ca_file;                // wss://: verify the server against this CA bundle
  bool verify_peer = true;            // wss://: false skips certificate verification
  std::chrono::milliseconds connect_timeout{10000};  // TCP + TLS + HTTP upgrade
  std::vector<std::pair<std::string, std::string>> headers;  // extra upgrade request headers
  std::string origin;                 // sent as Origin when not empty
  // With ws.permessage_deflate: also offer client_no_context_takeover (RFC 7692 §7.1.1.2),
  // promising to compress each message alone (less memory per connection, lower ratio).
  bool deflate_no_context_takeover = false;
};

class client {
 public:
  client();
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  // Starts connecting to a ws:// or wss:// URL. on_error fires (instead of on_open) when the
  // URL is bad, the connection fails, or the handshake is refused; the error_code's message
  // says why. Call from the thread that calls run() (or before run()).
  void connect(std::string_view url, client_options options, websocket_handlers handlers,
               std::function<void(std::error_code, std::string_view detail)> on_error = {});

  // Runs the loop on the calling thread until no connection (or pending connect) is left,
  // or stop() is called.
  void run();
  // Thread-safe.
  void stop();

  websocket_stats stats() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace duplex
