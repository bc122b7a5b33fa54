// duplex — the server program. For now: `duplex serve` runs a WebSocket echo endpoint and the
// demo pages; the channel hub and its protocols arrive with the next issues.
#include <csignal>
#include <cstdio>
#include <thread>

#include <CLI/CLI.hpp>

#include "duplex/server.h"

#ifndef DUPLEX_WEB_ROOT
#define DUPLEX_WEB_ROOT "web"
#endif

namespace {

int serve(duplex::server_options opt, const std::string& web_root) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  duplex::server srv(opt);
  duplex::websocket_options echo_opt{.permessage_deflate = true};
  srv.websocket("/echo", echo_opt,
                {.on_message = [](duplex::websocket& ws, std::string_view msg,
                                  duplex::message_type type) { ws.send(msg, type); }});
  srv.get("/health", [](std::string_view) {
    return duplex::http_reply{.status = 200, .body = "ok\n"};
  });
  srv.static_files("/", web_root);
  if (auto ec = srv.listen()) {
    std::fprintf(stderr, "duplex: cannot listen on %s:%u: %s\n", opt.host.c_str(), opt.port,
                 ec.message().c_str());
    return 1;
  }
  // The first line is machine-readable (tests start `duplex serve --port 0` and read it).
  std::printf("listening on %u\n", srv.port());
  std::printf("duplex serving on http://localhost:%u/ (WebSocket echo at ws://localhost:%u/echo)\n",
              srv.port(), srv.port());
  std::fflush(stdout);

  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::printf("duplex: stopping\n");
    srv.stop();
  });
  srv.run();
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"duplex — real-time messaging server"};
  app.require_subcommand(1);
  duplex::server_options opt;
  std::string web_root = DUPLEX_WEB_ROOT;
  auto* serve_cmd = app.add_subcommand("serve", "run the server");
  serve_cmd->add_option("--port", opt.port, "port (0 picks a free one)")->envname("DUPLEX_PORT");
  serve_cmd->add_option("--host", opt.host, "address to bind")->envname("DUPLEX_HOST");
  serve_cmd->add_option("--threads", opt.threads, "loop threads (0 = one per core)")
      ->envname("DUPLEX_THREADS");
  serve_cmd->add_option("--web-root", web_root, "folder of the demo pages")->envname("DUPLEX_WEB_ROOT");
  serve_cmd->add_option("--tls-cert", opt.tls_cert_file, "PEM certificate (serve https/wss)");
  serve_cmd->add_option("--tls-key", opt.tls_key_file, "PEM private key");
  CLI11_PARSE(app, argc, argv);
  if (*serve_cmd) return serve(opt, web_root);
  return 0;
}
