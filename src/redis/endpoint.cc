#include "redis/endpoint.h"

#include <charconv>

namespace duplex::redis {
namespace {

std::optional<endpoint> fail(std::string* why, std::string_view reason) {
  if (why) *why = "redis url: " + std::string(reason);
  return std::nullopt;
}

bool parse_uint(std::string_view s, unsigned long max, unsigned long& out) {
  if (s.empty() || s.size() > 5) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size() && out <= max;
}

}  // namespace

std::optional<endpoint> parse_url(std::string_view url, std::string* why) {
  constexpr std::string_view scheme = "redis://";
  if (url.starts_with("rediss://")) {
    return fail(why, "rediss:// (TLS) is not supported by this build's hiredis");
  }
  if (!url.starts_with(scheme)) return fail(why, "expected redis://host:port");
  std::string_view rest = url.substr(scheme.size());

  endpoint ep;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    const std::string_view db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      unsigned long n = 0;
      if (!parse_uint(db, 15, n)) return fail(why, "database must be 0-15");
      ep.db = static_cast<int>(n);
    }
  }
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const auto colon = cred.find(':');
    if (colon == std::string_view::npos) {
      ep.password = std::string(cred);  // "redis://secret@host": a bare password
    } else {
      ep.user = std::string(cred.substr(0, colon));
      ep.password = std::string(cred.substr(colon + 1));
    }
  }
  std::string_view host = rest;
  std::string_view port;
  if (rest.starts_with('[')) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return fail(why, "unclosed '[' in IPv6 address");
    host = rest.substr(1, close - 1);
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return fail(why, "expected ':' after ']'");
      port = after.substr(1);
      if (port.empty()) return fail(why, "empty port");
    }
  } else if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (port.empty()) return fail(why, "empty port");
  }
  if (host.empty()) return fail(why, "missing host");
  for (char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_' || c == ':';
    if (!ok) return fail(why, "bad character in host");
  }
  ep.host = std::string(host);
  if (!port.empty()) {
    unsigned long n = 0;
    if (!parse_uint(port, 65535, n) || n == 0) return fail(why, "port must be 1-65535");
    ep.port = static_cast<std::uint16_t>(n);
  }
  return ep;
}

}  // namespace duplex::redis
