#include "base/log.h"

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
}  // namespace

void init(level lvl) {
  // A second init() (tests calling it per fixture) reuses the logger: spdlog throws on a
  // duplicate registration.
  auto logger = spdlog::get("duplex");
  if (!logger) logger = spdlog::stderr_color_mt("duplex");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%L%$ [%t] %v");
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
