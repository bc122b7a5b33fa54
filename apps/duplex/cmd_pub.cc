// `duplex pub URL CHANNEL DATA`: one publish over the Centrifugo protocol (duplex::sdk::client).
//
// DATA is sent as is when it is JSON, else as a JSON string. The client connects (retrying with
// backoff within --timeout), publishes once, prints "published" on stdout and exits 0; a refusal
// prints the server's error ("duplex pub: error 103 permission denied") and exits 1, as does no
// reply within --timeout. (The protocol's publish reply carries no offset; the server HTTP API's
// publish does: use it when the offset matters.)
// Threads: the SDK's loop thread runs the callbacks; the main thread waits for the outcome.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include "cli_util.h"
#include "commands.h"
#include "duplex/centrifuge_client.h"

namespace duplex::cli {

namespace {

struct pub_args {
  std::string url;
  std::string channel;
  std::string data;
  std::string token;
  double timeout_s = 10;
};

int run_pub(const pub_args& a) {
  if (a.timeout_s <= 0) {
    std::fprintf(stderr, "duplex pub: --timeout must be positive\n");
    return 2;
  }
  const auto timeout = std::chrono::milliseconds(static_cast<long long>(a.timeout_s * 1000));
  sdk::client_config cfg;
  cfg.endpoints = {a.url};
  cfg.token = a.token;
  cfg.name = "duplex-cli";
  cfg.timeout = timeout;
  cfg.max_reconnect_delay = std::chrono::milliseconds(2000);
  const std::string json = json_or_string(a.data);

  stop_signals signals;  // before the client: its thread inherits the blocked mask
  std::atomic<bool> done{false};
  std::mutex mu;
  std::string failure;     // guarded by mu: why it failed ("" = success once done)
  std::string last_error;  // guarded by mu: the latest connection problem, for a timeout report
  bool published = false;  // loop thread only: publish sent (at most once, even on reconnect)

  sdk::client c(cfg);
  auto finish = [&](std::string why) {
    {
      std::lock_guard lock(mu);
      failure = std::move(why);
    }
    done = true;
  };
  c.on_connected([&](const sdk::connected_event&) {
    if (published) return;
    published = true;
    c.publish(a.channel, json, [&](sdk::result<sdk::empty> r) {
      if (r) return finish("");
      finish("error " + std::to_string(r.err->code) + " " + r.err->message);
    });
  });
  c.on_disconnected([&](const sdk::state_event& e) {
    std::lock_guard lock(mu);
    last_error = "disconnected: " + std::to_string(e.code) + " " + e.reason;
    // Terminal codes (centrifuge_client.h): the client will not reconnect.
    if ((e.code >= 3500 && e.code <= 3999) || (e.code >= 4500 && e.code <= 4999)) {
      failure = last_error;
      done = true;
    }
  });
  c.on_connecting([&](const sdk::state_event& e) {
    if (e.code == 0) return;  // connect() itself
    std::lock_guard lock(mu);
    last_error = std::to_string(e.code) + " " + e.reason;
  });
  c.on_error([&](const sdk::error& e) {
    std::lock_guard lock(mu);
    last_error = "error " + std::to_string(e.code) + " " + e.message;
  });
  c.connect();
  const int sig = signals.wait(done, std::chrono::steady_clock::now() + timeout);
  std::string last;  // before close(), whose own disconnect would overwrite it
  {
    std::lock_guard lock(mu);
    last = last_error;
  }
  c.close();  // joins the loop thread: from here nothing else writes the strings

  if (sig > 0) {
    std::fprintf(stderr, "duplex pub: interrupted\n");
    return 1;
  }
  if (sig < 0) {
    std::fprintf(stderr, "duplex pub: no reply from %s within %.3gs%s%s\n", a.url.c_str(), a.timeout_s,
                 last.empty() ? "" : "; last: ", last.c_str());
    return 1;
  }
  if (!failure.empty()) {
    std::fprintf(stderr, "duplex pub: %s\n", failure.c_str());
    return 1;
  }
  std::printf("published\n");
  return 0;
}

}  // namespace

command add_pub_command(CLI::App& parent) {
  auto args = std::make_shared<pub_args>();
  auto* cmd = parent.add_subcommand("pub", "publish one message to a channel");
  cmd->footer(
      "Publishes DATA over the Centrifugo client protocol: as is when it is JSON, else as a JSON\n"
      "string. Prints \"published\" and exits 0, or prints the error (\"error 103 permission denied\",\n"
      "no reply within --timeout) and exits 1.");
  cmd->add_option("url", args->url, "ws:// URL of /connection/websocket")->required();
  cmd->add_option("channel", args->channel, "channel")->required();
  cmd->add_option("data", args->data, "publication data")->required();
  cmd->add_option("--token", args->token, "connection token (JWT), if the server needs one");
  cmd->add_option("--timeout", args->timeout_s, "seconds to connect and get the reply (default 10)");
  return {cmd, [args] { return run_pub(*args); }};
}

}  // namespace duplex::cli
