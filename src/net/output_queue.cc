#include "net/output_queue.h"

#include <sys/uio.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "base/assert.h"

namespace duplex::net {

shared_payload chunk_pool::get(std::size_t min_size, bool first) {
  const bool small = first && min_size <= small_chunk_size;
  if (small || min_size <= chunk_size) {
    std::vector<shared_payload>& list = small ? free_small_ : free_;
    if (!list.empty()) {
      shared_payload c = std::move(list.back());
      list.pop_back();
      return c;
    }
    return shared_payload::allocate(small ? small_chunk_size : chunk_size);
  }
  return shared_payload::allocate(min_size);
}

void chunk_pool::put(shared_payload&& chunk) noexcept {
  if (chunk.use_count() == 1) {
    // push_back's capacity is reserved by earlier growth: it rarely allocates.
    if (chunk.size() == chunk_size && free_.size() < max_free_) {
      free_.push_back(std::move(chunk));
    } else if (chunk.size() == small_chunk_size && free_small_.size() < max_free_) {
      free_small_.push_back(std::move(chunk));
    }
  }
  chunk = shared_payload();
}

output_queue::entry* output_queue::writable_tail() noexcept {
  if (entries_.size() == head_) return nullptr;
  entry& t = entries_.back();
  return t.owned && t.end < t.buf.size() ? &t : nullptr;
}

void output_queue::refresh_tail() noexcept {
  if (entries_.size() != head_) {
    entry& t = entries_.back();
    if (t.owned) {
      tail_base_ = t.buf.mutable_bytes().data();
      tail_ = tail_base_ + t.end;
      tail_room_ = t.buf.size() - t.end;
      tail_end_ = &t.end;
      return;
    }
  }
  tail_base_ = tail_ = nullptr;
  tail_room_ = 0;
  tail_end_ = nullptr;
}

void output_queue::append_copy(std::span<const std::byte> data, chunk_pool& pool) {
  while (!data.empty()) {
    entry* t = writable_tail();
    if (!t) {
      entries_.push_back(entry{pool.get(data.size(), entries_.size() == head_), 0, 0, true});
      t = &entries_.back();
    }
    const std::size_t n = std::min(data.size(), t->buf.size() - t->end);
    std::memcpy(t->buf.mutable_bytes().data() + t->end, data.data(), n);
    t->end += n;
    bytes_ += n;
    data = data.subspan(n);
  }
  refresh_tail();
}

void output_queue::append(const shared_payload& payload, chunk_pool& pool) {
  if (payload.size() < copy_below) {
    append_copy(payload.bytes(), pool);
    return;
  }
  const std::size_t n = payload.size();
  entries_.push_back(entry{payload, 0, n, false});
  bytes_ += n;
  refresh_tail();
}

std::span<std::byte> output_queue::prepare(std::size_t min_size, chunk_pool& pool) {
  entry* t = writable_tail();
  if (!t || t->buf.size() - t->end < min_size) {
    entries_.push_back(entry{pool.get(min_size, entries_.size() == head_), 0, 0, true});
  }
  refresh_tail();
  return {tail_, tail_room_};
}

void output_queue::commit(std::size_t n) noexcept {
  DUPLEX_ASSERT(tail_end_ != nullptr && n <= tail_room_);
  advance_tail(n);
}

std::size_t output_queue::gather(iovec* iov, std::size_t max) const noexcept {
  std::size_t k = 0;
  for (std::size_t i = head_; i < entries_.size() && k < max; ++i) {
    const entry& e = entries_[i];
    if (e.end == e.begin) continue;
    // iovec's base is non-const by POSIX; writev only reads it.
    iov[k].iov_base = const_cast<std::byte*>(e.buf.bytes().data() + e.begin);
    iov[k].iov_len = e.end - e.begin;
    ++k;
  }
  return k;
}

std::span<const std::byte> output_queue::front() const noexcept {
  for (std::size_t i = head_; i < entries_.size(); ++i) {
    const entry& e = entries_[i];
    if (e.end != e.begin) return e.buf.bytes().subspan(e.begin, e.end - e.begin);
  }
  return {};
}

void output_queue::consume(std::size_t n, chunk_pool& pool) noexcept {
  DUPLEX_ASSERT(n <= bytes_);
  bytes_ -= n;
  while (head_ < entries_.size()) {
    entry& e = entries_[head_];
    const std::size_t avail = e.end - e.begin;
    if (n < avail) {
      e.begin += n;
      return;
    }
    n -= avail;
    pool.put(std::move(e.buf));
    ++head_;
    if (n == 0 && bytes_ != 0) break;
  }
  if (head_ == entries_.size()) {
    entries_.clear();
    head_ = 0;
  } else if (head_ > 32 && head_ * 2 > entries_.size()) {
    // A queue that never empties (steady backpressure) must not grow without bound.
    entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(head_));
    head_ = 0;
  }
  refresh_tail();
}

}  // namespace duplex::net
