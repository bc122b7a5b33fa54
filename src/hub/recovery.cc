#include "hub/recovery.h"

#include <utility>

namespace duplex::hub {

history_query recovery_query(const stream_position& since, std::size_t max_publications) {
  history_query q;
  q.since = since;
  q.limit = static_cast<std::int64_t>(max_publications) + 1;
  return q;
}

recovery_result judge_recovery(const stream_position& since, std::size_t max_publications,
                               history_result h) {
  recovery_result r;
  r.position = std::move(h.position);
  if (h.err == error::unrecoverable_position) return r;  // another epoch: nothing to replay
  if (h.err != error::ok) {
    r.err = h.err;
    return r;
  }
  if (h.pubs.empty()) {
    r.recovered = since.offset == r.position.offset;  // nothing missed (a future offset: no)
  } else {
    r.recovered = h.pubs.front().offset == since.offset + 1 &&
                  h.pubs.size() <= max_publications;
    if (h.pubs.size() > max_publications) h.pubs.resize(max_publications);
  }
  r.pubs = std::move(h.pubs);
  return r;
}

}  // namespace duplex::hub
