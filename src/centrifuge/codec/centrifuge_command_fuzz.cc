// Fuzz target: a random frame through command_parser. Oracles (JSON validity is checked with
// nlohmann-json, an independent parser): no crash or sanitizer report;
// parse() and parse_padded() agree; every accepted command's views lie inside the frame's copy
// or the parser's arena; every raw `data` is valid JSON on its own and survives embedding in a
// publication push (the push parses back as JSON) — the property that keeps one client's bad
// data from breaking other clients' JSON.parse.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "centrifuge/codec/command_parser.h"
#include "centrifuge/codec/push_encoder.h"
#include "centrifuge/codec/reply_encoder.h"

namespace {

using namespace duplex::centrifuge;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

// An independent JSON implementation as the oracle (arbitrary-size numbers are valid JSON,
// as JavaScript's JSON.parse accepts them).
bool valid_json(std::string_view s) { return nlohmann::json::accept(s.begin(), s.end()); }

std::string_view data_of(const command& c) {
  if (auto* r = std::get_if<publish_request>(&c.body)) return r->data;
  if (auto* r = std::get_if<send_request>(&c.body)) return r->data;
  if (auto* r = std::get_if<rpc_request>(&c.body)) return r->data;
  if (auto* r = std::get_if<connect_request>(&c.body)) return r->data;
  if (auto* r = std::get_if<subscribe_request>(&c.body)) return r->data;
  return {};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static command_parser parser;
  static command_parser padded_parser;
  std::vector<command> out;
  std::vector<command> out_padded;
  const std::string_view frame(reinterpret_cast<const char*>(data), size);
  const parse_result r = parser.parse(frame, out);

  std::string copy(frame);
  copy.append(command_parser::padding, ' ');
  const parse_result rp = padded_parser.parse_padded(std::string_view(copy.data(), size), out_padded);
  check(r.error == rp.error && r.commands == rp.commands && out.size() == out_padded.size());
  check(r.commands == out.size());
  if (!r.ok()) check(reaction(r.error).code == 3501);

  std::string wire;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const command& c = out[i];
    check(c.type() == out_padded[i].type() && c.id == out_padded[i].id);
    check(c.id != 0 || c.type() == method::send || c.type() == method::pong);
    const std::string_view d = data_of(c);
    if (!d.empty()) {
      check(d == data_of(out_padded[i]));
      check(valid_json(d));
      wire.clear();
      encode_publication_push(wire, "ch", {.data = d, .offset = c.id});
      check(valid_json(wire));
    }
    if (auto* s = std::get_if<subscribe_request>(&c.body)) {
      check(!s->channel.empty());
      wire.clear();
      encode_publication_push(wire, s->channel, {.data = "1"});
      check(valid_json(wire));
    }
  }
  return 0;
}
