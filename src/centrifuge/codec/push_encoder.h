// Asynchronous pushes, JSON (client.proto Push inside a Reply without id):
// {"push":{"channel":"c","pub":{...}}}. Like replies, each function appends one push without
// a separator (see reply_encoder.h, append_separator).
//
// Hot path: a publication is encoded once per channel and shared by every subscriber
// (STYLE.md rule 19). make_publication_push() measures the exact size, allocates one
// shared_payload and writes into it: one allocation, no intermediate string.
#pragma once

#include <string>
#include <string_view>

#include "base/shared_payload.h"
#include "centrifuge/codec/codes.h"
#include "centrifuge/codec/results.h"

namespace duplex::centrifuge {

void encode_publication_push(std::string& out, std::string_view channel, const publication& p);
// Exact byte size of encode_publication_push's output.
std::size_t publication_push_size(std::string_view channel, const publication& p);
// The same bytes as encode_publication_push, in one exactly sized shared allocation.
shared_payload make_publication_push(std::string_view channel, const publication& p);

void encode_join_push(std::string& out, std::string_view channel, const client_info& info);
void encode_leave_push(std::string& out, std::string_view channel, const client_info& info);
// {"push":{"channel":c,"unsubscribe":{"code":2000,"reason":"server unsubscribe"}}}
void encode_unsubscribe_push(std::string& out, std::string_view channel, std::uint32_t code,
                             std::string_view reason);
inline void encode_unsubscribe_push(std::string& out, std::string_view channel, unsubscribe_code c) {
  encode_unsubscribe_push(out, channel, static_cast<std::uint32_t>(c), unsubscribe_reason(c));
}
void encode_subscribe_push(std::string& out, std::string_view channel, const subscribe_push& s);
// Asynchronous message to the client (no channel): {"push":{"message":{"data":...}}}.
void encode_message_push(std::string& out, std::string_view data_json);
// {"push":{"disconnect":{"code":3001,"reason":"shutdown"}}}; the reconnect flag is not sent:
// protocol v2 clients derive it from the code (is_terminal_disconnect).
void encode_disconnect_push(std::string& out, const disconnect& d);
// Connect push of unidirectional transports: {"push":{"connect":{...ConnectResult...}}}.
void encode_connect_push(std::string& out, const connect_result& r);
void encode_refresh_push(std::string& out, bool expires, std::uint32_t ttl);

}  // namespace duplex::centrifuge
