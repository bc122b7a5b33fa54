// byte_buffer: a growable byte array for the generator's per-connection output.
//
// Unlike std::vector<std::byte>, growing it does not zero the new bytes (every byte appended is
// written right away by the frame encoder), and consume() keeps the capacity, so a connection
// that sends the same batch size every turn allocates only while warming up.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <span>

namespace duplex::bench {

class byte_buffer {
 public:
  std::size_t size() const noexcept { return end_ - begin_; }
  bool empty() const noexcept { return begin_ == end_; }
  const std::byte* data() const noexcept { return data_.get() + begin_; }

  // Makes room for `n` more bytes and returns where to write them; the caller writes all `n`.
  std::span<std::byte> append(std::size_t n) {
    if (end_ + n > capacity_) grow(n);
    std::span<std::byte> out(data_.get() + end_, n);
    end_ += n;
    return out;
  }
  // Drops `n` bytes from the front (they were sent).
  void consume(std::size_t n) noexcept {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  // Returns the memory (idle connections hold no output buffer).
  void release() noexcept {
    data_.reset();
    begin_ = end_ = capacity_ = 0;
  }

 private:
  void grow(std::size_t n) {
    std::size_t live = size();
    std::size_t cap = capacity_ ? capacity_ : 256;
    while (cap < live + n) cap *= 2;
    if (cap == capacity_ && begin_ > 0) {  // enough room once the sent prefix is dropped
      std::memmove(data_.get(), data_.get() + begin_, live);
    } else {
      auto fresh = std::make_unique_for_overwrite<std::byte[]>(cap);
      if (live) std::memcpy(fresh.get(), data_.get() + begin_, live);
      data_ = std::move(fresh);
      capacity_ = cap;
    }
    begin_ = 0;
    end_ = live;
  }

  std::unique_ptr<std::byte[]> data_;
  std::size_t begin_ = 0, end_ = 0, capacity_ = 0;
};

}  // namespace duplex::bench
