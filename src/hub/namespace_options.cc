#include "hub/namespace_options.h"

#include <utility>

namespace duplex::hub {

void namespace_table::add(std::string name, const namespace_options& o) {
  named_.insert_or_assign(std::move(name), o);
}

const namespace_options* namespace_table::find_namespace(std::string_view ns) const noexcept {
  if (ns.empty()) return &default_;
  auto it = named_.find(ns);
  return it == named_.end() ? nullptr : &it->second;
}

const namespace_options* namespace_table::find(const channel_name& name) const noexcept {
  return find_namespace(name.ns);
}

error resolve_channel(const namespace_table& table, std::string_view channel,
                      const namespace_options** out, channel_error* why) noexcept {
  const channel_parse_result parsed = parse_channel(channel, table.max_channel_length);
  if (why) *why = parsed.err;
  if (parsed.err != channel_error::ok) return error::bad_channel;
  const namespace_options* o = table.find(parsed.name);
  if (!o) return error::unknown_namespace;
  *out = o;
  return error::ok;
}

}  // namespace duplex::hub
