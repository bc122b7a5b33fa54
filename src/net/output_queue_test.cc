// output_queue: the bytes gathered are the bytes appended, in order, whichever path wrote them
// (the inline try_append_copy/try_prepare fast paths keep the tail's position cached; these
// tests check that cache against the entries after every kind of change).
#include "net/output_queue.h"

#include <sys/uio.h>

#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

namespace duplex::net {
namespace {

std::span<const std::byte> bytes(std::string_view s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

std::string gathered(const output_queue& q) {
  std::array<iovec, 64> iov{};
  const std::size_t k = q.gather(iov.data(), iov.size());
  std::string out;
  for (std::size_t i = 0; i < k; ++i) {
    out.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
  }
  return out;
}

// Appends through the fast path when it fits, else the slow one (what net::stream::write does).
void write(output_queue& q, chunk_pool& pool, std::string_view s) {
  if (!q.try_append_copy(bytes(s))) q.append_copy(bytes(s), pool);
}

TEST(OutputQueue, EmptyQueueHasNoFastPathRoom) {
  output_queue q;
  EXPECT_FALSE(q.try_append_copy(bytes("x")));
  EXPECT_TRUE(q.try_prepare(1).empty());
  EXPECT_TRUE(q.empty());
}

TEST(OutputQueue, FastPathAppendsAfterTheFirstSlowAppend) {
  chunk_pool pool;
  output_queue q;
  q.append_copy(bytes("hello "), pool);
  EXPECT_TRUE(q.try_append_copy(bytes("world")));
  EXPECT_FALSE(q.try_append_copy({}));  // nothing to write: not taken by the fast path
  EXPECT_EQ(q.size(), 11u);
  EXPECT_EQ(gathered(q), "hello world");
}

TEST(OutputQueue, FastPathRefusesWhatDoesNotFitAndTheSlowPathSpillsOver) {
  chunk_pool pool;
  output_queue q;
  const std::string a(chunk_pool::chunk_size - 10, 'a');
  q.append_copy(bytes(a), pool);
  EXPECT_FALSE(q.try_append_copy(bytes(std::string(11, 'b'))));
  EXPECT_TRUE(q.try_append_copy(bytes(std::string(10, 'c'))));  // exactly the room left
  EXPECT_FALSE(q.try_append_copy(bytes("d")));
  write(q, pool, "de");  // a new chunk
  EXPECT_TRUE(q.try_append_copy(bytes("f")));
  EXPECT_EQ(gathered(q), a + std::string(10, 'c') + "def");
  EXPECT_EQ(q.size(), a.size() + 13);
}

TEST(OutputQueue, TheFirstChunkIsSmallAndOutputThatOutgrowsItContinuesInLargeOnes) {
  chunk_pool pool;
  output_queue q;
  std::string expect;
  for (int i = 0; expect.size() < chunk_pool::small_chunk_size + 100; ++i) {
    const std::string piece = "piece " + std::to_string(i) + ";";
    write(q, pool, piece);
    expect += piece;
  }
  std::array<iovec, 4> iov{};
  ASSERT_EQ(q.gather(iov.data(), iov.size()), 2u);
  EXPECT_EQ(iov[0].iov_len, chunk_pool::small_chunk_size);  // filled to the last byte
  EXPECT_EQ(gathered(q), expect);
  // The second chunk is a large one: what fits in it takes the fast path.
  const std::string more(chunk_pool::chunk_size - iov[1].iov_len, 'm');
  EXPECT_TRUE(q.try_append_copy(bytes(more)));
  EXPECT_EQ(gathered(q), expect + more);
  // Both kinds go back to the pool and come out again by size.
  q.consume(q.size(), pool);
  EXPECT_EQ(pool.free_count(), 2u);
  EXPECT_EQ(pool.get(10, true).size(), chunk_pool::small_chunk_size);
  EXPECT_EQ(pool.get(10).size(), chunk_pool::chunk_size);
  EXPECT_EQ(pool.get(chunk_pool::small_chunk_size + 1, true).size(), chunk_pool::chunk_size);
  EXPECT_EQ(pool.free_count(), 0u);
}

TEST(OutputQueue, AReferencedPayloadEndsTheTailUntilTheNextCopy) {
  chunk_pool pool;
  output_queue q;
  write(q, pool, "head ");
  const std::string big(output_queue::copy_below + 1, 'R');
  q.append(shared_payload::copy_of(big), pool);  // queued by reference, not copied
  EXPECT_FALSE(q.try_append_copy(bytes("x")));   // the last entry is not ours to fill
  EXPECT_TRUE(q.try_prepare(1).empty());
  write(q, pool, " tail");
  EXPECT_TRUE(q.try_append_copy(bytes("!")));
  EXPECT_EQ(gathered(q), "head " + big + " tail!");
}

TEST(OutputQueue, PrepareAndCommitInterleaveWithCopies) {
  chunk_pool pool;
  output_queue q;
  auto room = q.prepare(4, pool);
  ASSERT_GE(room.size(), 4u);
  std::memcpy(room.data(), "abcd", 4);
  q.commit(3);  // only "abc" was produced
  write(q, pool, "-");
  room = q.try_prepare(2);
  ASSERT_GE(room.size(), 2u);
  std::memcpy(room.data(), "xy", 2);
  q.commit(2);
  write(q, pool, "-");
  EXPECT_EQ(gathered(q), "abc-xy-");
  EXPECT_EQ(q.size(), 7u);
}

TEST(OutputQueue, PartialConsumeKeepsAppendingAtTheTail) {
  chunk_pool pool;
  output_queue q;
  write(q, pool, "0123456789");
  q.consume(4, pool);
  EXPECT_TRUE(q.try_append_copy(bytes("ab")));
  EXPECT_EQ(gathered(q), "456789ab");
  q.consume(8, pool);
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(q.try_append_copy(bytes("x")));  // emptied: the chunk went back to the pool
  write(q, pool, "again");
  EXPECT_TRUE(q.try_append_copy(bytes("!")));
  EXPECT_EQ(gathered(q), "again!");
}

// A queue that never empties: consume() drops the consumed prefix of the entry list, moving
// the tail entry; appends must still land in the right place afterwards.
TEST(OutputQueue, SteadyBacklogCompactionKeepsTheTailRight) {
  chunk_pool pool;
  output_queue q;
  std::string expect;
  const std::string big(output_queue::copy_below, 'P');
  for (int i = 0; i < 200; ++i) {
    q.append(shared_payload::copy_of(big), pool);
    const std::string small = "s" + std::to_string(i);
    write(q, pool, small);
    expect += big + small;
    if (i % 3 == 2) {
      // Consume everything but the last 10 bytes.
      const std::size_t n = q.size() - 10;
      q.consume(n, pool);
      expect.erase(0, n);
      EXPECT_TRUE(q.try_append_copy(bytes("t")));
      expect += "t";
    }
    ASSERT_EQ(q.size(), expect.size());
  }
  // gather() returns at most 64 iovecs here: compare what it returns with the front.
  std::string got;
  while (!q.empty()) {
    const auto f = q.front();
    got.append(reinterpret_cast<const char*>(f.data()), f.size());
    q.consume(f.size(), pool);
  }
  EXPECT_EQ(got, expect);
}

}  // namespace
}  // namespace duplex::net
