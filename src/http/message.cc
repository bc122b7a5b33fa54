#include "http/message.h"

#include "http/chars.h"

namespace duplex::http {

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (chars::lower(a[i]) != chars::lower(b[i])) return false;
  }
  return true;
}

bool has_token(std::string_view value, std::string_view token) noexcept {
  // #rule lists (RFC 9110 §5.6.1): elements separated by commas with optional whitespace;
  // empty elements are allowed and ignored. A parameter (";...") is not part of the token.
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    const std::size_t semi = item.find(';');
    if (semi != std::string_view::npos) item = item.substr(0, semi);
    while (!item.empty() && chars::is_ows(item.front())) item.remove_prefix(1);
    while (!item.empty() && chars::is_ows(item.back())) item.remove_suffix(1);
    if (iequals(item, token)) return true;
  }
  return false;
}

std::optional<std::string_view> headers::find(std::string_view name) const noexcept {
  for (const header& h : list) {
    if (iequals(h.name, name)) return h.value;
  }
  return std::nullopt;
}

std::size_t headers::count(std::string_view name) const noexcept {
  std::size_t n = 0;
  for (const header& h : list) {
    if (iequals(h.name, name)) ++n;
  }
  return n;
}

bool headers::has_token(std::string_view name, std::string_view token) const noexcept {
  for (const header& h : list) {
    if (iequals(h.name, name) && http::has_token(h.value, token)) return true;
  }
  return false;
}

std::string_view request_head::path() const noexcept {
  return target.substr(0, target.find('?'));
}

std::string_view request_head::query() const noexcept {
  const std::size_t q = target.find('?');
  return q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
}

}  // namespace duplex::http
