// Fuzz target: random bytes as a Redis Pub/Sub payload (channel or node topic), Stream entry or
// presence value through envelope decode(). Oracles: no crash or sanitizer report; an accepted envelope re-encodes to
// exactly the input (the format has one encoding per value: canonical decimals, no slack).
#include <cstdint>
#include <string>
#include <string_view>

#include "redis/envelope.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

std::string encode(const duplex::redis::envelope& e) {
  using duplex::redis::envelope_kind;
  switch (e.kind) {
    case envelope_kind::publication: {
      std::string out = duplex::redis::encode_publication_head(e.pub.offset, e.pub.epoch);
      duplex::redis::encode_publication_body(e.pub, out);
      return out;
    }
    case envelope_kind::join: return duplex::redis::encode_join(e.channel, e.who);
    case envelope_kind::leave: return duplex::redis::encode_leave(e.channel, e.who);
    case envelope_kind::client: return duplex::redis::encode_client(e.who);
    case envelope_kind::request: return duplex::redis::encode_request(e.fwd);
    case envelope_kind::response: return duplex::redis::encode_response(e.fwd);
  }
  return {};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  duplex::redis::envelope e;
  if (duplex::redis::decode(in, e) != duplex::redis::envelope_error::ok) return 0;
  check(encode(e) == in);
  return 0;
}
