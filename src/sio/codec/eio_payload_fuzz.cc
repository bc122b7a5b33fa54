// Fuzz target: a random HTTP long-polling body through eio_payload_reader, and the same bytes
// as one WebSocket text frame through parse_eio_packet. Oracles: no crash or sanitizer
// report; re-encoding the packets read gives back the exact body (the decoder accepts only
// canonical forms), or, on error, exactly the body's bytes before the failing segment; the
// announced sizes equal what the encoder appends.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sio/codec/eio_packet.h"

namespace {

using namespace duplex::sio::codec;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  std::vector<eio_packet> packets;
  eio_payload_reader reader(body);
  eio_packet_view v;
  while (reader.next(v)) {
    check(!v.binary || v.type == eio_packet_type::message);
    check(static_cast<int>(v.type) <= 6);
    packets.push_back({v.type, std::string(v.data), v.binary});
  }
  check(!reader.next(v));

  std::string again;
  for (const eio_packet& p : packets) {
    const std::size_t before = again.size();
    const std::size_t expected = eio_payload_added_size(again, p.view());
    append_eio_payload_packet(again, p.view());
    check(again.size() - before == expected);
  }
  if (reader.ok()) {
    check(!packets.empty());
    check(again == body);
  } else {
    check(reader.error_offset() <= body.size());
    if (reader.error() == eio_error::invalid_utf8) {
      check(packets.empty() && reader.error_offset() == 0);
    } else if (reader.error_offset() == 0) {
      check(packets.empty());
    } else {
      // The good packets and their separators, without the separator before the bad segment.
      check(body[reader.error_offset() - 1] == eio_record_separator);
      check(again == body.substr(0, reader.error_offset() - 1));
    }
  }

  // The whole input as one WebSocket text frame.
  std::string scratch;
  const eio_error e = parse_eio_packet(body, v, scratch);
  if (e == eio_error::none) {
    std::string frame;
    if (v.binary) {
      append_eio_payload_packet(frame, v);  // "b" + base64, the form it was read from
    } else {
      append_eio_text_frame(frame, v.type, v.data);
    }
    check(frame == body);
  } else {
    check(body.empty() == (e == eio_error::empty_packet));
  }
  return 0;
}
