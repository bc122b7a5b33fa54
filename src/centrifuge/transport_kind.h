// The transports a Centrifugo protocol session can run over, for per-transport counts
// (metrics: duplex_connections_by_transport{transport="..."}). The names are the ones the
// protocol's docs and the SDKs use for them (centrifugal.dev docs/transports/*).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace duplex::centrifuge {

enum class transport_kind : std::uint8_t {
  websocket,        // /connection/websocket
  http_stream,      // /connection/http_stream + /emulation
  sse,              // /connection/sse + /emulation
  uni_websocket,    // /connection/uni_websocket
  uni_sse,          // /connection/uni_sse
  uni_http_stream,  // /connection/uni_http_stream
};

inline constexpr std::size_t transport_kind_count = 6;

inline constexpr std::array<std::string_view, transport_kind_count> transport_names = {
    "websocket", "http_stream", "sse", "uni_websocket", "uni_sse", "uni_http_stream"};

constexpr std::string_view name_of(transport_kind k) noexcept {
  return transport_names[static_cast<std::size_t>(k)];
}

}  // namespace duplex::centrifuge
