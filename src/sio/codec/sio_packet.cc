// Socket.IO v5 packet decoding, payload rules, binary placeholders and encoding.
#include "sio/codec/sio_packet.h"

#include "sio/codec/json_text.h"

#include <array>
#include <charconv>
#include <utility>

#include "base/utf8.h"

namespace duplex::sio::codec {

std::string_view to_string(sio_packet_type t) noexcept {
  switch (t) {
    case sio_packet_type::connect: return "CONNECT";
    case sio_packet_type::disconnect: return "DISCONNECT";
    case sio_packet_type::event: return "EVENT";
    case sio_packet_type::ack: return "ACK";
    case sio_packet_type::connect_error: return "CONNECT_ERROR";
    case sio_packet_type::binary_event: return "BINARY_EVENT";
    case sio_packet_type::binary_ack: return "BINARY_ACK";
  }
  return "UNKNOWN";
}

std::string_view to_string(sio_error e) noexcept {
  switch (e) {
    case sio_error::none: return "no error";
    case sio_error::empty_packet: return "empty packet";
    case sio_error::unknown_type: return "unknown packet type";
    case sio_error::bad_attachments: return "illegal attachments count";
    case sio_error::too_many_attachments: return "too many attachments";
    case sio_error::invalid_namespace: return "invalid namespace";
    case sio_error::ack_id_overflow: return "ack id out of range";
    case sio_error::nul_byte: return "NUL byte in payload";
    case sio_error::too_deep: return "payload nested too deep";
    case sio_error::malformed_json: return "payload is not valid JSON";
    case sio_error::bad_connect_payload: return "CONNECT payload must be an object";
    case sio_error::bad_disconnect_payload: return "DISCONNECT takes no payload";
    case sio_error::bad_event_payload:
      return "EVENT payload must be an array starting with the event name";
    case sio_error::bad_ack_payload: return "ACK payload must be an array";
    case sio_error::bad_connect_error_payload:
      return "CONNECT_ERROR payload must be an object or a string";
    case sio_error::unexpected_binary: return "binary data when no binary packet awaits it";
    case sio_error::unexpected_text: return "text packet while binary attachments are awaited";
    case sio_error::bad_placeholder: return "placeholder with an illegal attachment index";
    case sio_error::duplicate_placeholder: return "attachment referenced twice";
    case sio_error::unused_attachment: return "attachment not referenced by any placeholder";
    case sio_error::binary_not_allowed: return "binary data in a packet type that cannot carry it";
  }
  return "unknown error";
}

namespace {

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

constexpr bool is_binary_type(sio_packet_type t) noexcept {
  return t == sio_packet_type::binary_event || t == sio_packet_type::binary_ack;
}

// One pass before parsing: refuses raw NUL bytes and nesting deeper than `max_depth`. Exact
// for valid JSON; on invalid JSON its count may be off, but the parser rejects that anyway.
sio_error prescan_json(std::string_view text, std::size_t max_depth) noexcept {
  // Fast path (most payloads): no NUL, and too few brackets in all to nest past the limit.
  // Both are plain byte counts the compiler vectorizes; the state machine below is exact.
  if (text.find('\0') == std::string_view::npos) {
    std::size_t openers = 0;
    for (const char c : text) openers += static_cast<std::size_t>(c == '[' || c == '{');
    if (openers <= max_depth) return sio_error::none;
  }
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (c == '\0') return sio_error::nul_byte;
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return sio_error::too_deep;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return sio_error::none;
}

// The placeholder socket.io-parser writes for an attachment: {"_placeholder":true,"num":k}.
// It recognises any object whose "_placeholder" is true (other keys are ignored).
bool is_placeholder(const json& v) noexcept {
  if (!v.is_object()) return false;
  const auto it = v.find("_placeholder");
  return it != v.end() && it->is_boolean() && it->get<bool>();
}

struct reconstruction {
  std::vector<binary_buffer>& buffers;
  std::vector<bool> used;

