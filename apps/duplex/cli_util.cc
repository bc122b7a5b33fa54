// Helpers of the client subcommands (cli_util.h).
#include "cli_util.h"

#include <pthread.h>

#include <cerrno>
#include <charconv>
#include <ctime>

#include <nlohmann/json.hpp>

namespace duplex::cli {

bool parse_header_arg(const std::string& arg, std::string& name, std::string& value) {
  const auto colon = arg.find(':');
  if (colon == std::string::npos || colon == 0) return false;
  name = arg.substr(0, colon);
  const auto start = arg.find_first_not_of(" \t", colon + 1);
  value = start == std::string::npos ? std::string() : arg.substr(start);
  // RFC 9110 §5.1: a field name is a token (no whitespace); no CR/LF anywhere (no injection).
  return name.find_first_of(" \t\r\n") == std::string::npos &&
         value.find_first_of("\r\n") == std::string::npos;
}

std::string json_or_string(std::string_view text) {
  if (nlohmann::json::accept(text)) return std::string(text);
  return nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string one_line_json(std::string_view raw) {
  if (raw.empty()) return "null";
  if (raw.find_first_of("\r\n") == std::string_view::npos) return std::string(raw);
  auto j = nlohmann::json::parse(raw, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) j = std::string(raw);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool parse_since(std::string_view text, std::uint64_t& offset, std::string& epoch) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) return false;
  const char* first = text.data();
  const char* last = text.data() + colon;
  auto [end, ec] = std::from_chars(first, last, offset);
  if (ec != std::errc() || end != last) return false;
  epoch = std::string(text.substr(colon + 1));
  return true;
}

stop_signals::stop_signals() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_, &old_);
}

stop_signals::~stop_signals() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

int stop_signals::wait(const std::atomic<bool>& done,
                       std::optional<std::chrono::steady_clock::time_point> deadline) {
  const timespec step{0, 50'000'000};
  for (;;) {
    if (done.load()) return 0;
    if (deadline && std::chrono::steady_clock::now() >= *deadline) return -1;
    const int sig = sigtimedwait(&set_, nullptr, &step);
    if (sig > 0) return sig;  // -1 with EAGAIN (timeout) or EINTR: check again
  }
}

}  // namespace duplex::cli
