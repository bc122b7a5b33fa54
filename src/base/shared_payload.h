// shared_payload: immutable bytes shared by reference count.
//
// A publication is framed once and the same bytes are queued on every subscriber's output
// (STYLE.md rule 19), possibly on several loop threads, so the count is atomic. The header
// and the bytes live in one allocation. Copying a shared_payload costs one atomic increment;
// the bytes never change after make().
//
// Thread safety: distinct shared_payload objects that refer to the same bytes may be used and
// destroyed concurrently from any thread; one shared_payload object is not to be mutated from
// two threads at once (same rule as std::shared_ptr).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <span>
#include <string_view>
#include <utility>

namespace duplex {

class shared_payload {
 public:
  shared_payload() noexcept = default;

  // Allocates size bytes, uninitialised; fill them through mutable_bytes() before sharing.
  static shared_payload allocate(std::size_t size) {
    void* mem = ::operator new(sizeof(block) + size);
    auto* b = new (mem) block{};
    b->refs.store(1, std::memory_order_relaxed);
    b->size = size;
    return shared_payload(b);
  }
  static shared_payload copy_of(std::span<const std::byte> bytes) {
    shared_payload p = allocate(bytes.size());
    if (!bytes.empty()) std::memcpy(p.mutable_bytes().data(), bytes.data(), bytes.size());
    return p;
  }
  static shared_payload copy_of(std::string_view s) {
    return copy_of(std::as_bytes(std::span<const char>(s.data(), s.size())));
  }

  shared_payload(const shared_payload& o) noexcept : b_(o.b_) {
    if (b_) b_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  shared_payload(shared_payload&& o) noexcept : b_(std::exchange(o.b_, nullptr)) {}
  shared_payload& operator=(shared_payload o) noexcept {
    std::swap(b_, o.b_);
    return *this;
  }
  ~shared_payload() { release(); }

  std::span<const std::byte> bytes() const noexcept {
    return b_ ? std::span<const std::byte>(data_of(b_), b_->size) : std::span<const std::byte>();
  }
  std::string_view view() const noexcept {
    auto s = bytes();
    return {reinterpret_cast<const char*>(s.data()), s.size()};
  }
  // Only while this is the sole owner (right after allocate()).
  std::span<std::byte> mutable_bytes() noexcept {
    return b_ ? std::span<std::byte>(data_of(b_), b_->size) : std::span<std::byte>();
  }
  std::size_t size() const noexcept { return b_ ? b_->size : 0; }
  bool empty() const noexcept { return size() == 0; }
  explicit operator bool() const noexcept { return b_ != nullptr; }
  long use_count() const noexcept { return b_ ? static_cast<long>(b_->refs.load()) : 0; }

 private:
  struct block {
    std::atomic<std::uint32_t> refs;
    std::size_t size;
  };
  explicit shared_payload(block* b) noexcept : b_(b) {}
  static std::byte* data_of(block* b) noexcept { return reinterpret_cast<std::byte*>(b + 1); }
  void release() noexcept {
    if (b_ && b_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      b_->~block();
      ::operator delete(b_);
    }
    b_ = nullptr;
  }
  block* b_ = nullptr;
};

}  // namespace duplex
