// Fuzz target: random bytes as a stored node-registry entry (the `P:{nodes}` hash values that
// list() reads back from Redis) through decode_node_entry(). Oracles: no crash or sanitizer
// report; an accepted entry is within the limits and re-encodes to exactly the input (one
// encoding per value: canonical decimals, no slack).
#include <cstdint>
#include <string_view>

#include "redis/node_registry.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  duplex::redis::node_entry e;
  if (duplex::redis::decode_node_entry(in, e) != duplex::redis::node_entry_error::ok) return 0;
  check(e.id.size() <= duplex::redis::max_node_id_bytes);
  check(e.name.size() <= duplex::redis::max_node_text_bytes);
  check(e.version.size() <= duplex::redis::max_node_text_bytes);
  check(duplex::redis::encode_node_entry(e) == in);
  return 0;
}