  sio_error walk(json& v) {
    if (is_placeholder(v)) {
      const auto num = v.find("num");
      // JSON integers are stored unsigned when >= 0, signed when negative.
      if (num == v.end() || !num->is_number_unsigned()) return sio_error::bad_placeholder;
      const std::uint64_t k = num->get<std::uint64_t>();
      if (k >= buffers.size()) return sio_error::bad_placeholder;
      if (used[k]) return sio_error::duplicate_placeholder;
      used[k] = true;
      v = json::binary({});
      v.get_binary() = std::move(buffers[k]);  // keeps the subtype, unlike json::binary(&&)
      return sio_error::none;
    }
    if (v.is_array() || v.is_object()) {
      for (json& child : v) {
        const sio_error e = walk(child);
        if (e != sio_error::none) return e;
      }
    }
    return sio_error::none;
  }
};

bool contains_binary(const json& v) noexcept {
  if (v.is_binary()) return true;
  if (v.is_array() || v.is_object()) {
    for (const json& child : v) {
      if (contains_binary(child)) return true;
    }
  }
  return false;
}

// Replaces each binary value by its placeholder, moving the bytes to `out` in document order
// (nlohmann objects iterate in key order), which numbers the placeholders 0, 1, ...
void extract_binary(json& v, std::vector<binary_buffer>& out) {
  if (v.is_binary()) {
    const std::size_t k = out.size();
    out.push_back(std::move(v.get_binary()));
    v = json{{"_placeholder", true}, {"num", k}};
    return;
  }
  if (v.is_array() || v.is_object()) {
    for (json& child : v) extract_binary(child, out);
  }
}

bool valid_namespace_to_send(std::string_view nsp) noexcept {
  return !nsp.empty() && nsp.front() == '/' && nsp.find(',') == std::string_view::npos;
}

void append_number(std::string& out, std::uint64_t n) {
  std::array<char, 24> buf;
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), n);
  out.append(buf.data(), r.ptr);
}

void append_header(std::string& out, sio_packet_type type, std::size_t attachments,
                   std::string_view nsp, const std::optional<std::uint64_t>& ack_id) {
  out.push_back(static_cast<char>('0' + static_cast<int>(type)));
  if (is_binary_type(type)) {
    append_number(out, attachments);
    out.push_back('-');
  }
  if (nsp != "/") {
    out.append(nsp);
    out.push_back(',');
  }
  if (ack_id) append_number(out, *ack_id);
}

void append_json(std::string& out, const json& data) {
  if (data.is_null()) return;
  // `replace`: a server-built string that is not UTF-8 must not throw on the data path
  // (STYLE.md rule 12); decoded strings are always valid UTF-8.
  append_json_text(out, data);  // = data.dump(-1, ' ', false, error_handler_t::replace)
}

// The error for a payload that breaks `type`'s rule.
sio_error payload_error_of(sio_packet_type type) noexcept {
  switch (type) {
    case sio_packet_type::connect: return sio_error::bad_connect_payload;
    case sio_packet_type::disconnect: return sio_error::bad_disconnect_payload;
    case sio_packet_type::connect_error: return sio_error::bad_connect_error_payload;
    case sio_packet_type::event:
    case sio_packet_type::binary_event: return sio_error::bad_event_payload;
    case sio_packet_type::ack:
    case sio_packet_type::binary_ack: return sio_error::bad_ack_payload;
  }
  return sio_error::unknown_type;
}

}  // namespace

bool is_reserved_event_name(std::string_view name) noexcept {
  return name == "connect" || name == "connect_error" || name == "disconnect" ||
         name == "disconnecting" || name == "newListener" || name == "removeListener";
}

sio_error check_sio_payload(sio_packet_type type, const json& data) noexcept {
  switch (type) {
    case sio_packet_type::connect:
      return data.is_null() || data.is_object() ? sio_error::none
                                                : sio_error::bad_connect_payload;
    case sio_packet_type::disconnect:
      return data.is_null() ? sio_error::none : sio_error::bad_disconnect_payload;
    case sio_packet_type::connect_error:
      return data.is_object() || data.is_string() ? sio_error::none
                                                  : sio_error::bad_connect_error_payload;
    case sio_packet_type::event:
    case sio_packet_type::binary_event:
      return data.is_array() && !data.empty() &&
                     (data.front().is_string() || data.front().is_number())
                 ? sio_error::none
                 : sio_error::bad_event_payload;
    case sio_packet_type::ack:
    case sio_packet_type::binary_ack:
      return data.is_array() ? sio_error::none : sio_error::bad_ack_payload;
  }
  return sio_error::unknown_type;
}

