#include "hub/delivery.h"

#include <utility>

#include "base/assert.h"

namespace duplex::hub {

delivery::delivery(push_kind kind, publication pub, const format_registry& formats)
    : kind_(kind), pub_(std::move(pub)), formats_(&formats) {}

const shared_payload& delivery::frame(wire_format f) const {
  const auto i = static_cast<std::size_t>(f);
  DUPLEX_ASSERT(i < formats_->size());
  // call_once publishes frames_[i] to every later caller (it synchronizes-with them).
  std::call_once(once_[i], [&] { frames_[i] = formats_->encoder_of(f)(kind_, pub_); });
  return frames_[i];
}

}  // namespace duplex::hub
