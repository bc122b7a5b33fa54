// Fuzz target: a random Socket.IO text message through sio_decoder; a binary header gets its
// attachments from slices of the input. Oracles: no crash or sanitizer report; the decoder
// and decode_sio_packet() agree on errors; an accepted packet satisfies its type's payload
// rule, encodes without error, and its encoding (text + attachments) decodes back to an equal
// packet and re-encodes to the same text.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sio/codec/sio_decoder.h"

namespace {

using namespace duplex::sio::codec;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

// Feeds text then attachments until the packet completes; false on any decoder error.
bool receive(sio_decoder& d, std::string_view text, std::vector<binary_buffer> attachments,
             sio_packet& out) {
  auto r = d.feed_text(text, out);
  for (auto& a : attachments) {
    if (!r.ok() || r.complete) return false;
    r = d.feed_binary(std::move(a), out);
  }
  return r.ok() && r.complete;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  sio_decoder d;
  sio_packet p;
  auto r = d.feed_text(text, p);
  sio_packet direct;
  const sio_error direct_error = decode_sio_packet(text, direct);
  check(r.error == direct_error);
  if (!r.ok()) return 0;
  if (!r.complete) {
    check(d.awaiting_binary() && d.attachments_missing() == direct.attachments);
    check(direct.attachments >= 1 && direct.attachments <= d.limits().max_attachments);
    for (std::size_t k = 0; k < direct.attachments && !r.complete; ++k) {
      const std::string_view slice = text.substr(k % (size + 1), k % 5);
      r = d.feed_binary(slice, p);
      if (!r.ok()) return 0;  // placeholders that do not match the attachments
    }
    check(r.complete && !d.awaiting_binary());
  }

  check(p.attachments == 0);
  check(p.type != sio_packet_type::binary_event && p.type != sio_packet_type::binary_ack);
  check(check_sio_payload(p.type, p.data) == sio_error::none);
  check(!p.nsp.empty() && p.nsp.front() == '/');

  std::string encoded;
  std::vector<binary_buffer> attachments;
  check(encode_sio_packet(p, encoded, attachments) == sio_error::none);
  const std::size_t n = attachments.size();

  sio_decoder d2;
  sio_packet back;
  check(receive(d2, encoded, std::move(attachments), back));
  check(back == p);

  std::string encoded_again;
  check(encode_sio_packet(back, encoded_again, attachments) == sio_error::none);
  check(encoded_again == encoded && attachments.size() == n);
  return 0;
}
