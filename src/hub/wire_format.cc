#include "hub/wire_format.h"

#include <utility>

#include "base/assert.h"

namespace duplex::hub {

wire_format format_registry::add(std::string name, encoder fn) {
  DUPLEX_ASSERT(count_ < max_wire_formats);
  DUPLEX_ASSERT(fn != nullptr);
  encoders_[count_] = std::move(fn);
  names_[count_] = std::move(name);
  return static_cast<wire_format>(count_++);
}

const encoder& format_registry::encoder_of(wire_format f) const noexcept {
  const auto i = static_cast<std::size_t>(f);
  DUPLEX_ASSERT(i < count_);
  return encoders_[i];
}

std::string_view format_registry::name_of(wire_format f) const noexcept {
  const auto i = static_cast<std::size_t>(f);
  return i < count_ ? std::string_view(names_[i]) : std::string_view("?");
}

}  // namespace duplex::hub
