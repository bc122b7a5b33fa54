// delivery: one push (publication, join or leave) on its way to every local subscriber of a
// channel, on every shard, with a per-format cache of the encoded frame.
//
// frame(f) encodes the push for format f the first time any thread asks and returns the same
// shared_payload to everyone after that: one encode per format per push across all shards and
// subscribers, however many of them there are. The cache slot is a std::once_flag, so a
// second shard asking while the first is encoding waits for that result instead of encoding
// again.
//
// Cost: one allocation per push (the delivery itself, made by the hub and shared by
// std::shared_ptr among the shards); per subscriber, frame() is one call_once fast path (an
// acquire load), plus one atomic increment only when the session keeps the payload by
// reference (frames of 512 bytes and more; smaller ones are copied into the output).
//
// Thread safety: every member is safe to call concurrently. Lifetime: sessions get a
// `const delivery&` that is valid only during subscriber::deliver(); keep the frame
// (a shared_payload), not the delivery.
#pragma once

#include <array>
#include <memory>
#include <mutex>

#include "base/shared_payload.h"
#include "hub/publication.h"
#include "hub/wire_format.h"

namespace duplex::hub {

class delivery {
 public:
  // `formats` must outlive the delivery (it is the hub's registry).
  delivery(push_kind kind, publication pub, const format_registry& formats);

  delivery(const delivery&) = delete;
  delivery& operator=(const delivery&) = delete;

  push_kind kind() const noexcept { return kind_; }
  const publication& pub() const noexcept { return pub_; }

  // The push encoded for `f`, encoded at most once per delivery. The reference is valid as
  // long as the delivery: copy it to keep the frame (an atomic increment; a fan-out to 10,000
  // subscribers does without one per subscriber).
  const shared_payload& frame(wire_format f) const;

 private:
  push_kind kind_;
  publication pub_;
  const format_registry* formats_;
  mutable std::array<std::once_flag, max_wire_formats> once_;
  mutable std::array<shared_payload, max_wire_formats> frames_;
};

using delivery_ptr = std::shared_ptr<const delivery>;

}  // namespace duplex::hub
