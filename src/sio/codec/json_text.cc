#include "sio/codec/json_text.h"

#include <simdjson.h>

#include <array>
#include <charconv>
#include <cstdint>

#include "base/utf8.h"

namespace duplex::sio::codec {
namespace {

using json = nlohmann::json;
namespace dom = simdjson::dom;

// Copies a simdjson DOM value into nlohmann values. Depth is bounded by the caller's prescan.
bool convert(dom::element e, json& out) {
  switch (e.type()) {
    case dom::element_type::ARRAY: {
      out = json::array();
      json::array_t& a = out.get_ref<json::array_t&>();
      const dom::array arr = e.get_array().value_unsafe();  // (a local, as for objects)
      a.reserve(arr.size());
      for (dom::element x : arr) {
        if (!convert(x, a.emplace_back())) return false;
      }
      return true;
    }
    case dom::element_type::OBJECT: {
      out = json::object();
      json::object_t& o = out.get_ref<json::object_t&>();
      const dom::object obj = e.get_object().value_unsafe();  // not a temporary: the loop
      for (dom::key_value_pair kv : obj) {                      // would outlive it
        // A repeated key keeps its last value, as nlohmann's parser does.
        if (!convert(kv.value, o[std::string(kv.key)])) return false;
      }
      return true;
    }
    case dom::element_type::INT64: {
      // nlohmann reads a non-negative integer as unsigned: keep its types exactly.
      const std::int64_t n = e.get_int64().value_unsafe();
      if (n >= 0) {
        out = static_cast<std::uint64_t>(n);
      } else {
        out = n;
      }
      return true;
    }
    case dom::element_type::UINT64: out = e.get_uint64().value_unsafe(); return true;
    case dom::element_type::DOUBLE: out = e.get_double().value_unsafe(); return true;
    case dom::element_type::STRING: out = std::string(e.get_string().value_unsafe()); return true;
    case dom::element_type::BOOL: out = e.get_bool().value_unsafe(); return true;
    case dom::element_type::NULL_VALUE: out = nullptr; return true;
  }
  return false;
}

// Characters that need an escape in a JSON string: '"', '\\' and controls below 0x20.
constexpr std::array<bool, 256> needs_escape = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[static_cast<std::size_t>(c)] = true;
  t['"'] = true;
  t['\\'] = true;
  return t;
}();

void append_string(std::string& out, const std::string& s) {
  if (!is_valid_utf8(s)) {
    // nlohmann's `replace` handling (U+FFFD for each bad sequence), exactly.
    out += json(s).dump(-1, ' ', false, json::error_handler_t::replace);
    return;
  }
  out.push_back('"');
  const char* p = s.data();
  const char* const end = p + s.size();
  while (p < end) {
    const char* run = p;
    while (p < end && !needs_escape[static_cast<unsigned char>(*p)]) ++p;
    out.append(run, static_cast<std::size_t>(p - run));
    if (p == end) break;
    const auto c = static_cast<unsigned char>(*p++);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        static constexpr char hex[] = "0123456789abcdef";
        const char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        out.append(u, sizeof u);
      }
    }
  }
  out.push_back('"');
}

template <class Int>
void append_integer(std::string& out, Int n) {
  std::array<char, 24> buf;
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), n);
  out.append(buf.data(), r.ptr);
}

void append_value(std::string& out, const json& v) {
  switch (v.type()) {
    case json::value_t::null: out += "null"; return;
    case json::value_t::boolean: out += v.get<bool>() ? "true" : "false"; return;
    case json::value_t::number_integer: append_integer(out, v.get<std::int64_t>()); return;
    case json::value_t::number_unsigned: append_integer(out, v.get<std::uint64_t>()); return;
    case json::value_t::string: append_string(out, v.get_ref<const std::string&>()); return;
    case json::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const json& x : v.get_ref<const json::array_t&>()) {
        if (!first) out.push_back(',');
        first = false;
        append_value(out, x);
      }
      out.push_back(']');
      return;
    }
    case json::value_t::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [k, x] : v.get_ref<const json::object_t&>()) {
        if (!first) out.push_back(',');
        first = false;
        append_string(out, k);
        out.push_back(':');
        append_value(out, x);
      }
      out.push_back('}');
      return;
    }
    default:  // doubles (nlohmann's shortest form and "null" for non-finite), binary, discarded
      out += v.dump(-1, ' ', false, json::error_handler_t::replace);
      return;
  }
}

}  // namespace

bool parse_json_text(std::string_view text, json& out) {
  // One parser and one padded copy per thread: no allocation per parse once warm.
  thread_local dom::parser parser;
  thread_local std::string padded;
  if (padded.capacity() < text.size() + simdjson::SIMDJSON_PADDING) {
    padded.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  }
  padded.assign(text);  // within the capacity: simdjson may read the padding past the end
  dom::element root;
  const simdjson::error_code e = parser.parse(padded.data(), text.size(), false).get(root);
  if (e == simdjson::SUCCESS) return convert(root, out);
  // Refused: almost always invalid JSON. But integers past 64 bits and numbers out of double
  // range are JSON that nlohmann reads (as doubles, as JavaScript does): it has the last word.
  out = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  return !out.is_discarded();
}

void append_json_text(std::string& out, const json& v) { append_value(out, v); }

}  // namespace duplex::sio::codec
