// json_text: JSON text <-> nlohmann::json for Socket.IO payloads, faster than nlohmann's own
// parser and serializer (which read and write one character at a time through virtual
// adapters: two thirds of a Socket.IO echo's codec instructions under callgrind).
//
//   parse_json_text   simdjson (SIMD, validates UTF-8) builds a DOM, which is then copied into
//                     nlohmann values. Integers outside int64/uint64 fall back to nlohmann's
//                     parser (it reads them as doubles, as JavaScript does).
//   append_json_text  a tree walk writing strings with a run-length escape scan; the output is
//                     byte for byte what json::dump(-1, ' ', false, error_handler_t::replace)
//                     writes. Values it does not write itself (non-finite or non-integral
//                     doubles are still cheap to hand over; binary values; strings that are not
//                     valid UTF-8) are written by nlohmann, so the result never differs.
//
// Thread safety: parse_json_text uses one simdjson parser per thread.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace duplex::sio::codec {

// Parses one JSON text (RFC 8259, UTF-8) into `out`. false for anything invalid (then `out`
// is unspecified). The caller bounds nesting depth and size beforehand.
bool parse_json_text(std::string_view text, nlohmann::json& out);

// Appends `v` as compact JSON text (see above).
void append_json_text(std::string& out, const nlohmann::json& v);

}  // namespace duplex::sio::codec
