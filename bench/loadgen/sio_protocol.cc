// sio_protocol: builders and classifier of the generator's Socket.IO dialect (see the header).
#include "sio_protocol.h"

#include <charconv>

namespace duplex::bench {
namespace {

void append_u64(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// Digits at the front of `s` as an ack id (socket.io-parser reads them greedily); false when
// there are none or they overflow.
bool eat_id(std::string_view& s, std::uint64_t& id) noexcept {
  if (s.empty() || s[0] < '0' || s[0] > '9') return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), id);
  if (r.ec != std::errc{}) return false;
  s.remove_prefix(static_cast<std::size_t>(r.ptr - s.data()));
  return true;
}

// The Socket.IO packet inside an Engine.IO message.
sio_info classify_socketio(std::string_view p) noexcept {
  sio_info info;
  if (p.empty()) return info;
  const char type = p[0];
  p.remove_prefix(1);
  // A namespace other than "/" would come next as "/nsp,": not ours.
  if (!p.empty() && p[0] == '/') return info;
  switch (type) {
    case '0':
      if (p.starts_with('{')) info.what = sio_info::kind::connected;
      return info;
    case '1':
      if (p.empty()) info.what = sio_info::kind::disconnect;
      return info;
    case '4':
      info.what = sio_info::kind::connect_error;
      info.rest = p;
      return info;
    case '2': {
      info.has_id = eat_id(p, info.id);
      if (!p.starts_with("[\"")) return info;
      // The name, when it is a plain string: up to the next quote, no escape inside.
      std::string_view after = p.substr(2);
      auto q = after.find_first_of("\"\\");
      if (q == std::string_view::npos) return info;
      info.what = sio_info::kind::event;
      if (after[q] == '"') {
        info.name = after.substr(0, q);
        info.rest = after.substr(q + 1);
      }
      return info;
    }
    case '3':
      if (!eat_id(p, info.id) || !p.starts_with('[')) return info;
      info.what = sio_info::kind::ack;
      info.has_id = true;
      info.rest = p;
      return info;
    default:
      return info;  // binary event/ack (5, 6): the scenarios send none
  }
}

}  // namespace

sio_info classify_sio(std::string_view frame) noexcept {
  sio_info info;
  if (frame.empty()) return info;
  switch (frame[0]) {
    case '0':
      if (frame.size() > 1 && frame[1] == '{') info.what = sio_info::kind::open;
      return info;
    case '1':
      info.what = sio_info::kind::close;
      return info;
    case '2':
      info.what = sio_info::kind::ping;  // "2" (a "2probe" is only sent during an upgrade)
      return info;
    case '4':
      return classify_socketio(frame.substr(1));
    case '6':
      info.what = sio_info::kind::noop;
      return info;
    default:
      return info;
  }
}

void append_sio_emit(std::string& out, std::uint64_t ack_id, std::string_view event,
                     std::string_view args) {
  out += "42";
  append_u64(out, ack_id);
  out += "[\"";
  out += event;
  out += '"';
  out += args;
  out += ']';
}

void append_sio_echo(std::string& out, std::uint64_t seq, std::string_view payload) {
  out += "42";
  append_u64(out, seq);
  out += R"(["echo",")";
  out += payload;
  out += "\"]";
}

void append_sio_echo_ack(std::string& out, std::uint64_t seq, std::string_view payload) {
  out += "43";
  append_u64(out, seq);
  out += "[\"";
  out += payload;
  out += "\"]";
}

void append_sio_to_room(std::string& out, std::uint64_t id, std::string_view room,
                        std::string_view data) {
  out += "42";
  append_u64(out, id);
  out += R"(["to-room",")";
  out += room;
  out += "\",";
  out += data;
  out += ']';
}

std::string_view parse_room_msg(const sio_info& info, line_info& li) noexcept {
  if (info.what != sio_info::kind::event || info.name != "room-msg") return {};
  std::string_view s = info.rest;
  if (!s.starts_with(",\"")) return {};
  s.remove_prefix(2);
  auto q = s.find_first_of("\"\\");
  if (q == std::string_view::npos || s[q] != '"' || q == 0) return {};
  std::string_view room = s.substr(0, q);
  s.remove_prefix(q + 1);
  if (!s.starts_with(',')) return {};
  s.remove_prefix(1);
  if (!parse_bench_data(s, li, 'x')) return {};
  li.what = line_info::kind::publication;
  return room;
}

}  // namespace duplex::bench
