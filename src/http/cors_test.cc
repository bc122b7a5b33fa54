// CORS fields: which origins pass, what a preflight answers.
#include "http/cors.h"

#include <gtest/gtest.h>

namespace duplex::http {
namespace {

std::optional<std::string> field(const header_list& h, std::string_view name) {
  for (const auto& [n, v] : h) {
    if (n == name) return v;
  }
  return std::nullopt;
}

TEST(Cors, EmptyListOrStarAllowsAnyOrigin) {
  EXPECT_TRUE(cors_origin_allowed({}, "https://a.example"));
  cors_policy star{.allowed_origins = {"*"}};
  EXPECT_TRUE(cors_origin_allowed(star, "https://b.example"));
}

TEST(Cors, ListedOriginsOnly) {
  cors_policy p{.allowed_origins = {"https://a.example", "http://localhost:3000"}};
  EXPECT_TRUE(cors_origin_allowed(p, "https://a.example"));
  EXPECT_TRUE(cors_origin_allowed(p, "http://localhost:3000"));
  EXPECT_FALSE(cors_origin_allowed(p, "https://a.example.evil"));
  EXPECT_FALSE(cors_origin_allowed(p, "null"));
}

TEST(Cors, ResponseFieldsEchoTheOrigin) {
  header_list h;
  append_cors_headers({}, "https://a.example", h);
  EXPECT_EQ(field(h, "Access-Control-Allow-Origin"), "https://a.example");
  EXPECT_EQ(field(h, "Vary"), "Origin");
  EXPECT_FALSE(field(h, "Access-Control-Allow-Credentials"));
  header_list c;
  append_cors_headers({.credentials = true}, "https://a.example", c);
  EXPECT_EQ(field(c, "Access-Control-Allow-Credentials"), "true");
}

TEST(Cors, PreflightEchoesPlainHeaderNamesOnly) {
  cors_policy p{.methods = "POST, OPTIONS", .max_age_seconds = 60};
  header_list h;
  append_preflight_headers(p, "https://a.example", "content-type, x-token", h);
  EXPECT_EQ(field(h, "Access-Control-Allow-Methods"), "POST, OPTIONS");
  EXPECT_EQ(field(h, "Access-Control-Allow-Headers"), "content-type, x-token");
  EXPECT_EQ(field(h, "Access-Control-Max-Age"), "60");
  header_list bad;
  append_preflight_headers(p, "https://a.example", "content-type\r\nx-evil: 1", bad);
  EXPECT_EQ(field(bad, "Access-Control-Allow-Headers"), "Content-Type");
  header_list none;
  append_preflight_headers(p, "https://a.example", std::nullopt, none);
  EXPECT_EQ(field(none, "Access-Control-Allow-Headers"), "Content-Type");
}

}  // namespace
}  // namespace duplex::http
