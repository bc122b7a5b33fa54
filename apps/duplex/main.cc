// duplex — the server program.
//
//   duplex serve [--config FILE] [--port N] ...   run the server (service::app)
//   duplex serve --demo ...                       ... plus simulated prices in ticker.prices
//   duplex genconfig [FILE]                        write a commented starter config
//   duplex checkconfig [--config FILE] ...         validate the configuration and summarise it
//   duplex gentoken --user ID [--ttl 24h] [--channel C]...  print a connection token (HS256)
//   duplex ws URL                                  interactive WebSocket client (cmd_ws.cc)
//   duplex sub URL CHANNEL...                      print publications as JSON lines (cmd_sub.cc)
//   duplex pub URL CHANNEL DATA                    publish once (cmd_pub.cc)
//
// Configuration: defaults < TOML file < DUPLEX_* environment < flags (server/config.h).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include <CLI/CLI.hpp>

#include "base/log.h"
#include "commands.h"
#include "server/app.h"
#include "server/config.h"

#ifndef DUPLEX_WEB_ROOT
#define DUPLEX_WEB_ROOT "web"
#endif

namespace {

using duplex::service::config;

bool load(const duplex::service::config_flags& flags, config& out) {
  std::string why;
  if (!duplex::service::load_config(flags.config_file.value_or(""), flags, std::getenv, out, why)) {
    std::fprintf(stderr, "duplex: configuration error: %s\n", why.c_str());
    return false;
  }
  return true;
}

int serve(const duplex::service::config_flags& flags, bool demo) {
  config cfg;
  if (!load(flags, cfg)) return 2;
  duplex::log::init(cfg.log.level, cfg.log.format == duplex::service::log_format::json
                                        ? duplex::log::format::json
                                        : duplex::log::format::text);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  duplex::service::app app(cfg, DUPLEX_WEB_ROOT);
  if (demo) app.enable_demo_ticker();
  std::string why;
  if (auto ec = app.start(why)) {
    std::fprintf(stderr, "duplex: %s\n", why.c_str());
    return 1;
  }
  // The first line is machine-readable (tests start `duplex serve --port 0` and read it).
  const unsigned port = app.port();
  std::printf("listening on %u\n", port);
  std::printf("duplex serving on http://localhost:%u/\n", port);
  std::printf("  Centrifugo protocol  ws://localhost:%u/connection/websocket\n", port);
  std::printf("  server API           http://localhost:%u/api/<method>%s\n", port,
              cfg.auth.api_key.empty() && !cfg.auth.api_insecure ? " (disabled: no api_key)" : "");
  std::printf("  metrics, health      http://localhost:%u/metrics  /health\n", port);
  std::printf("  WebSocket echo       ws://localhost:%u/echo\n", port);
  if (demo) std::printf("  demo ticker          ticker.prices (SSE: /events?channel=ticker.prices)\n");
  std::fflush(stdout);

  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    std::printf("duplex: stopping\n");
    std::fflush(stdout);
    app.stop();
  });
  app.run();
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"duplex — real-time messaging server"};
  cli.require_subcommand(1);

  duplex::service::config_flags serve_flags;
  auto* serve_cmd = cli.add_subcommand("serve", "run the server");
  duplex::service::add_serve_flags(*serve_cmd, serve_flags);
  bool serve_demo = false;
  serve_cmd->add_flag("--demo", serve_demo,
                      "publish simulated prices into ticker.prices (the ticker demo page)");

  std::string genconfig_path;
  auto* genconfig_cmd = cli.add_subcommand("genconfig", "write a commented starter config file");
  genconfig_cmd->add_option("file", genconfig_path, "where to write it (default: stdout)");

  duplex::service::config_flags check_flags;
  auto* check_cmd = cli.add_subcommand("checkconfig", "validate the configuration and summarise it");
  duplex::service::add_serve_flags(*check_cmd, check_flags);

  duplex::service::config_flags token_flags;
  std::string token_user;
  std::string token_ttl = "24h";
  std::vector<std::string> token_channels;
  auto* token_cmd = cli.add_subcommand("gentoken", "print a connection token for the configured secret");
  duplex::service::add_serve_flags(*token_cmd, token_flags);
  token_cmd->add_option("--user", token_user, "user id (the token's sub)")->required();
  token_cmd->add_option("--ttl", token_ttl, "lifetime, e.g. 1h, 30m (default 24h)");
  token_cmd->add_option("--channel", token_channels, "server-side subscription (repeatable)");

  const duplex::cli::command clients[] = {duplex::cli::add_ws_command(cli), duplex::cli::add_sub_command(cli),
                                          duplex::cli::add_pub_command(cli)};

  CLI11_PARSE(cli, argc, argv);
  for (const auto& c : clients) {
    if (*c.app) return c.run();
  }

  if (*serve_cmd) return serve(serve_flags, serve_demo);
  if (*genconfig_cmd) {
    const std::string text = duplex::service::genconfig_text();
    if (genconfig_path.empty()) {
      std::fputs(text.c_str(), stdout);
      return 0;
    }
    std::ofstream f(genconfig_path, std::ios::trunc);
    if (!(f << text)) {
      std::fprintf(stderr, "duplex: cannot write %s\n", genconfig_path.c_str());
      return 1;
    }
    std::printf("wrote %s\n", genconfig_path.c_str());
    return 0;
  }
  if (*check_cmd) {
    config cfg;
    if (!load(check_flags, cfg)) return 2;
    std::printf("configuration ok\n%s", duplex::service::describe(cfg).c_str());
    return 0;
  }
  if (*token_cmd) {
    config cfg;
    if (!load(token_flags, cfg)) return 2;
    auto ttl = duplex::service::parse_duration(token_ttl);
    if (!ttl || ttl->count() < 1000) {
      std::fprintf(stderr, "duplex: --ttl: expected a duration of at least 1s like \"1h\", got \"%s\"\n",
                   token_ttl.c_str());
      return 2;
    }
    std::string why;
    std::string token = duplex::service::make_user_token(
        cfg, token_user, std::chrono::duration_cast<std::chrono::seconds>(*ttl), token_channels, why);
    if (token.empty()) {
      std::fprintf(stderr, "duplex: gentoken: %s\n", why.c_str());
      return 2;
    }
    std::printf("%s\n", token.c_str());
    return 0;
  }
  return 0;
}
