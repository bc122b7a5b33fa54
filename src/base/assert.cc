#include "base/assert.h"

#include <cstdio>
#include <cstdlib>

namespace duplex::detail {
void assert_fail(const char* expr, const char* file, int line) noexcept {
  std::fprintf(stderr, "duplex: assertion failed: %s at %s:%d\n", expr, file, line);
  std::abort();
}
}  // namespace duplex::detail
