// Minimal JSON output for the Centrifugo codec: string escaping, integers, raw JSON embedding,
// written into a "sink" so that one template serves three uses:
//   - string_sink: appends to a std::string (replies, most pushes);
//   - count_sink: measures the exact output size first;
//   - span_sink: writes into a buffer of that exact size (the publication push is encoded
//     once into one shared_payload allocation, STYLE.md rule 19).
// Strings are UTF-8 and passed through unchanged; only '"', '\\' and control characters
// (< 0x20) are escaped (RFC 8259 §7). Callers pass valid UTF-8 (what the parser accepted, or
// server-side names). Raw JSON (`data`, `conn_info`, ...) is embedded as-is: it must be valid
// JSON (the parser validated client data; other sources are the caller's contract).
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace duplex::centrifuge::json {

struct string_sink {
  std::string& out;
  void put(char c) { out.push_back(c); }
  void put(std::string_view s) { out.append(s); }
};

struct count_sink {
  std::size_t size = 0;
  void put(char) noexcept { ++size; }
  void put(std::string_view s) noexcept { size += s.size(); }
};

// Writes into a buffer the caller sized with count_sink; never checks bounds.
struct span_sink {
  char* at;
  void put(char c) noexcept { *at++ = c; }
  void put(std::string_view s) noexcept {
    if (!s.empty()) std::memcpy(at, s.data(), s.size());
    at += s.size();
  }
};

namespace detail {
// 0: copy as is; otherwise the character after '\\' ('u' for \u00XX).
inline constexpr auto escape_table = [] {
  struct table { char v[256]; } t{};
  for (int c = 0; c < 0x20; ++c) t.v[c] = 'u';
  t.v[static_cast<unsigned char>('\b')] = 'b';
  t.v[static_cast<unsigned char>('\f')] = 'f';
  t.v[static_cast<unsigned char>('\n')] = 'n';
  t.v[static_cast<unsigned char>('\r')] = 'r';
  t.v[static_cast<unsigned char>('\t')] = 't';
  t.v[static_cast<unsigned char>('"')] = '"';
  t.v[static_cast<unsigned char>('\\')] = '\\';
  return t;
}();
}  // namespace detail

// Appends s between double quotes, escaped. Runs without special characters are copied in one
// piece.
template <class Sink>
void string(Sink& out, std::string_view s) {
  out.put('"');
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char e = detail::escape_table.v[static_cast<unsigned char>(s[i])];
    if (e == 0) continue;
    out.put(s.substr(run, i - run));
    run = i + 1;
    if (e == 'u') {
      static constexpr char hex[] = "0123456789abcdef";
      const auto c = static_cast<unsigned char>(s[i]);
      const char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      out.put(std::string_view(u, 6));
    } else {
      const char two[2] = {'\\', e};
      out.put(std::string_view(two, 2));
    }
  }
  out.put(s.substr(run));
  out.put('"');
}

template <class Sink>
void uint(Sink& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.put(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
}

template <class Sink>
void integer(Sink& out, std::int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.put(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
}

template <class Sink>
void boolean(Sink& out, bool v) {
  out.put(v ? std::string_view("true") : std::string_view("false"));
}

// Object writer that tracks the separating commas of one object level. Keys are literals
// written by this codec (plain ASCII, no escaping needed); string keys from data go through
// key_escaped().
template <class Sink>
class object {
 public:
  explicit object(Sink& out) : out_(out) { out_.put('{'); }
  void end() { out_.put('}'); }

  Sink& key(std::string_view literal) {
    out_.put(first_ ? std::string_view("\"") : std::string_view(",\""));
    first_ = false;
    out_.put(literal);
    out_.put(std::string_view("\":"));
    return out_;
  }
  Sink& key_escaped(std::string_view k) {
    if (!first_) out_.put(',');
    first_ = false;
    json::string(out_, k);
    out_.put(':');
    return out_;
  }
  // Fields that proto3 JSON omits when they hold their default value.
  void str(std::string_view k, std::string_view v) {
    if (!v.empty()) json::string(key(k), v);
  }
  void u64(std::string_view k, std::uint64_t v) {
    if (v != 0) json::uint(key(k), v);
  }
  void flag(std::string_view k, bool v) {
    if (v) key(k).put(std::string_view("true"));
  }
  void raw(std::string_view k, std::string_view json_text) {
    if (!json_text.empty()) key(k).put(json_text);
  }

 private:
  Sink& out_;
  bool first_ = true;
};

}  // namespace duplex::centrifuge::json