sio_error decode_sio_packet(std::string_view text, sio_packet& out, const sio_limits& limits) {
  if (text.empty()) return sio_error::empty_packet;
  if (text[0] < '0' || text[0] > '6') return sio_error::unknown_type;
  out.type = static_cast<sio_packet_type>(text[0] - '0');
  out.attachments = 0;
  out.ack_id.reset();
  out.data = nullptr;
  std::size_t i = 1;

  if (is_binary_type(out.type)) {
    const std::size_t start = i;
    std::size_t n = 0;
    for (; i < text.size() && is_digit(text[i]); ++i) {
      n = n * 10 + static_cast<std::size_t>(text[i] - '0');
      if (n > limits.max_attachments) return sio_error::too_many_attachments;
    }
    if (i == start || i == text.size() || text[i] != '-' || n == 0) {
      return sio_error::bad_attachments;
    }
    out.attachments = n;
    ++i;
  }

  // A namespace runs from '/' to the next ',' (or to the end: socket.io-parser and
  // python-socketio accept and send "1/admin" without the comma).
  if (i < text.size() && text[i] == '/') {
    const std::size_t comma = text.find(',', i);
    const std::size_t end = comma == std::string_view::npos ? text.size() : comma;
    const std::string_view nsp = text.substr(i, end - i);
    if (!is_valid_utf8(nsp)) return sio_error::invalid_namespace;
    out.nsp.assign(nsp);
    i = comma == std::string_view::npos ? end : end + 1;
  } else {
    out.nsp.assign(1, '/');  // (assign("/") trips GCC 12's -Wrestrict false positive at -O3)
  }

  if (i < text.size() && is_digit(text[i])) {
    std::uint64_t id = 0;
    const auto r = std::from_chars(text.data() + i, text.data() + text.size(), id);
    if (r.ec == std::errc::result_out_of_range) return sio_error::ack_id_overflow;
    out.ack_id = id;
    i = static_cast<std::size_t>(r.ptr - text.data());
  }

  const std::string_view payload = text.substr(i);
  if (!payload.empty()) {
    if (out.type == sio_packet_type::disconnect) return sio_error::bad_disconnect_payload;
    if (const sio_error e = prescan_json(payload, limits.max_depth); e != sio_error::none) {
      return e;
    }
    if (!parse_json_text(payload, out.data)) {
      out.data = nullptr;
      return sio_error::malformed_json;
    }
    // "null" would read back as "no payload"; it is invalid for every type anyway.
    if (out.data.is_null()) return payload_error_of(out.type);
  }
  return check_sio_payload(out.type, out.data);
}

sio_error reconstruct_sio_packet(sio_packet& p, std::vector<binary_buffer>& buffers) {
  if (!is_binary_type(p.type) || buffers.size() != p.attachments) {
    return sio_error::bad_attachments;
  }
  reconstruction r{buffers, std::vector<bool>(buffers.size(), false)};
  if (const sio_error e = r.walk(p.data); e != sio_error::none) return e;
  for (const bool u : r.used) {
    if (!u) return sio_error::unused_attachment;
  }
  p.type = p.type == sio_packet_type::binary_event ? sio_packet_type::event : sio_packet_type::ack;
  p.attachments = 0;
  return sio_error::none;
}

sio_error encode_sio_packet(const sio_packet& p, std::string& out,
                            std::vector<binary_buffer>& attachments) {
  attachments.clear();
  if (!valid_namespace_to_send(p.nsp)) return sio_error::invalid_namespace;
  if (const sio_error e = check_sio_payload(p.type, p.data); e != sio_error::none) return e;
  const bool binary = contains_binary(p.data);
  sio_packet_type type = p.type;
  switch (type) {
    case sio_packet_type::event:
    case sio_packet_type::binary_event:
      type = binary ? sio_packet_type::binary_event : sio_packet_type::event;
      break;
    case sio_packet_type::ack:
    case sio_packet_type::binary_ack:
      type = binary ? sio_packet_type::binary_ack : sio_packet_type::ack;
      break;
    default:
      if (binary) return sio_error::binary_not_allowed;
  }
  if (!binary) {
    append_header(out, type, 0, p.nsp, p.ack_id);
    append_json(out, p.data);
    return sio_error::none;
  }
  // Binary is the rare case: copy the tree once and move each buffer out of the copy.
  json copy = p.data;
  extract_binary(copy, attachments);
  append_header(out, type, attachments.size(), p.nsp, p.ack_id);
  append_json(out, copy);
  return sio_error::none;
}

}  // namespace duplex::sio::codec
