// Fuzz target for request_parser (STYLE.md rule 22): input = [control byte][chunk sizes][bytes].
// The low 4 bits of the control byte say how many chunk-size bytes follow; bits 4-5 pick a
// limits profile (tiny limits reach the 413/414/431 paths). The message bytes are fed once
// whole and once split into chunks of those sizes (cycled, like a connection receiving them);
// both runs must record exactly the same heads, bodies and error: the differential check of the
// parser's buffer contract. Consumed counts beyond the input or body views outside the consumed
// range abort too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/feed_driver.h"
#include "http/request_parser.h"

namespace {

duplex::http::request_parser::limits profile(unsigned p) {
  duplex::http::request_parser::limits l;
  if (p == 1) {
    l.max_request_line = 32;
    l.max_header_bytes = 64;
    l.max_headers = 3;
    l.max_body = 16;
  } else if (p == 2) {
    l.require_host = false;
    l.max_body = 100;
  }
  return l;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const unsigned k = data[0] & 0x0f;
  const auto lim = profile((data[0] >> 4) & 3);
  if (size < 1 + k) return 0;
  const std::uint8_t* sizes = data + 1;
  const std::string_view input(reinterpret_cast<const char*>(data + 1 + k), size - 1 - k);

  duplex::http::request_parser whole(lim), split(lim);
  const auto a = duplex::http::testing::drive_all(whole, input);
  std::size_t i = 0;
  const auto b = duplex::http::testing::drive(split, input, [&]() -> std::size_t {
    if (k == 0) return 1;
    return sizes[i++ % k];
  });
  if (!a.contract_ok || !b.contract_ok || !(a == b)) std::abort();
  return 0;
}
