#include "base/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>

namespace duplex::log {
namespace {
spdlog::level::level_enum to_spdlog(level lvl) noexcept {
  switch (lvl) {
    case level::trace: return spdlog::level::trace;
    case level::debug: return spdlog::level::debug;
    case level::info: return spdlog::level::info;
    case level::warn: return spdlog::level::warn;
    case level::error: return spdlog::level::err;
    case level::critical: return spdlog::level::critical;
    case level::off: return spdlog::level::off;
  }
  return spdlog::level::info;
}
// %* in a pattern: the message as the inside of a JSON string (quotes, backslashes and
// control characters escaped), so that one log line is one valid JSON object.
class json_message_flag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static constexpr char hex[] = "0123456789abcdef";
    for (char c : std::string_view(msg.payload.data(), msg.payload.size())) {
      switch (c) {
        case '"': dest.append(std::string_view("\\\"")); break;
        case '\\': dest.append(std::string_view("\\\\")); break;
        case '\n': dest.append(std::string_view("\\n")); break;
        case '\t': dest.append(std::string_view("\\t")); break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            const char esc[] = {'\\', 'u', '0', '0', hex[(c >> 4) & 0xf], hex[c & 0xf]};
            dest.append(esc, esc + sizeof esc);
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<json_message_flag>();
  }
};

}  // namespace

void init(level lvl, format fmt) {
  // A second init() (tests calling it per fixture) reuses the logger: spdlog throws on a
  // duplicate registration.
  auto logger = spdlog::get("duplex");
  if (!logger) logger = spdlog::stderr_color_mt("duplex");
  if (fmt == format::json) {
    auto f = std::make_unique<spdlog::pattern_formatter>();
    f->add_flag<json_message_flag>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","thread":%t,"msg":"%*"})");
    logger->set_formatter(std::move(f));
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%L%$ [%t] %v");
  }
  logger->set_level(to_spdlog(lvl));
  spdlog::set_default_logger(std::move(logger));
}

std::optional<level> parse_level(std::string_view t) noexcept {
  if (t == "trace") return level::trace;
  if (t == "debug") return level::debug;
  if (t == "info") return level::info;
  if (t == "warn" || t == "warning") return level::warn;
  if (t == "error") return level::error;
  if (t == "critical") return level::critical;
  if (t == "off") return level::off;
  return std::nullopt;
}

}  // namespace duplex::log
