#include "server/event_id.h"

#include <charconv>
#include <cstdint>

namespace duplex::service {

namespace {

bool epoch_char(char c) noexcept { return c >= 0x21 && c <= 0x7e && c != ',' && c != ':'; }

// Parses one entry; `e` has no ','. Returns false when it breaks the grammar.
bool parse_entry(std::string_view e, event_position& out) {
  if (e == "-") {
    out.reset();
    return true;
  }
  const std::size_t colon = e.find(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const std::string_view digits = e.substr(0, colon);
  const std::string_view epoch = e.substr(colon + 1);
  if (digits.size() > 1 && digits[0] == '0') return false;  // one spelling per offset
  std::uint64_t offset = 0;
  const char* end = digits.data() + digits.size();
  auto [p, ec] = std::from_chars(digits.data(), end, offset);
  if (ec != std::errc() || p != end) return false;  // non-digits, sign, overflow
  if (!encodable_epoch(epoch)) return false;
  out = hub::stream_position{offset, std::string(epoch)};
  return true;
}

}  // namespace

bool encodable_epoch(std::string_view epoch) noexcept {
  if (epoch.empty() || epoch.size() > max_epoch_length) return false;
  for (char c : epoch) {
    if (!epoch_char(c)) return false;
  }
  return true;
}

void append_event_id_entry(std::string& out, const event_position& p) {
  if (!p || !encodable_epoch(p->epoch)) {
    out += '-';
    return;
  }
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, p->offset);
  out.append(buf, end);
  out += ':';
  out += p->epoch;
}

std::string encode_event_id(std::span<const event_position> positions) {
  std::string out;
  out.reserve(positions.size() * 16);
  for (std::size_t i = 0; i < positions.size(); ++i) {
    if (i != 0) out += ',';
    append_event_id_entry(out, positions[i]);
  }
  if (out.empty()) out.push_back('-');  // no channel at all: still a valid, non-empty id
  return out;
}

std::optional<std::vector<event_position>> decode_event_id(std::string_view text,
                                                           std::size_t expected) {
  if (expected == 0 || text.empty()) return std::nullopt;
  // The longest valid id for `expected` entries bounds the work before any allocation.
  constexpr std::size_t max_entry = 20 + 1 + max_epoch_length;
  if (text.size() > expected * (max_entry + 1)) return std::nullopt;
  std::vector<event_position> out;
  out.reserve(expected);
  std::size_t pos = 0;
  for (;;) {
    if (out.size() == expected) return std::nullopt;  // more entries than channels
    const std::size_t comma = text.find(',', pos);
    const std::string_view entry =
        text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    if (!parse_entry(entry, out.emplace_back())) return std::nullopt;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  if (out.size() != expected) return std::nullopt;
  return out;
}

}  // namespace duplex::service
