// echo_server: echoes every WebSocket message on any path. Used by the interop tests and by
// the Autobahn|Testsuite (fuzzingclient), so its limits admit the suite's largest cases.
//   echo_server [--port N | N] [--host ADDR] [--max-message-size BYTES] [--max-fragments N]
//               [--no-deflate] [--tls-cert FILE --tls-key FILE] [--stats-file FILE] [--threads N]
#include <csignal>
#include <cstdio>
#include <fstream>
#include <thread>

#include <CLI/CLI.hpp>

#include "duplex/server.h"
#include "serve_until_signal.h"

int main(int argc, char** argv) {
  duplex::server_options opt{.port = 9001, .threads = 1};
  duplex::websocket_options ws{.max_message_size = 64u << 20, .max_fragments = 1u << 20,
                               .permessage_deflate = true, .ping_interval = {}, .idle_timeout = {}};
  bool no_deflate = false;
  std::string stats_file;
  int positional_port = -1;

  CLI::App app{"duplex WebSocket echo server"};
  app.add_option("port_arg", positional_port, "port (same as --port)");
  app.add_option("--port", opt.port, "port to listen on (0 = any)");
  app.add_option("--host", opt.host, "address to bind");
  app.add_option("--threads", opt.threads, "loop threads (0 = one per core)");
  app.add_option("--max-message-size", ws.max_message_size, "largest message in bytes");
  app.add_option("--max-fragments", ws.max_fragments, "most frames per message");
  app.add_flag("--no-deflate", no_deflate, "refuse permessage-deflate");
  app.add_option("--tls-cert", opt.tls_cert_file, "PEM certificate (enables wss://)");
  app.add_option("--tls-key", opt.tls_key_file, "PEM private key");
  app.add_option("--stats-file", stats_file, "write counters as JSON here on exit");
  CLI11_PARSE(app, argc, argv);
  if (positional_port >= 0) opt.port = static_cast<std::uint16_t>(positional_port);
  ws.permessage_deflate = !no_deflate;

  const sigset_t signals = duplex::examples::block_stop_signals();

  duplex::server srv(opt);
  srv.websocket("*", ws, {.on_message = [](duplex::websocket& c, std::string_view msg,
                                           duplex::message_type type) { c.send(msg, type); }});
  if (int rc = duplex::examples::serve_until_signal(srv, signals, "echo_server")) return rc;

  if (!stats_file.empty()) {
    auto s = srv.stats();
    std::ofstream out(stats_file);
    out << "{\"connections\":" << s.connections << ",\"messages_in\":" << s.ws.messages_in
        << ",\"messages_out\":" << s.ws.messages_out
        << ",\"compressed_frames_in\":" << s.ws.compressed_frames_in
        << ",\"compressed_frames_out\":" << s.ws.compressed_frames_out << "}\n";
  }
  return 0;
}
