// Invariant checks. A failed DUPLEX_ASSERT is a bug in duplex, never bad input: it logs the
// expression and location and aborts. Untrusted input is handled with error values instead
// (see STYLE.md rule 12); never assert on bytes that came from the network.
#pragma once

namespace duplex::detail {
[[noreturn]] void assert_fail(const char* expr, const char* file, int line) noexcept;
}  // namespace duplex::detail

#define DUPLEX_ASSERT(expr) \
  ((expr) ? static_cast<void>(0) : ::duplex::detail::assert_fail(#expr, __FILE__, __LINE__))
