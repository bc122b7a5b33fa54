// envelope: how publications, join/leave events and presence entries travel through Redis
// (Pub/Sub messages, Stream entries, presence hash values). Sans-I/O: bytes in, a value or an
// error out (STYLE.md rule 2). Redis is a network peer, so decode() trusts nothing: every
// length is checked against what is left, numbers are canonical decimals, the channel must be
// a valid channel name, and the input must be consumed exactly.
//
// Format (docs/redis.md, "Envelope"):
//   envelope   = "D1" kind ...
//   kind "p"   = num(offset) str(epoch) str(channel) str(data) info tags     publication
//   kind "j"   = str(channel) client                                         join
//   kind "l"   = str(channel) client                                         leave
//   kind "c"   = client                                                      presence entry
//   kind "f"   = str(from_node) num(id) str(service) str(session) str(body)  forwarded request
//   kind "r"   = num(id) num(status) str(content_type) str(body)             its response
//   info       = "-" | "+" client
//   client     = str(client_id) str(user_id) str(conn_info) str(chan_info)
//   tags       = num(count) count * (str(key) str(value))
//   str(s)     = decimal(len(s)) ":" s      (netstring without the trailing comma)
//   num(n)     = str(decimal(n))            e.g. offset 42 is "2:42"
// decimal = "0" or [1-9][0-9]*, at most 19 digits (fits int64). The publish script builds the
// "D1p" num(offset) str(epoch) head itself (it assigns both) and appends the rest, which the
// node encodes once (encode_publication_body): that is why offset and epoch come first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "hub/publication.h"

namespace duplex::redis {

enum class envelope_kind : std::uint8_t { publication, join, leave, client, request, response };

enum class envelope_error : std::uint8_t {
  ok = 0,
  bad_magic,     // not "D1" + a known kind byte
  truncated,     // a field or length runs past the end
  bad_number,    // a length or number that is not a canonical decimal, or overflows
  bad_channel,   // channel fails hub::parse_channel
  bad_marker,    // info marker neither '-' nor '+'
  too_many_tags, // count larger than the bytes left could hold
  trailing,      // bytes left after the last field
};

std::string_view to_string(envelope_error e) noexcept;

// A request forwarded to the node that owns a session, or its response (node_bus.h). Node
// topics only: a channel topic carrying one is refused.
struct forwarded {
  std::string from;          // request: the node to answer
  std::uint64_t id = 0;      // request id, chosen by the sender, echoed by the response
  std::string service;       // request: which handler ("eio", "emulation", ...)
  std::string session;       // request: the session it is for
  std::uint64_t status = 0;  // response: HTTP-like status (at most 999)
  std::string content_type;  // response
  std::string body;
};

// The decoded value; which members are meaningful depends on kind.
struct envelope {
  envelope_kind kind = envelope_kind::publication;
  hub::publication pub;  // publication: channel, offset, epoch, data, info, tags
  std::string channel;   // join/leave: the channel
  hub::client_info who;  // join/leave/client: the client
  forwarded fwd;         // request/response
};

// Decodes one envelope. On error, `out` is left in an unspecified state.
envelope_error decode(std::string_view bytes, envelope& out);

// The tail of a publication envelope, after the offset and epoch: str(channel) str(data) info
// tags. Appended to `out`.
void encode_publication_body(const hub::publication& pub, std::string& out);
// A whole publication envelope (for publications without history: offset 0, epoch "").
std::string encode_publication(const hub::publication& pub);
// The head the publish script writes: "D1p" num(offset) str(epoch). For tests and for
// publications that get no offset.
std::string encode_publication_head(std::uint64_t offset, std::string_view epoch);
std::string encode_join(std::string_view channel, const hub::client_info& who);
std::string encode_leave(std::string_view channel, const hub::client_info& who);
std::string encode_client(const hub::client_info& who);
std::string encode_request(const forwarded& f);
std::string encode_response(const forwarded& f);

}  // namespace duplex::redis
