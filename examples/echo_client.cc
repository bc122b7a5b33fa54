// echo_client: sends messages to a WebSocket echo server and checks every echo; or, with
// --autobahn, plays the client side of the Autobahn|Testsuite (echo until the server closes).
//   echo_client URL [--count N] [--size BYTES] [--binary] [--deflate] [--ca FILE] [--timeout-ms N]
//   echo_client --autobahn URL [--agent NAME]
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "duplex/client.h"

namespace {

std::string json_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out;
}

// Deterministic content that differs per message; printable ASCII, so valid UTF-8.
std::string make_message(std::size_t index, std::size_t size) {
  std::string m(size, ' ');
  std::uint32_t x = static_cast<std::uint32_t>(index) * 2654435761u + 1;
  for (auto& c : m) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    c = static_cast<char>('!' + x % 94);
  }
  return m;
}

int run_autobahn(const std::string& base, const std::string& agent, duplex::client_options opt) {
  opt.ws.permessage_deflate = true;
  opt.deflate_no_context_takeover = true;  // lets the suite's 13.x servers pick either mode
  opt.ws.max_message_size = 64u << 20;
  opt.ws.max_fragments = 1u << 20;
  opt.ws.ping_interval = {};
  opt.ws.idle_timeout = {};
  auto echo = duplex::websocket_handlers{
      .on_message = [](duplex::websocket& ws, std::string_view m, duplex::message_type t) {
        ws.send(m, t);
      }};
  auto report = [](std::error_code ec, std::string_view why) {
    std::fprintf(stderr, "echo_client: %s (%s)\n", ec.message().c_str(), std::string(why).c_str());
  };

  int count = -1;
  {
    duplex::client c;
    c.connect(base + "/getCaseCount", opt,
              {.on_message = [&](duplex::websocket&, std::string_view m, duplex::message_type) {
                count = std::atoi(std::string(m).c_str());
              }},
              report);
    c.run();
  }
  if (count < 0) return 1;
  std::printf("running %d cases\n", count);
  for (int i = 1; i <= count; ++i) {
    duplex::client c;
    c.connect(base + "/runCase?case=" + std::to_string(i) + "&agent=" + agent, opt, echo, report);
    c.run();
  }
  duplex::client c;
  c.connect(base + "/updateReports?agent=" + agent, opt, {}, report);
  c.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url, agent = "duplex", autobahn_url, ca;
  std::size_t count = 10, size = 32;
  bool binary = false, deflate = false;
  long timeout_ms = 10000;

  CLI::App app{"duplex WebSocket echo client"};
  app.add_option("url", url, "ws:// or wss:// URL of an echo server");
  app.add_option("--autobahn", autobahn_url, "run the Autobahn|Testsuite cases at this URL");
  app.add_option("--agent", agent, "agent name reported to Autobahn");
  app.add_option("--count", count, "messages to send");
  app.add_option("--size", size, "bytes per message");
  app.add_flag("--binary", binary, "send binary messages");
  app.add_flag("--deflate", deflate, "offer permessage-deflate");
  app.add_option("--ca", ca, "CA file to verify a wss:// server");
  app.add_option("--timeout-ms", timeout_ms, "give up after this long");
  CLI11_PARSE(app, argc, argv);

  duplex::client_options opt;
  opt.ca_file = ca;
  opt.verify_peer = !ca.empty();
  if (!autobahn_url.empty()) return run_autobahn(autobahn_url, agent, opt);
  if (url.empty()) {
    std::fprintf(stderr, "echo_client: a URL is required\n");
    return 2;
  }
  opt.ws.permessage_deflate = deflate;
  opt.ws.max_message_size = std::max<std::size_t>(size * 2, 1u << 20);
  opt.connect_timeout = std::chrono::milliseconds(timeout_ms);

  const auto type = binary ? duplex::message_type::binary : duplex::message_type::text;
  std::size_t sent = 0, received = 0;
  bool ok = true;
  std::string error, extensions;
  duplex::client c;
  c.connect(
      url, opt,
      {.on_open =
           [&](duplex::websocket& ws) {
             extensions = ws.extensions();
             if (count == 0) return ws.close();
             ws.send(make_message(sent++, size), type);
           },
       .on_message =
           [&](duplex::websocket& ws, std::string_view m, duplex::message_type t) {
             if (t != type || m != make_message(received, size)) {
               ok = false;
               error = "echo " + std::to_string(received) + " differs";
               return ws.close(1000);
             }
             if (++received == count) return ws.close(1000);
             ws.send(make_message(sent++, size), type);
           },
       .on_close =
           [&](duplex::websocket&, std::uint16_t code, std::string_view reason) {
             if (code != 1000 && error.empty())
               error = "closed with " + std::to_string(code) + " " + std::string(reason);
           }},
      [&](std::error_code ec, std::string_view detail) {
        ok = false;
        error = ec.message() + ": " + std::string(detail);
      });
  c.run();
  ok = ok && received == count && error.empty();
  auto s = c.stats();
  std::printf(
      "{\"ok\":%s,\"sent\":%zu,\"received\":%zu,\"extensions\":\"%s\",\"compressed_frames_in\":%llu,"
      "\"compressed_frames_out\":%llu,\"error\":\"%s\"}\n",
      ok ? "true" : "false", sent, received, json_escape(extensions).c_str(),
      static_cast<unsigned long long>(s.compressed_frames_in),
      static_cast<unsigned long long>(s.compressed_frames_out), json_escape(error).c_str());
  return ok ? 0 : 1;
}
