#include "centrifuge/codec/push_encoder.h"

#include "base/assert.h"
#include "centrifuge/codec/result_writer.h"

namespace duplex::centrifuge {

namespace {

using sink = json::string_sink;

// Writes {"push":{["channel":c,]"<name>": ; close the push with "}}".
sink open_push(std::string& out, std::string_view channel, std::string_view name) {
  sink s{out};
  s.put(std::string_view("{\"push\":{"));
  if (!channel.empty()) {
    s.put(std::string_view("\"channel\":"));
    json::string(s, channel);
    s.put(',');
  }
  s.put('"');
  s.put(name);
  s.put(std::string_view("\":"));
  return s;
}

void info_push(std::string& out, std::string_view channel, std::string_view name,
               const client_info& info) {
  sink s = open_push(out, channel, name);
  json::object<sink> o(s);
  detail::write_client_info(o.key("info"), info);
  o.end();
  s.put(std::string_view("}}"));
}

}  // namespace

void encode_publication_push(std::string& out, std::string_view channel, const publication& p) {
  out.reserve(out.size() + publication_push_size(channel, p));
  sink s{out};
  detail::write_publication_push(s, channel, p);
}

std::size_t publication_push_size(std::string_view channel, const publication& p) {
  json::count_sink c;
  detail::write_publication_push(c, channel, p);
  return c.size;
}

shared_payload make_publication_push(std::string_view channel, const publication& p) {
  const std::size_t n = publication_push_size(channel, p);
  shared_payload buf = shared_payload::allocate(n);
  json::span_sink s{reinterpret_cast<char*>(buf.mutable_bytes().data())};
  detail::write_publication_push(s, channel, p);
  DUPLEX_ASSERT(s.at == reinterpret_cast<char*>(buf.mutable_bytes().data()) + n);
  return buf;
}

void encode_join_push(std::string& out, std::string_view channel, const client_info& info) {
  info_push(out, channel, "join", info);
}

void encode_leave_push(std::string& out, std::string_view channel, const client_info& info) {
  info_push(out, channel, "leave", info);
}

void encode_unsubscribe_push(std::string& out, std::string_view channel, std::uint32_t code,
                             std::string_view reason) {
  sink s = open_push(out, channel, "unsubscribe");
  json::object<sink> o(s);
  o.u64("code", code);
  o.str("reason", reason);
  o.end();
  s.put(std::string_view("}}"));
}

void encode_subscribe_push(std::string& out, std::string_view channel, const subscribe_push& p) {
  sink s = open_push(out, channel, "subscribe");
  json::object<sink> o(s);
  o.flag("recoverable", p.recoverable);
  o.str("epoch", p.epoch);
  o.u64("offset", p.offset);
  o.flag("positioned", p.positioned);
  o.raw("data", p.data);
  o.end();
  s.put(std::string_view("}}"));
}

void encode_message_push(std::string& out, std::string_view data_json) {
  sink s = open_push(out, {}, "message");
  json::object<sink> o(s);
  o.raw("data", data_json);
  o.end();
  s.put(std::string_view("}}"));
}

void encode_disconnect_push(std::string& out, const disconnect& d) {
  sink s = open_push(out, {}, "disconnect");
  json::object<sink> o(s);
  o.u64("code", d.code);
  o.str("reason", d.reason);
  o.end();
  s.put(std::string_view("}}"));
}

void encode_connect_push(std::string& out, const connect_result& r) {
  sink s = open_push(out, {}, "connect");
  detail::write_connect_result(s, r);
  s.put(std::string_view("}}"));
}

void encode_refresh_push(std::string& out, bool expires, std::uint32_t ttl) {
  sink s = open_push(out, {}, "refresh");
  json::object<sink> o(s);
  o.flag("expires", expires);
  o.u64("ttl", ttl);
  o.end();
  s.put(std::string_view("}}"));
}

}  // namespace duplex::centrifuge
