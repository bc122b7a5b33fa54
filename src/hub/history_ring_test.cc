#include "hub/history_ring.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace duplex::hub {
namespace {

publication make(std::string data) {
  publication p;
  p.channel = "c";
  p.data = shared_payload::copy_of(data);
  return p;
}

std::vector<std::uint64_t> offsets(const history_result& r) {
  std::vector<std::uint64_t> out;
  for (const auto& p : r.pubs) out.push_back(p.offset);
  return out;
}

history_query all() {
  history_query q;
  q.limit = -1;
  return q;
}

TEST(HistoryRing, OffsetsAreMonotonicAndCarryTheEpoch) {
  history_ring ring("E1", 0);
  for (int i = 1; i <= 5; ++i) {
    publication p = make("m" + std::to_string(i));
    ring.append(p, 0, 10, 1000);
    EXPECT_EQ(p.offset, static_cast<std::uint64_t>(i));
    EXPECT_EQ(p.epoch, "E1");
  }
  EXPECT_EQ(ring.position(), (stream_position{5, "E1"}));
}

TEST(HistoryRing, KeepsOnlyTheLatestSizeEntries) {
  history_ring ring("E", 0);
  for (int i = 0; i < 7; ++i) {
    publication p = make("x");
    ring.append(p, 0, 3, 1000);
  }
  auto r = ring.query(all(), 0);
  EXPECT_EQ(offsets(r), (std::vector<std::uint64_t>{5, 6, 7}));
  EXPECT_EQ(r.position.offset, 7u);
}

TEST(HistoryRing, EntriesExpireAfterTtlButOffsetsContinue) {
  history_ring ring("E", 0);
  publication a = make("a");
  ring.append(a, 1000, 10, 500);  // expires at 1500
  publication b = make("b");
  ring.append(b, 1400, 10, 500);  // expires at 1900
  EXPECT_EQ(offsets(ring.query(all(), 1499)), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(offsets(ring.query(all(), 1500)), (std::vector<std::uint64_t>{2}));
  EXPECT_TRUE(ring.query(all(), 1900).pubs.empty());
  publication c = make("c");
  ring.append(c, 2000, 10, 500);
  EXPECT_EQ(c.offset, 3u);
  EXPECT_EQ(ring.query(all(), 2000).pubs.at(0).data.view(), "c");
}

TEST(HistoryRing, LimitZeroGivesPositionOnly) {
  history_ring ring("E", 0);
  publication p = make("a");
  ring.append(p, 0, 10, 1000);
  auto r = ring.query(history_query{}, 0);
  EXPECT_TRUE(r.pubs.empty());
  EXPECT_EQ(r.position, (stream_position{1, "E"}));
}

TEST(HistoryRing, SinceForwardReverseAndLimit) {
  history_ring ring("E", 0);
  for (int i = 0; i < 10; ++i) {
    publication p = make("x");
    ring.append(p, 0, 6, 1000);  // keeps 5..10
  }
  history_query q;
  q.since = stream_position{7, "E"};
  q.limit = -1;
  EXPECT_EQ(offsets(ring.query(q, 0)), (std::vector<std::uint64_t>{8, 9, 10}));
  q.limit = 2;
  EXPECT_EQ(offsets(ring.query(q, 0)), (std::vector<std::uint64_t>{8, 9}));
  q.since = stream_position{2, "E"};  // older than the window: starts at the oldest kept
  q.limit = -1;
  EXPECT_EQ(offsets(ring.query(q, 0)).front(), 5u);
  q.since = stream_position{10, "E"};
  EXPECT_TRUE(ring.query(q, 0).pubs.empty());

  history_query rq;
  rq.reverse = true;
  rq.limit = 3;
  EXPECT_EQ(offsets(ring.query(rq, 0)), (std::vector<std::uint64_t>{10, 9, 8}));
  rq.since = stream_position{8, "E"};
  rq.limit = -1;
  EXPECT_EQ(offsets(ring.query(rq, 0)), (std::vector<std::uint64_t>{7, 6, 5}));
  rq.since = stream_position{5, "E"};
  EXPECT_TRUE(ring.query(rq, 0).pubs.empty());
}

TEST(HistoryRing, SinceFromAnotherEpochIsUnrecoverable) {
  history_ring ring("NEW", 0);
  publication p = make("a");
  ring.append(p, 0, 10, 1000);
  history_query q;
  q.since = stream_position{1, "OLD"};
  q.limit = -1;
  auto r = ring.query(q, 0);
  EXPECT_EQ(r.err, error::unrecoverable_position);
  EXPECT_TRUE(r.pubs.empty());
  EXPECT_EQ(r.position, (stream_position{1, "NEW"}));
}

}  // namespace
}  // namespace duplex::hub
