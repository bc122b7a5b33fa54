// CORS response fields; see cors.h.
#include "http/cors.h"

#include <algorithm>

#include "http/chars.h"

namespace duplex::http {

bool cors_origin_allowed(const cors_policy& p, std::string_view origin) {
  if (p.allowed_origins.empty()) return true;
  return std::any_of(p.allowed_origins.begin(), p.allowed_origins.end(),
                     [&](const std::string& o) { return o == "*" || o == origin; });
}

void append_cors_headers(const cors_policy& p, std::string_view origin, header_list& out) {
  out.emplace_back("Access-Control-Allow-Origin", std::string(origin));
  out.emplace_back("Vary", "Origin");
  if (p.credentials) out.emplace_back("Access-Control-Allow-Credentials", "true");
}

namespace {

// "content-type, x-custom": header names (tchar) separated by commas and spaces.
bool header_name_list(std::string_view v) {
  if (v.empty() || v.size() > 1024) return false;
  bool any = false;
  for (char c : v) {
    if (c == ',' || c == ' ' || c == '\t') continue;
    if (!chars::is_tchar(c)) return false;
    any = true;
  }
  return any;
}

}  // namespace

void append_preflight_headers(const cors_policy& p, std::string_view origin,
                              std::optional<std::string_view> request_headers, header_list& out) {
  append_cors_headers(p, origin, out);
  out.emplace_back("Access-Control-Allow-Methods", p.methods);
  out.emplace_back("Access-Control-Allow-Headers",
                   request_headers && header_name_list(*request_headers) ? std::string(*request_headers)
                                                                         : std::string("Content-Type"));
  out.emplace_back("Access-Control-Max-Age", std::to_string(p.max_age_seconds));
}

options_answer answer_options(const cors_policy& p, std::optional<std::string_view> origin,
                              std::optional<std::string_view> request_method,
                              std::optional<std::string_view> request_headers) {
  options_answer a;
  if (!origin || !request_method) {
    a.headers.emplace_back("Allow", p.methods);
  } else if (!cors_origin_allowed(p, *origin)) {
    a.status = 403;
    a.body = "origin not allowed\n";
  } else {
    append_preflight_headers(p, *origin, request_headers, a.headers);
  }
  return a;
}

}  // namespace duplex::http
