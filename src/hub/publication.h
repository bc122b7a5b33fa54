// The hub's data model (ARCHITECTURE.md "Data model"): publications, stream positions and the
// client info that rides on publications, presence entries and join/leave events.
//
// Payload bytes are shared_payload: moving a publication between threads or into history
// moves a reference, never the bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/shared_payload.h"

namespace duplex::hub {

// Who published, or who joined/left. conn_info/chan_info are opaque bytes (JSON in the
// Centrifugo protocol) that come from the connection / subscription token.
struct client_info {
  std::string client_id;
  std::string user_id;
  shared_payload conn_info;
  shared_payload chan_info;
};

// A point in a channel's stream. Offsets are per channel and grow by one per publication;
// the epoch names one incarnation of the stream and changes whenever history is lost (TTL
// expiry of the channel's state, history removal, a broker restart), so {offset, epoch}
// comparisons never mistake a new stream for the old one.
struct stream_position {
  std::uint64_t offset = 0;
  std::string epoch;

  friend bool operator==(const stream_position&, const stream_position&) = default;
};

struct publication {
  std::string channel;
  std::uint64_t offset = 0;  // 0 when the channel keeps no history
  std::string epoch;         // empty when the channel keeps no history
  shared_payload data;
  std::optional<client_info> info;
  std::vector<std::pair<std::string, std::string>> tags;  // optional; empty = none
  // When this node accepted the publication (duplex::clock::now_us, steady clock); 0 when it
  // came from elsewhere (history, another node). For the publish-to-write latency metric only:
  // never sent on the wire.
  std::uint64_t published_us = 0;
};

}  // namespace duplex::hub
