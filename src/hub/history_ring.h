// history_ring: one channel's stream in the memory broker — its top offset, its epoch and a
// bounded window of the latest publications, each kept at most `ttl` after it was published.
//
// Offsets in the window are contiguous (the ring only ever drops from the oldest end), so a
// `since` lookup is an index computation, not a search. Time is passed in (`now_ms`, from the
// broker's injectable clock), so tests drive TTL without sleeping.
//
// Costs: append is O(1) amortized (std::deque, plus one publication copy held by the ring);
// query is O(returned). Memory is bounded by size × publication size.
// Thread safety: none; the memory broker guards each ring with its stripe's lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "hub/broker.h"
#include "hub/publication.h"

namespace duplex::hub {

class history_ring {
 public:
  // A new stream, created at created_ms (counts as activity for idle expiry).
  history_ring(std::string epoch, std::uint64_t created_ms)
      : epoch_(std::move(epoch)), last_active_ms_(created_ms) {}

  // Gives pub the next offset and this stream's epoch, keeps a copy, and trims to `size`
  // entries. Entries expire `ttl_ms` after now_ms.
  void append(publication& pub, std::uint64_t now_ms, std::size_t size, std::uint64_t ttl_ms);

  // Drops entries whose TTL has passed.
  void expire(std::uint64_t now_ms);

  // Publications per the query (see history_query), after expiring entries. Returns
  // unrecoverable_position (and no publications) when q.since names another epoch.
  history_result query(const history_query& q, std::uint64_t now_ms);

  stream_position position() const { return {top_, epoch_}; }
  std::size_t size() const noexcept { return entries_.size(); }
  // Creation or latest append: the broker forgets the stream's state this long idle.
  std::uint64_t last_active_ms() const noexcept { return last_active_ms_; }

 private:
  struct entry {
    publication pub;
    std::uint64_t expires_at_ms;
  };
  std::deque<entry> entries_;
  std::uint64_t top_ = 0;  // offset of the latest publication; 0 before the first
  std::string epoch_;
  std::uint64_t last_active_ms_ = 0;
};

}  // namespace duplex::hub
