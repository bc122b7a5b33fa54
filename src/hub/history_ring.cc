#include "hub/history_ring.h"

#include <algorithm>

namespace duplex::hub {

void history_ring::append(publication& pub, std::uint64_t now_ms, std::size_t size,
                          std::uint64_t ttl_ms) {
  pub.offset = ++top_;
  pub.epoch = epoch_;
  last_active_ms_ = now_ms;
  if (size == 0) {
    entries_.clear();
    return;
  }
  while (entries_.size() >= size) entries_.pop_front();
  entries_.push_back(entry{pub, now_ms + ttl_ms});
}

void history_ring::expire(std::uint64_t now_ms) {
  // Entries are appended in time order with one TTL per channel, so expiry is a prefix;
  // a namespace's TTL change only delays trimming until the older entries reach the front.
  while (!entries_.empty() && entries_.front().expires_at_ms <= now_ms) entries_.pop_front();
}

history_result history_ring::query(const history_query& q, std::uint64_t now_ms) {
  expire(now_ms);
  history_result r;
  r.position = position();
  if (q.since && q.since->epoch != epoch_) {
    r.err = error::unrecoverable_position;
    return r;
  }
  if (q.limit == 0 || entries_.empty()) return r;

  const std::uint64_t first = entries_.front().pub.offset;  // contiguous up to top_
  const std::size_t max = q.limit < 0 ? entries_.size() : static_cast<std::size_t>(q.limit);

  if (!q.reverse) {
    // Offsets > since.offset, oldest first.
    std::size_t begin = 0;
    if (q.since) {
      if (q.since->offset >= top_) return r;
      begin = q.since->offset < first ? 0 : static_cast<std::size_t>(q.since->offset + 1 - first);
    }
    const std::size_t n = std::min(max, entries_.size() - begin);
    r.pubs.reserve(n);
    for (std::size_t i = begin; i < begin + n; ++i) r.pubs.push_back(entries_[i].pub);
    return r;
  }
  // Reverse: offsets < since.offset (or all), newest first.
  std::size_t end = entries_.size();  // one past the newest eligible entry
  if (q.since) {
    if (q.since->offset <= first) return r;
    end = std::min<std::size_t>(end, static_cast<std::size_t>(q.since->offset - first));
  }
  const std::size_t n = std::min(max, end);
  r.pubs.reserve(n);
  for (std::size_t i = 0; i < n; ++i) r.pubs.push_back(entries_[end - 1 - i].pub);
  return r;
}

}  // namespace duplex::hub
