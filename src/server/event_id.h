// event_id: the SSE `id` of /events (events_endpoint.h) — every subscribed channel's stream
// position in one short line, so that a reconnecting EventSource's Last-Event-ID lets the
// server resume each channel from history.
//
// Grammar (ASCII, no spaces):
//   id     = entry *( "," entry )          one entry per requested channel, in request order
//   entry  = "-"                           no position (no history, or not known yet)
//          / offset ":" epoch
//   offset = "0" / %x31-39 *19DIGIT        decimal uint64, no leading zero
//   epoch  = 1*64( %x21-7E except "," and ":" )
// Examples: "17:Ab3xY9qK" (one channel), "17:Ab3xY9qK,-,4:Zz0aa1bb" (three channels).
//
// Channels are named by position, not by name, to keep ids short: EventSource reconnects to
// the same URL, so the channel list is the same. An id whose entry count differs from the
// request's channel count is refused by the parser (the caller treats it as "position lost").
// An epoch the grammar cannot carry (a broker that makes epochs with ',' or ':') is written
// as "-": that channel then resumes live-only (never a wrong replay).
//
// Pure functions; thread-safe. decode_event_id parses untrusted input (a request header): it
// never reads past `text`, allocates at most `expected` entries and is fuzzed
// (event_id_fuzz.cc).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hub/publication.h"

namespace duplex::service {

inline constexpr std::size_t max_epoch_length = 64;

// One channel's place in an id: nullopt = "-".
using event_position = std::optional<hub::stream_position>;

// True when `epoch` can be written in an id (1..64 bytes of the grammar's epoch alphabet).
bool encodable_epoch(std::string_view epoch) noexcept;

// Appends the entry for one position ("-" when absent or its epoch is not encodable).
void append_event_id_entry(std::string& out, const event_position& p);

// The whole id for `positions` (request order). Never empty, never contains CR/LF.
std::string encode_event_id(std::span<const event_position> positions);

// Parses an id written by encode_event_id for `expected` channels. nullopt when the text
// does not follow the grammar or has another number of entries than `expected`.
std::optional<std::vector<event_position>> decode_event_id(std::string_view text,
                                                           std::size_t expected);

}  // namespace duplex::service
