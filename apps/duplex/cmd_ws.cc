// `duplex ws URL`: an interactive WebSocket client like wscat, over duplex::client.
//
// stdin lines -> text messages; received messages -> stdout as "< TEXT" (binary: "< <binary N
// bytes> HEX"); the close -> "closed CODE REASON" on stdout; status and errors -> stderr.
// Threads: the client's loop runs on the main thread; a stdin_lines thread reads the terminal
// and posts each line to the connection's loop (websocket::post), under a mutex that on_close
// takes too, so that it never touches a connection that is gone.
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/utf8.h"
#include "cli_util.h"
#include "commands.h"
#include "duplex/client.h"
#include "stdin_lines.h"

namespace duplex::cli {

namespace {

struct ws_args {
  std::string url;
  std::vector<std::string> headers;
  std::vector<std::string> subprotocols;
  std::string origin;
  std::string ca_file;
  bool insecure = false;
  bool no_stdin = false;
  double connect_timeout_s = 10;
};

// Shared by the loop thread and the stdin thread.
struct ws_session {
  std::mutex mu;
  websocket* ws = nullptr;  // written on the loop thread under mu; read by the stdin thread under mu
  bool we_closed = false;   // loop thread only: the close was ours (EOF, signal)
};

// Hex of up to 64 bytes, then "..." (the length is printed before it).
std::string hex_preview(std::string_view data) {
  static constexpr char digits[] = "0123456789abcdef";
  constexpr std::size_t max_bytes = 64;
  std::string out;
  for (std::size_t i = 0; i < data.size() && i < max_bytes; ++i) {
    const auto b = static_cast<unsigned char>(data[i]);
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  if (data.size() > max_bytes) out += "...";
  return out;
}

// What the close line says when the peer gave no reason.
std::string_view close_code_name(std::uint16_t code) {
  switch (code) {
    case 1000: return "normal";
    case 1001: return "going away";
    case 1002: return "protocol error";
    case 1003: return "unsupported data";
    case 1005: return "no status code";
    case 1006: return "connection dropped without a close frame";
    case 1007: return "invalid payload";
    case 1008: return "policy violation";
    case 1009: return "message too big";
    case 1010: return "missing extension";
    case 1011: return "internal error";
    case 1012: return "service restart";
    case 1013: return "try again later";
    default: return "";
  }
}

void print_line(std::string_view prefix, std::string_view text) {
  std::fwrite(prefix.data(), 1, prefix.size(), stdout);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

int run_ws(const ws_args& a) {
  client_options opt;
  for (const auto& h : a.headers) {
    std::string name, value;
    if (!parse_header_arg(h, name, value)) {
      std::fprintf(stderr, "duplex ws: --header: expected NAME:VALUE, got \"%s\"\n", h.c_str());
      return 2;
    }
    opt.headers.emplace_back(std::move(name), std::move(value));
  }
  opt.origin = a.origin;
  opt.ws.subprotocols = a.subprotocols;
  opt.ws.max_message_size = 16u << 20;
  opt.ca_file = a.ca_file;
  opt.verify_peer = !a.insecure;
  if (a.connect_timeout_s <= 0) {
    std::fprintf(stderr, "duplex ws: --connect-timeout must be positive\n");
    return 2;
  }
  opt.connect_timeout = std::chrono::milliseconds(static_cast<long long>(a.connect_timeout_s * 1000));

  // Declared before the client: tasks still queued in the client's loop point at it.
  ws_session session;
  stdin_lines input;
  if (!input.ok()) {
    std::fprintf(stderr, "duplex ws: cannot create a pipe for the stdin reader\n");
    return 1;
  }
  int exit_code = 0;
  std::string failure;

  // Runs on the stdin thread.
  auto on_line = [&session](std::string line) {
    if (!is_valid_utf8(line)) {
      std::fprintf(stderr, "duplex ws: input line is not valid UTF-8; not sent\n");
      return;
    }
    std::lock_guard lock(session.mu);
    if (!session.ws) return;
    session.ws->post([&session, line = std::move(line)] {
      if (!session.ws) return;  // closed meanwhile (loop thread: no lock needed to read)
      if (session.ws->send(line) != send_status::queued)
        std::fprintf(stderr, "duplex ws: message not sent (connection closing)\n");
    });
  };
  auto on_end = [&session](bool interrupted) {
    std::lock_guard lock(session.mu);
    if (!session.ws) return;
    session.ws->post([&session, interrupted] {
      if (!session.ws) return;
      session.we_closed = true;
      session.ws->close(1000, interrupted ? "interrupted" : "");
    });
  };

  client c;
  c.connect(
      a.url, std::move(opt),
      {.on_open =
           [&](websocket& ws) {
             {
               std::lock_guard lock(session.mu);
               session.ws = &ws;
             }
             std::string note = "connected to " + a.url;
             if (!ws.subprotocol().empty()) note += " (subprotocol " + std::string(ws.subprotocol()) + ")";
             std::fprintf(stderr, "%s\n", note.c_str());
             // From here Ctrl-C / SIGTERM close the connection with 1000 instead of killing the
             // process (while connecting there is nothing to close: they keep their default).
             input.install_signal_wakeup();
             input.start(on_line, on_end, !a.no_stdin);
           },
       .on_message =
           [](websocket&, std::string_view data, message_type type) {
             if (type == message_type::text) return print_line("< ", data);
             print_line("< <binary " + std::to_string(data.size()) + " bytes> ", hex_preview(data));
           },
       .on_close =
           [&](websocket&, std::uint16_t code, std::string_view reason) {
             {
               std::lock_guard lock(session.mu);
               session.ws = nullptr;
             }
             print_line("closed ", std::to_string(code) + " " +
                                       std::string(reason.empty() ? close_code_name(code) : reason));
             // A close we started ends the session as asked, whatever code the peer answered.
             exit_code = code == 1000 || session.we_closed ? 0 : 3;
           }},
      [&](std::error_code ec, std::string_view detail) {
        failure = ec.message();
        if (!detail.empty()) failure += " (" + std::string(detail) + ")";
      });
  c.run();
  input.stop();
  if (!failure.empty()) {
    std::fprintf(stderr, "duplex ws: cannot connect to %s: %s\n", a.url.c_str(), failure.c_str());
    return 1;
  }
  return exit_code;
}

}  // namespace

command add_ws_command(CLI::App& parent) {
  auto args = std::make_shared<ws_args>();
  auto* cmd = parent.add_subcommand("ws", "interactive WebSocket client, like wscat");
  cmd->footer(
      "Sends each stdin line as a text message and prints received messages as \"< TEXT\" (binary:\n"
      "\"< <binary N bytes> HEX\") and the close as \"closed CODE REASON\" on stdout; status on stderr.\n"
      "stdin EOF or Ctrl-C closes with 1000. Exit status: 0 after a 1000 close or one we started,\n"
      "1 when the connection fails, 2 on bad arguments, 3 when the peer closed with another code.");
  cmd->add_option("url", args->url, "ws:// or wss:// URL")->required();
  cmd->add_option("-H,--header", args->headers, "extra upgrade request header NAME:VALUE (repeatable)");
  cmd->add_option("-s,--subprotocol", args->subprotocols, "subprotocol to offer (repeatable)");
  cmd->add_option("-o,--origin", args->origin, "Origin header");
  cmd->add_option("--ca", args->ca_file, "CA bundle to verify a wss:// server");
  cmd->add_flag("-k,--insecure", args->insecure, "wss://: do not verify the server certificate");
  cmd->add_flag("-n,--no-stdin", args->no_stdin,
                "only print what arrives; do not read stdin (Ctrl-C closes)");
  cmd->add_option("--connect-timeout", args->connect_timeout_s, "seconds to connect (default 10)");
  return {cmd, [args] { return run_ws(*args); }};
}

}  // namespace duplex::cli
