// `duplex sub URL CHANNEL...`: a Centrifugo-protocol subscriber over duplex::sdk::client.
//
// stdout: one JSON line per publication, {"channel":..,"offset":..,"data":..}, in arrival order.
// stderr: status lines (connecting, connected, subscribed recovered=.., gap, disconnected, ...).
// The SDK reconnects with backoff and resubscribes with recovery by itself; this command only
// prints. It runs until SIGINT/SIGTERM (exit 0), a terminal disconnect from the server, or every
// subscription refused (exit 1).
// Threads: the SDK's callbacks run on its loop thread, one at a time (so stdout lines never
// interleave); the main thread only waits for a signal.
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "duplex/centrifuge_client.h"
#include "server/config.h"

namespace duplex::cli {

namespace {

struct sub_args {
  std::string url;
  std::vector<std::string> channels;
  std::string token;
  std::string since;
  std::string min_delay = "200ms";
  std::string max_delay = "5s";
};

// Terminal disconnect codes (include/duplex/centrifuge_client.h, state_event): the client stays
// disconnected, so waiting longer is pointless.
bool terminal(std::uint32_t code) {
  return (code >= 3500 && code <= 3999) || (code >= 4500 && code <= 4999);
}

std::string quoted(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int run_sub(const sub_args& a) {
  sdk::client_config cfg;
  cfg.endpoints = {a.url};
  cfg.token = a.token;
  cfg.name = "duplex-cli";
  auto min_delay = service::parse_duration(a.min_delay);
  auto max_delay = service::parse_duration(a.max_delay);
  if (!min_delay || !max_delay || min_delay->count() <= 0 || *max_delay < *min_delay) {
    std::fprintf(stderr, "duplex sub: bad reconnect delays \"%s\" / \"%s\" (want durations like 200ms, "
                 "5s; min <= max)\n", a.min_delay.c_str(), a.max_delay.c_str());
    return 2;
  }
  cfg.min_reconnect_delay = *min_delay;
  cfg.max_reconnect_delay = *max_delay;
  sdk::subscription_options sub_opt;
  if (!a.since.empty()) {
    // A position belongs to one channel's stream (each channel has its own epoch).
    if (a.channels.size() != 1) {
      std::fprintf(stderr, "duplex sub: --since needs exactly one channel\n");
      return 2;
    }
    std::uint64_t offset = 0;
    if (!parse_since(a.since, offset, sub_opt.since_epoch)) {
      std::fprintf(stderr, "duplex sub: --since: expected OFFSET:EPOCH, got \"%s\"\n", a.since.c_str());
      return 2;
    }
    sub_opt.since_offset = offset;
  }

  stop_signals signals;  // before the client: its thread inherits the blocked mask
  std::atomic<bool> done{false};
  int exit_code = 0;          // written on the loop thread before `done`
  std::size_t refused = 0;    // loop thread only
  const std::size_t channels = a.channels.size();

  sdk::client c(cfg);
  c.on_connecting([](const sdk::state_event& e) {
    std::fprintf(stderr, "connecting (%u %s)\n", e.code, e.reason.c_str());
  });
  c.on_connected([](const sdk::connected_event& e) {
    std::fprintf(stderr, "connected client=%s endpoint=%s\n", e.client_id.c_str(), e.endpoint.c_str());
  });
  c.on_disconnected([&](const sdk::state_event& e) {
    std::fprintf(stderr, "disconnected (%u %s)\n", e.code, e.reason.c_str());
    if (terminal(e.code)) {
      exit_code = 1;
      done = true;
    }
  });
  c.on_error([](const sdk::error& e) {
    std::fprintf(stderr, "error %u %s\n", e.code, e.message.c_str());
  });

  std::vector<std::shared_ptr<sdk::subscription>> subs;
  for (const auto& ch : a.channels) {
    auto s = c.new_subscription(ch, sub_opt);
    s->on_publication([](const sdk::publication& p) {
      std::string line = "{\"channel\":" + quoted(p.channel) + ",\"offset\":" +
                         std::to_string(p.offset) + ",\"data\":" + one_line_json(p.data) + "}\n";
      std::fwrite(line.data(), 1, line.size(), stdout);
      std::fflush(stdout);
    });
    s->on_subscribing([ch](const sdk::state_event& e) {
      std::fprintf(stderr, "subscribing %s (%u %s)\n", ch.c_str(), e.code, e.reason.c_str());
    });
    s->on_subscribed([](const sdk::subscribed_event& e) {
      std::fprintf(stderr, "subscribed %s recovered=%s offset=%llu epoch=%s\n", e.channel.c_str(),
                   e.recovered ? "true" : "false", static_cast<unsigned long long>(e.offset),
                   e.epoch.c_str());
      if (sdk::has_gap(e))
        std::fprintf(stderr, "gap %s: publications were missed; now at offset=%llu epoch=%s\n",
                     e.channel.c_str(), static_cast<unsigned long long>(e.offset), e.epoch.c_str());
    });
    s->on_unsubscribed([&, ch](const sdk::unsubscribed_event& e) {
      std::fprintf(stderr, "unsubscribed %s (%u %s)\n", ch.c_str(), e.code, e.reason.c_str());
      // Refused or removed by the server for good: once no channel is left, stop.
      if (e.code != 0 && ++refused == channels) {
        exit_code = 1;
        done = true;
      }
    });
    s->on_error([ch](const sdk::error& e) {
      std::fprintf(stderr, "error %s %u %s\n", ch.c_str(), e.code, e.message.c_str());
    });
    s->subscribe();
    subs.push_back(std::move(s));
  }
  c.connect();
  const int sig = signals.wait(done);
  c.close();  // joins the loop thread: no callback runs after this
  if (sig > 0) std::fprintf(stderr, "stopped\n");
  return sig > 0 ? 0 : exit_code;
}

}  // namespace

command add_sub_command(CLI::App& parent) {
  auto args = std::make_shared<sub_args>();
  auto* cmd = parent.add_subcommand("sub", "print channels' publications as JSON lines, reconnecting");
  cmd->footer(
      "Subscribes over the Centrifugo client protocol and prints each publication on stdout as\n"
      "{\"channel\":..,\"offset\":..,\"data\":..}; status lines (connecting, connected, subscribed\n"
      "recovered=.., gap, disconnected) go to stderr. Reconnects with backoff and recovers missed\n"
      "publications by itself. Runs until SIGINT/SIGTERM (exit 0); exit 1 when the server disconnects\n"
      "it for good or refuses every channel.");
  cmd->add_option("url", args->url, "ws:// URL of /connection/websocket")->required();
  cmd->add_option("channels", args->channels, "channels to subscribe to")->required();
  cmd->add_option("--token", args->token, "connection token (JWT), if the server needs one");
  cmd->add_option("--since", args->since, "start after this stream position: OFFSET:EPOCH (one channel)");
  cmd->add_option("--min-reconnect-delay", args->min_delay, "backoff lower bound (default 200ms)");
  cmd->add_option("--max-reconnect-delay", args->max_delay, "backoff upper bound (default 5s)");
  return {cmd, [args] { return run_sub(*args); }};
}

}  // namespace duplex::cli
