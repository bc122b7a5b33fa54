// Fuzz target: untrusted input of the HTTP fallbacks through fallback_request.h. Oracles (an
// independent JSON parser, nlohmann-json): no crash or sanitizer report; a frame that
// uni_connect_frame accepts is exactly one JSON line holding only a connect command (nothing
// can be smuggled in beside it); an accepted emulation request has a non-empty session;
// query_param never yields more bytes than its input; a refused uni connect maps to a
// disconnect code (3000-4999).
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "centrifuge/fallback_request.h"

namespace {

using namespace duplex::centrifuge;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  if (auto q = query_param(in, "cf_connect")) check(q->size() <= in.size());

  if (auto f = uni_connect_frame(in)) {
    check(f->find('\n') == std::string::npos && f->find('\r') == std::string::npos);
    const nlohmann::json v = nlohmann::json::parse(*f, nullptr, false);
    check(v.is_object() && v.size() == 2 && v.contains("id") && v.contains("connect") &&
          v["connect"].is_object());
  }

  (void)is_command_frame(in);

  std::string why;
  if (auto r = parse_emulation_request(in, why)) check(!r->session.empty());
  else check(!why.empty());

  const uni_output u = to_unidirectional(in);
  if (u.refused) check(u.refused->code >= 3000 && u.refused->code < 5000);
  return 0;
}
