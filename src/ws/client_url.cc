#include "ws/client_url.h"

#include <charconv>

namespace duplex::ws {

namespace {
bool iprefix(std::string_view s, std::string_view p) {
  if (s.size() < p.size()) return false;
  for (std::size_t i = 0; i < p.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != p[i]) return false;
  }
  return true;
}
}  // namespace

std::string client_url::host_header() const {
  // Built with append(): g++ 12 at -O3 reports a false -Wrestrict on `"[" + host + "]"`.
  std::string h;
  const bool v6 = host.find(':') != std::string::npos;
  h.reserve(host.size() + 8);
  if (v6) h.push_back('[');
  h.append(host);
  if (v6) h.push_back(']');
  if (port != (secure ? 443 : 80)) {
    h.push_back(':');
    h.append(std::to_string(port));
  }
  return h;
}

std::optional<client_url> parse_client_url(std::string_view url) {
  client_url u;
  if (iprefix(url, "wss://")) {
    u.secure = true;
    url.remove_prefix(6);
  } else if (iprefix(url, "ws://")) {
    url.remove_prefix(5);
  } else {
    return std::nullopt;
  }
  if (url.find('#') != std::string_view::npos) return std::nullopt;
  std::size_t slash = url.find_first_of("/?");
  std::string_view authority = url.substr(0, slash);
  // "ws://host?q" has an empty path: the resource is "/?q" (RFC 6455 §3). Built with append():
  // g++ 12 at -O3 reports a false -Wrestrict on std::string::insert here.
  if (slash == std::string_view::npos || url[slash] == '?') u.resource.push_back('/');
  if (slash != std::string_view::npos) u.resource.append(url.substr(slash));
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;

  std::string_view host = authority, port_text;
  if (authority.front() == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string_view::npos || close == 1) return std::nullopt;
    host = authority.substr(1, close - 1);
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port_text = rest.substr(1);
      if (port_text.empty()) return std::nullopt;
    }
  } else {
    std::size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port_text = authority.substr(colon + 1);
      if (port_text.empty() || host.find(':') != std::string_view::npos) return std::nullopt;
    }
  }
  if (host.empty()) return std::nullopt;
  u.host = std::string(host);
  u.port = u.secure ? 443 : 80;
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || value == 0 || value > 65535)
      return std::nullopt;
    u.port = static_cast<std::uint16_t>(value);
  }
  return u;
}

}  // namespace duplex::ws
