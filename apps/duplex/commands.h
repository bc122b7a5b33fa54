// The client subcommands of the `duplex` program (issue 8): `duplex ws`, `duplex sub`,
// `duplex pub`. Each lives in its own cmd_<name>.cc; main() only registers and dispatches them.
//
//   auto cmds = std::vector{duplex::cli::add_ws_command(app), ...};
//   CLI11_PARSE(app, argc, argv);
//   for (auto& c : cmds) if (*c.app) return c.run();
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace duplex::cli {

// A registered subcommand: `app` is owned by the parent CLI::App; `run` holds the parsed
// options (captured) and returns the process exit code. Call run() only after parsing, and only
// for the subcommand that was selected.
struct command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

// `duplex ws URL [--header K:V]... [--subprotocol P]... [--origin O]`: an interactive WebSocket
// client like wscat. Exit 0 on a normal close or stdin EOF, 1 when the connection fails.
command add_ws_command(CLI::App& parent);
// `duplex sub URL CHANNEL... [--token T] [--since OFFSET:EPOCH]`: Centrifugo-protocol subscriber
// printing publications as JSON lines until SIGINT/SIGTERM.
command add_sub_command(CLI::App& parent);
// `duplex pub URL CHANNEL DATA [--token T]`: publish once and print the result.
command add_pub_command(CLI::App& parent);

}  // namespace duplex::cli
