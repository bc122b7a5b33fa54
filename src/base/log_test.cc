#include "base/log.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

namespace duplex::log {
namespace {

TEST(Log, ParseLevel) {
  EXPECT_EQ(parse_level("trace"), level::trace);
  EXPECT_EQ(parse_level("debug"), level::debug);
  EXPECT_EQ(parse_level("info"), level::info);
  EXPECT_EQ(parse_level("warn"), level::warn);
  EXPECT_EQ(parse_level("warning"), level::warn);
  EXPECT_EQ(parse_level("error"), level::error);
  EXPECT_EQ(parse_level("critical"), level::critical);
  EXPECT_EQ(parse_level("off"), level::off);
  EXPECT_FALSE(parse_level("INFO").has_value());
  EXPECT_FALSE(parse_level("").has_value());
}

TEST(Log, InitSetsDefaultLoggerAndMayRepeat) {
  init(level::warn);
  EXPECT_EQ(spdlog::default_logger()->name(), "duplex");
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::warn);
  init(level::error);  // a second init reuses the logger instead of throwing
  EXPECT_EQ(spdlog::default_logger()->level(), spdlog::level::err);
  init(level::info);
}

TEST(Log, JsonFormatEscapesTheMessage) {
  init(level::info, format::json);
  testing::internal::CaptureStderr();
  spdlog::info("say \"hi\"\\ {}", std::string("line\nnext\x01"));
  spdlog::default_logger()->flush();
  const std::string out = testing::internal::GetCapturedStderr();
  init(level::info);
  EXPECT_EQ(out.rfind("{\"time\":\"", 0), 0u) << out;
  EXPECT_NE(out.find(R"("level":"info")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("msg":"say \"hi\"\\ line\nnext\u0001"})"), std::string::npos) << out;
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(out.find('\n'), out.size() - 1) << "one line per message";
}

}  // namespace
}  // namespace duplex::log
