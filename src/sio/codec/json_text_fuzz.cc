// Fuzz target: json_text against nlohmann on random bytes. Oracles: parse_json_text accepts
// exactly what nlohmann's parser accepts, with an equal value; append_json_text writes the
// bytes dump() writes.
#include <cstdint>
#include <string>
#include <string_view>

#include "sio/codec/json_text.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using json = nlohmann::json;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  // Deep nesting is refused by the Socket.IO decoder before parsing (prescan): keep the
  // recursive parsers well inside the stack here too.
  int depth = 0;
  for (char c : in) {
    if ((c == '[' || c == '{') && ++depth > 64) return 0;
  }
  json mine;
  const bool ok = duplex::sio::codec::parse_json_text(in, mine);
  const json theirs = json::parse(in.begin(), in.end(), nullptr, false);
  check(ok == !theirs.is_discarded());
  if (!ok) return 0;
  check(mine == theirs || mine.dump() == theirs.dump());  // NaN never compares equal
  std::string out;
  duplex::sio::codec::append_json_text(out, mine);
  check(out == mine.dump(-1, ' ', false, json::error_handler_t::replace));
  return 0;
}
