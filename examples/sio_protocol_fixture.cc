// sio_protocol_fixture: the server that the Engine.IO v4 and Socket.IO v5 protocol test suites
// expect (socketio/socket.io docs/engine.io-protocol and docs/socket.io-protocol, "Test
// suite"), both in one process:
//  - /socket.io/: Socket.IO with pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1000000,
//    connectTimeout 1000 ms, no recovery; namespaces "/" and "/custom" (others get "Invalid
//    namespace"); on connect each emits `auth` with the handshake's auth; in "/", `message` is
//    echoed as `message-back` with the same arguments and `message-with-ack` is acknowledged
//    with its arguments.
//  - /engine.io/: a bare Engine.IO server with the same ping settings that echoes every
//    message.
//   sio_protocol_fixture [--port N] [--host ADDR] [--threads N]
// Prints "listening on N" once it listens; SIGINT/SIGTERM stop it.
#include <csignal>
#include <cstdio>
#include <thread>

#include <CLI/CLI.hpp>

#include "duplex/server.h"
#include "serve_until_signal.h"
#include "duplex/socketio.h"
#include "sio/engine.h"

namespace {

// Echoes each message back on the same session.
class echo_handler final : public duplex::sio::engine_handler {
 public:
  void on_open(duplex::sio::engine_socket&) override {}
  void on_message(duplex::sio::engine_socket& s, std::string_view data, bool binary) override {
    s.send(data, binary);
  }
  void on_close(duplex::sio::engine_socket&, std::string_view) override {}
};

}  // namespace

int main(int argc, char** argv) {
  duplex::server_options opt{.host = "127.0.0.1", .port = 3000, .threads = 1};
  CLI::App app{"Engine.IO / Socket.IO protocol test-suite fixture"};
  app.add_option("--port", opt.port, "port to listen on (0 = any)");
  app.add_option("--host", opt.host, "address to bind");
  app.add_option("--threads", opt.threads, "loop threads");
  CLI11_PARSE(app, argc, argv);

  const sigset_t signals = duplex::examples::block_stop_signals();

  duplex::server srv(opt);
  echo_handler echo;
  duplex::sio::engine_server engine(
      {.path = "/engine.io/",
       .ping_interval = std::chrono::milliseconds(300),
       .ping_timeout = std::chrono::milliseconds(200),
       .max_payload = 1000000},
      echo);
  engine.add_to(srv);

  duplex::io::server io(srv, {.ping_interval = std::chrono::milliseconds(300),
                              .ping_timeout = std::chrono::milliseconds(200),
                              .connect_timeout = std::chrono::milliseconds(1000),
                              .max_http_buffer_size = 1000000});
  io.of("/").on_connection([](duplex::io::socket& s) {
    s.emit("auth", duplex::io::json::array({s.handshake().auth}));
    s.on("message", [](duplex::io::socket& s, const duplex::io::json& args, duplex::io::ack_fn) {
      s.emit("message-back", args);
    });
    s.on("message-with-ack",
         [](duplex::io::socket&, const duplex::io::json& args, duplex::io::ack_fn ack) {
           if (ack) ack(args);
         });
  });
  io.of("/custom").on_connection([](duplex::io::socket& s) {
    s.emit("auth", duplex::io::json::array({s.handshake().auth}));
  });
  return duplex::examples::serve_until_signal(srv, signals, "sio_protocol_fixture");
}
