// Wire formats and their encoders.
//
// A wire format is one way a push is encoded AND framed for a kind of session, e.g.
// "Centrifugo JSON in a WebSocket text frame", "Centrifugo JSON as an SSE event", "Socket.IO
// EVENT packet in a WebSocket frame", "raw WebSocket text frame". Sessions of the same format
// receive the very same bytes, so the encoder's output must not depend on the receiver.
//
// Formats are registered at start-up by the protocol layers (the hub knows none of them) and
// get small ids, so per-publication caches are flat arrays indexed by format.
//
// Thread safety: add() before the hub starts; encoder() / size() are then read concurrently.
// Encoders are called from any shard thread and must be thread-safe (pure functions are).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/shared_payload.h"
#include "hub/publication.h"

namespace duplex::hub {

// Opaque small id handed out by format_registry::add.
enum class wire_format : std::uint8_t {};

inline constexpr std::size_t max_wire_formats = 16;

// What a subscriber is being told. join/leave carry their client in pub.info and no data.
enum class push_kind : std::uint8_t { publication, join, leave };

// Encodes one push, framed, ready to be queued on a connection. Must not return a null
// payload (return an empty-but-allocated one if a format has nothing to send).
using encoder = std::function<shared_payload(push_kind kind, const publication& pub)>;

class format_registry {
 public:
  // Registers a format; the name is for logs. Aborts past max_wire_formats (a build-time
  // configuration bug, not input).
  wire_format add(std::string name, encoder fn);

  const encoder& encoder_of(wire_format f) const noexcept;
  std::string_view name_of(wire_format f) const noexcept;
  std::size_t size() const noexcept { return count_; }

 private:
  std::array<encoder, max_wire_formats> encoders_;
  std::array<std::string, max_wire_formats> names_;
  std::size_t count_ = 0;
};

}  // namespace duplex::hub
