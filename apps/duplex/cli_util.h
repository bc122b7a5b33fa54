// Small helpers shared by the client subcommands (cmd_*.cc): argument parsing and waiting for
// SIGINT/SIGTERM on the main thread while a client's own thread does the work.
#pragma once

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace duplex::cli {

// "K:V" (or "K: V") split at the first colon; false when there is no colon, no name, or a
// character that cannot go into a header line.
bool parse_header_arg(const std::string& arg, std::string& name, std::string& value);

// The JSON to publish for a command-line DATA argument: the text itself when it is one valid
// JSON value, else the text as a JSON string ("hello" -> "\"hello\"").
std::string json_or_string(std::string_view text);

// One JSON value on one line: raw as is when it has no line break, else re-serialized compactly
// (keeps JSON-lines output one record per line). Invalid JSON is printed as a JSON string.
std::string one_line_json(std::string_view raw);

// "OFFSET:EPOCH" (--since); false when OFFSET is not a number or EPOCH is missing.
bool parse_since(std::string_view text, std::uint64_t& offset, std::string& epoch);

// Blocks SIGINT and SIGTERM in the calling thread and in every thread it starts afterwards, so
// that they are only taken by wait(). Create it on the main thread before starting a client.
// The previous mask is restored by the destructor.
class stop_signals {
 public:
  stop_signals();
  ~stop_signals();
  stop_signals(const stop_signals&) = delete;
  stop_signals& operator=(const stop_signals&) = delete;

  // Returns the signal number when SIGINT/SIGTERM arrives, 0 when `done` becomes true, or -1
  // when `deadline` passes first. `done` is checked every 50 ms.
  int wait(const std::atomic<bool>& done,
           std::optional<std::chrono::steady_clock::time_point> deadline = std::nullopt);

 private:
  sigset_t set_{};
  sigset_t old_{};
};

}  // namespace duplex::cli
