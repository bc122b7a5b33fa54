// Fuzz target for response_parser; same input layout and differential check as
// http_request_parser_fuzz.cc. Bit 6 of the control byte marks the reply as an answer to HEAD;
// at the end both parsers are told the peer closed and must agree on the outcome.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/feed_driver.h"
#include "http/response_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const unsigned k = data[0] & 0x0f;
  duplex::http::response_parser::limits lim;
  if (data[0] & 0x10) {
    lim.max_status_line = 32;
    lim.max_header_bytes = 64;
    lim.max_headers = 3;
    lim.max_body = 16;
  }
  const bool head = (data[0] & 0x40) != 0;
  if (size < 1 + k) return 0;
  const std::uint8_t* sizes = data + 1;
  const std::string_view input(reinterpret_cast<const char*>(data + 1 + k), size - 1 - k);

  duplex::http::response_parser whole(lim), split(lim);
  whole.expect_head_response(head);
  split.expect_head_response(head);
  const auto a = duplex::http::testing::drive_all(whole, input);
  std::size_t i = 0;
  const auto b = duplex::http::testing::drive(split, input, [&]() -> std::size_t {
    if (k == 0) return 1;
    return sizes[i++ % k];
  });
  if (!a.contract_ok || !b.contract_ok || !(a == b)) std::abort();
  const auto fa = whole.finish();
  const auto fb = split.finish();
  if (fa.status != fb.status || fa.err != fb.err) std::abort();
  return 0;
}
