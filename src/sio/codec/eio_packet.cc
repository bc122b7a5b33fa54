// Engine.IO v4 packet parsing and encoding (WebSocket frames and polling payloads).
#include "sio/codec/eio_packet.h"

#include "base/utf8.h"
#include "sio/codec/base64.h"

namespace duplex::sio::codec {

std::string_view to_string(eio_packet_type t) noexcept {
  switch (t) {
    case eio_packet_type::open: return "open";
    case eio_packet_type::close: return "close";
    case eio_packet_type::ping: return "ping";
    case eio_packet_type::pong: return "pong";
    case eio_packet_type::message: return "message";
    case eio_packet_type::upgrade: return "upgrade";
    case eio_packet_type::noop: return "noop";
  }
  return "unknown";
}

std::string_view to_string(eio_error e) noexcept {
  switch (e) {
    case eio_error::none: return "no error";
    case eio_error::empty_packet: return "empty packet";
    case eio_error::unknown_type: return "unknown packet type";
    case eio_error::bad_base64: return "binary packet is not valid base64";
    case eio_error::invalid_utf8: return "payload is not valid UTF-8";
  }
  return "unknown error";
}

eio_error parse_eio_packet(std::string_view text, eio_packet_view& out, std::string& scratch) {
  if (text.empty()) return eio_error::empty_packet;
  const char c = text.front();
  if (c == 'b') {
    scratch.clear();
    if (!base64_decode_append(text.substr(1), scratch)) return eio_error::bad_base64;
    out = {eio_packet_type::message, scratch, true};
    return eio_error::none;
  }
  if (c < '0' || c > '6') return eio_error::unknown_type;
  out = {static_cast<eio_packet_type>(c - '0'), text.substr(1), false};
  return eio_error::none;
}

void append_eio_text_frame(std::string& out, eio_packet_type type, std::string_view data) {
  out.reserve(out.size() + 1 + data.size());
  out.push_back(static_cast<char>('0' + static_cast<int>(type)));
  out.append(data);
}

bool eio_payload_reader::fail(eio_error e, std::size_t offset) noexcept {
  error_ = e;
  error_offset_ = offset;
  done_ = true;
  return false;
}

bool eio_payload_reader::next(eio_packet_view& out) {
  if (done_) return false;
  if (!started_) {
    started_ = true;
    // One pass over the whole body; 0x1E never occurs inside a multi-byte UTF-8 sequence
    // (continuation and lead bytes are >= 0x80), so splitting on it afterwards is safe.
    if (!is_valid_utf8(body_)) return fail(eio_error::invalid_utf8, 0);
  }
  const std::size_t offset = body_.size() - rest_.size();
  const std::size_t sep = rest_.find(eio_record_separator);
  const std::string_view segment = rest_.substr(0, sep);
  if (sep == std::string_view::npos) {
    done_ = true;  // last segment
  } else {
    rest_.remove_prefix(sep + 1);
  }
  const eio_error e = parse_eio_packet(segment, out, scratch_);
  if (e != eio_error::none) return fail(e, offset);
  return true;
}

std::size_t eio_payload_packet_size(const eio_packet_view& p) noexcept {
  return 1 + (p.binary ? base64_encoded_size(p.data.size()) : p.data.size());
}

void append_eio_payload_packet(std::string& payload, const eio_packet_view& p) {
  if (!payload.empty()) payload.push_back(eio_record_separator);
  if (p.binary) {
    payload.push_back('b');
    base64_append(payload, p.data);
  } else {
    append_eio_text_frame(payload, p.type, p.data);
  }
}

}  // namespace duplex::sio::codec
