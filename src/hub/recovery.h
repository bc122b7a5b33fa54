// Recovery: turning "my last position was {offset, epoch}" into "here is what you missed, and
// whether that is everything" (ARCHITECTURE.md "Data model", Centrifugo's `recovered` flag).
#pragma once

#include <cstddef>
#include <vector>

#include "hub/broker.h"
#include "hub/publication.h"

namespace duplex::hub {

struct recovery_result {
  error err = error::ok;  // broker failure only; an impossible recovery is recovered == false
  std::vector<publication> pubs;  // what history still holds after `since`, oldest first
  stream_position position;       // the stream's current top
  bool recovered = false;         // true: pubs are exactly everything after `since`
};

// The history query a recovery from `since` needs: forward from since, at most max + 1 (one
// more than allowed tells "too many to replay" apart from "exactly max").
history_query recovery_query(const stream_position& since, std::size_t max_publications);

// Judges a history reply to recovery_query(since, max). Recovery is complete when the epoch
// is the same and history is contiguous from since.offset + 1 to the top (or since is the
// top), and no more than max publications are needed. On an epoch change no publications
// are returned (they belong to another stream); when offsets were trimmed or too many were
// missed, the available tail is still returned so a session may deliver it with
// recovered == false.
recovery_result judge_recovery(const stream_position& since, std::size_t max_publications,
                               history_result h);

}  // namespace duplex::hub
