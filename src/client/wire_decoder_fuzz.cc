// Fuzz target: a random server frame through wire::decoder (the SDK's parser of network
// input). Oracles: no crash or sanitizer report; every raw JSON field of a decoded message
// (data, conn_info, chan_info) is valid JSON by an independent parser (nlohmann-json), so the
// application never gets broken JSON text; decoding is deterministic (a second decoder, same
// input, same count and verdict).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "client/wire.h"

namespace {

using namespace duplex::sdk;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void check_raw(const std::string& s) {
  if (!s.empty()) check(nlohmann::json::accept(s.begin(), s.end()));
}

void check_pub(const publication& p) {
  check_raw(p.data);
  if (p.info) {
    check_raw(p.info->conn_info);
    check_raw(p.info->chan_info);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view frame(reinterpret_cast<const char*>(data), size);
  static wire::decoder a, b;
  std::vector<wire::message> out1, out2;
  const std::string e1 = a.decode(frame, out1);
  const std::string e2 = b.decode(frame, out2);
  check(e1 == e2 && out1.size() == out2.size());
  for (const wire::message& m : out1) {
    if (m.kind == wire::message::type::reply) {
      check(m.reply.id != 0);
      check_raw(m.reply.data);
      check_raw(m.reply.sub.data);
      for (const auto& p : m.reply.sub.publications) check_pub(p);
      for (const auto& p : m.reply.history.publications) check_pub(p);
      for (const auto& [ch, sr] : m.reply.subs)
        for (const auto& p : sr.publications) check_pub(p);
    } else if (m.kind == wire::message::type::push) {
      check_pub(m.push.pub);
      check_raw(m.push.data);
      check_raw(m.push.sub.data);
    }
  }
  return 0;
}
