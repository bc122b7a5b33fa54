#pragma once

// Cache prefetch helpers for loops that walk many cold objects (a fan-out's subscribers, the
// loop's flush list): see hub::subscriber::prefetch.

#include <cstddef>
#include <cstdint>

namespace duplex {

inline constexpr std::size_t cache_line = 64;

// One line into cache. GCC treats __builtin_prefetch as free of side effects and deletes it
// with code it considers dead (measured: a loop of them, and the inline chains of
// hub::subscriber::prefetch, compiled to nothing); a volatile asm stays. For a line about to
// be written too: PREFETCHW is not on every x86-64, and GCC emits prefetcht0 for a write
// prefetch without -mprfchw.
inline void prefetch(const void* p) noexcept {
#if defined(__x86_64__)
  asm volatile("prefetcht0 (%0)" : : "r"(p));
#else
  __builtin_prefetch(p);
#endif
}

// Prefetches every cache line of [p, p + n), for reading.
inline void prefetch_lines(const void* p, std::size_t n) noexcept {
  const auto begin = reinterpret_cast<std::uintptr_t>(p);
  for (std::uintptr_t a = begin & ~(cache_line - 1); a < begin + n; a += cache_line) {
    prefetch(reinterpret_cast<const void*>(a));
  }
}

// Every line of *p.
template <class T>
void prefetch_object(const T* p) noexcept {
  prefetch_lines(p, sizeof(T));
}

// One step of a prefetch pipeline over `items`, walked in order: call it before handling item
// i. It calls stage(items[j], k) for k in [0, stages) with j = i + step * (stages - k), so
// stage k of an item runs `step` items after its stage k - 1 brought what stage k follows
// into cache, and the cache misses of several items overlap instead of each waiting for the
// last.
template <class List, class Stage>
void prefetch_pipeline(const List& items, std::size_t i, std::size_t step, unsigned stages,
                       Stage&& stage) {
  for (unsigned k = 0; k < stages; ++k) {
    const std::size_t j = i + step * (stages - k);
    if (j < items.size()) stage(items[j], k);
  }
}

}  // namespace duplex
