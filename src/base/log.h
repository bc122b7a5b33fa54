// Logging setup. Code everywhere logs through spdlog directly (spdlog::info(...), etc.); this
// header only configures the default logger once at start-up (apps, tests).
//
// Thread safety: init() is meant to be called once, before loop threads start. spdlog's default
// logger created here is the thread-safe (_mt) variant, so logging itself is safe from any thread.
#pragma once

#include <optional>
#include <string_view>

namespace duplex::log {

enum class level { trace, debug, info, warn, error, critical, off };

// Installs a colored stderr logger as spdlog's default, with a pattern that shows the thread id
// (one loop per thread makes that the useful context) and sets its level.
// text: "2026-11-25T15:00:00.123 I [thread] message"; json: one JSON object per line
// {"time","level","thread","msg"} for log collectors.
enum class format { text, json };
void init(level lvl, format fmt = format::text);

// Parses "trace", "debug", "info", "warn" (or "warning"), "error", "critical", "off";
// case-sensitive; nullopt for anything else (the caller reports the bad config value).
std::optional<level> parse_level(std::string_view text) noexcept;

}  // namespace duplex::log
