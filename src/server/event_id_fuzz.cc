// Fuzzes the Last-Event-ID parser of /events. The first byte is the expected channel count
// (1..32), the rest the header value. Oracles: an accepted id has exactly that many entries,
// and re-encoding it gives back the very same text (the grammar has one spelling per id).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/event_id.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t expected = static_cast<std::size_t>(data[0] % 32) + 1;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto decoded = duplex::service::decode_event_id(text, expected);
  if (!decoded) return 0;
  if (decoded->size() != expected) std::abort();
  if (duplex::service::encode_event_id(*decoded) != text) std::abort();
  return 0;
}
