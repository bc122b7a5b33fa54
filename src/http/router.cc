#include "http/router.h"

#include <algorithm>

#include "base/assert.h"
#include "http/method.h"

namespace duplex::http {

void router::set(entry& e, method m, handler_id id) {
  DUPLEX_ASSERT(m != method::other);
  e.handlers[static_cast<std::size_t>(m)] = id;
  e.allow.clear();
  for (std::size_t i = 0; i < n_methods; ++i) {
    const auto mi = static_cast<method>(i);
    const bool has = e.handlers[i].has_value() ||
                     (mi == method::head && e.handlers[static_cast<std::size_t>(method::get)]);
    if (!has) continue;
    if (!e.allow.empty()) e.allow.append(", ");
    e.allow.append(to_string(mi));
  }
}

void router::add(method m, std::string_view path, handler_id id) {
  auto it = exact_.find(path);
  if (it == exact_.end()) it = exact_.emplace(std::string(path), entry{std::string(path), {}, {}}).first;
  set(it->second, m, id);
}

void router::add_prefix(method m, std::string_view prefix, handler_id id) {
  auto it = std::find_if(prefixes_.begin(), prefixes_.end(),
                         [&](const entry& e) { return e.path == prefix; });
  if (it == prefixes_.end()) {
    prefixes_.push_back(entry{std::string(prefix), {}, {}});
    // Stable, so that equal lengths keep insertion order; longest prefix first.
    std::stable_sort(prefixes_.begin(), prefixes_.end(), [](const entry& a, const entry& b) {
      return a.path.size() > b.path.size();
    });
    it = std::find_if(prefixes_.begin(), prefixes_.end(),
                      [&](const entry& e) { return e.path == prefix; });
  }
  set(*it, m, id);
}

router::match router::resolve(const entry& e, method m, std::string_view rest) noexcept {
  match r;
  r.rest = rest;
  std::optional<handler_id> h;
  if (m != method::other) {
    h = e.handlers[static_cast<std::size_t>(m)];
    if (!h && m == method::head) h = e.handlers[static_cast<std::size_t>(method::get)];
  }
  if (h) {
    r.err = no_error;
    r.id = *h;
  } else {
    r.err = error::method_not_allowed;
    r.allow = e.allow;
  }
  return r;
}

router::match router::find(method m, std::string_view path) const noexcept {
  if (auto it = exact_.find(path); it != exact_.end()) return resolve(it->second, m, {});
  for (const entry& e : prefixes_) {
    if (path.starts_with(e.path)) return resolve(e, m, path.substr(e.path.size()));
  }
  return match{};
}

}  // namespace duplex::http
