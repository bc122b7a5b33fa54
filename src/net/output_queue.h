// output_queue: a stream's pending output, gathered into one writev per flush.
//
// Entries are either owned chunks that small writes are copied and coalesced into, or shared
// payloads queued by reference (a broadcast frame is never copied per subscriber, STYLE.md
// rule 19). A stream holds no queue while its output is empty: queues and standard chunks are
// recycled through the loop (chunk_pool, loop::take_queue), so a busy stream does not allocate
// per message and an idle one holds nothing.
//
// Thread safety: none; loop thread only.
#pragma once

#include <cstddef>
#include <cstring>
#include <span>
#include <vector>

#include "base/prefetch.h"
#include "base/shared_payload.h"

struct iovec;

namespace duplex::net {

// Recycles the chunks that output queues copy small writes into. Two sizes: a queue's first
// chunk is small, later ones large. A turn usually writes a few small messages to a
// connection, and a fan-out to 10,000 connections holds one chunk per connection until the
// turn's end, so the first chunk's size is the fan-out's memory footprint (16 KiB first
// chunks: 160 MB touched per turn, and measured 5-9% more CPU per delivery than 4 KiB; 2 KiB
// ones overflow with ~14 pushes a turn). Output that outgrows it (a 4 KiB message echoed, bulk
// output) continues in large chunks: fewer iovecs and syscalls.
class chunk_pool {
 public:
  static constexpr std::size_t small_chunk_size = 4 * 1024;
  static constexpr std::size_t chunk_size = 16 * 1024;
  explicit chunk_pool(std::size_t max_free = 256) : max_free_(max_free) {}
  // A chunk of at least min_size bytes: a pooled one when it fits, small when `first`.
  shared_payload get(std::size_t min_size, bool first = false);
  // Returns a chunk no one else references; others are simply released.
  void put(shared_payload&& chunk) noexcept;
  std::size_t free_count() const noexcept { return free_.size() + free_small_.size(); }

 private:
  std::vector<shared_payload> free_;
  std::vector<shared_payload> free_small_;
  std::size_t max_free_;  // of each size
};

class output_queue {
 public:
  // Payloads up to this size are copied into the tail chunk instead of queued by reference:
  // an iovec and a refcount cost more than a small memcpy.
  static constexpr std::size_t copy_below = 512;

  output_queue() = default;
  output_queue(const output_queue&) = delete;  // tail_end_ points into entries_
  output_queue& operator=(const output_queue&) = delete;

  void append_copy(std::span<const std::byte> data, chunk_pool& pool);
  // append_copy's hot path, inline: copies data into the tail chunk when it fits there whole
  // (every small write after a turn's first). Returns false, having done nothing, otherwise.
  // Reads only this object (the tail's position is cached here): on the fan-out path entries_
  // and the chunk's header would each be one more cache miss per delivery.
  bool try_append_copy(std::span<const std::byte> data) noexcept {
    if (data.size() > tail_room_ || data.empty()) return false;
    std::memcpy(tail_, data.data(), data.size());
    advance_tail(data.size());
    return true;
  }
  void append(const shared_payload& payload, chunk_pool& pool);

  // Writable space at the tail of at least min_size bytes, for producers that fill memory
  // directly (TLS output); commit() then appends the bytes actually written.
  std::span<std::byte> prepare(std::size_t min_size, chunk_pool& pool);
  // prepare()'s hot path, inline: the tail chunk's free space when it holds min_size bytes,
  // else an empty span (then call prepare()).
  std::span<std::byte> try_prepare(std::size_t min_size) noexcept {
    if (tail_room_ < min_size || tail_room_ == 0) return {};
    return {tail_, tail_room_};
  }
  void commit(std::size_t n) noexcept;
  // Cache prefetch before a flush, once this object is cached: the entries gather() reads
  // and the tail chunk's first bytes (its header is there).
  void prefetch_for_flush() const noexcept {
    if (entries_.size() != head_) duplex::prefetch(entries_.data() + head_);
    if (tail_base_ != nullptr) duplex::prefetch(tail_base_);
  }
  // Cache prefetch: 0 this object, 1 the tail's next bytes (for writing).
  void prefetch(unsigned stage) const noexcept {
    if (stage == 0) {
      prefetch_object(this);
    } else if (stage == 1 && tail_ != nullptr) {
      duplex::prefetch(tail_);
      if (tail_room_ > cache_line) duplex::prefetch(tail_ + cache_line);
    }
  }

  // Fills up to max iovecs from the front; returns how many were filled.
  std::size_t gather(iovec* iov, std::size_t max) const noexcept;
  // Visits the front entries' bytes in order (used to encrypt plaintext for TLS).
  std::span<const std::byte> front() const noexcept;
  // Drops n bytes from the front, recycling finished chunks.
  void consume(std::size_t n, chunk_pool& pool) noexcept;
  void clear(chunk_pool& pool) noexcept { consume(bytes_, pool); }

  std::size_t size() const noexcept { return bytes_; }
  bool empty() const noexcept { return bytes_ == 0; }

 private:
  struct entry {
    shared_payload buf;
    std::size_t begin = 0;
    std::size_t end = 0;
    bool owned = false;  // our chunk: bytes past `end` may still be filled
  };
  entry* writable_tail() noexcept;
  // Recomputes the cached tail from entries_ after entries_ changed.
  void refresh_tail() noexcept;
  void advance_tail(std::size_t n) noexcept {
    tail_ += n;
    tail_room_ -= n;
    bytes_ += n;
    *tail_end_ = static_cast<std::size_t>(tail_ - tail_base_);  // a store: entries_ not read
  }

  std::vector<entry> entries_;
  std::size_t head_ = 0;
  std::size_t bytes_ = 0;
  // The owned tail chunk when the last entry is one (else all null and tail_room_ == 0): its
  // bytes, the next free byte, the room after it, and that entry's `end` (= tail_ - base).
  std::byte* tail_base_ = nullptr;
  std::byte* tail_ = nullptr;
  std::size_t tail_room_ = 0;
  std::size_t* tail_end_ = nullptr;
};

}  // namespace duplex::net
