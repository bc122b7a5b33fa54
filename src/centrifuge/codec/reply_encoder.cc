#include "centrifuge/codec/reply_encoder.h"

#include "centrifuge/codec/result_writer.h"

namespace duplex::centrifuge {

namespace {

using sink = json::string_sink;

// Writes {"id":N,"<name>": and returns the sink for the result object; close with "}".
sink open_reply(std::string& out, std::uint32_t id, std::string_view name) {
  sink s{out};
  s.put(std::string_view("{\"id\":"));
  json::uint(s, id);
  s.put(std::string_view(",\""));
  s.put(name);
  s.put(std::string_view("\":"));
  return s;
}

void empty_reply(std::string& out, std::uint32_t id, std::string_view name) {
  sink s = open_reply(out, id, name);
  s.put(std::string_view("{}}"));
}

}  // namespace

void encode_error_reply(std::string& out, std::uint32_t id, const error_info& e) {
  sink s = open_reply(out, id, "error");
  json::object<sink> o(s);
  json::uint(o.key("code"), e.code);
  o.str("message", e.message);
  o.flag("temporary", e.temporary);
  o.end();
  s.put('}');
}

void encode_connect_reply(std::string& out, std::uint32_t id, const connect_result& r) {
  sink s = open_reply(out, id, "connect");
  detail::write_connect_result(s, r);
  s.put('}');
}

void encode_subscribe_reply(std::string& out, std::uint32_t id, const subscribe_result& r) {
  sink s = open_reply(out, id, "subscribe");
  detail::write_subscribe_result(s, r);
  s.put('}');
}

void encode_unsubscribe_reply(std::string& out, std::uint32_t id) { empty_reply(out, id, "unsubscribe"); }
void encode_publish_reply(std::string& out, std::uint32_t id) { empty_reply(out, id, "publish"); }
void encode_ping_reply(std::string& out, std::uint32_t id) { empty_reply(out, id, "ping"); }

void encode_presence_reply(std::string& out, std::uint32_t id, std::span<const client_info> clients) {
  sink s = open_reply(out, id, "presence");
  json::object<sink> o(s);
  json::object<sink> m(o.key("presence"));
  for (const client_info& c : clients) detail::write_client_info(m.key_escaped(c.client), c);
  m.end();
  o.end();
  s.put('}');
}

void encode_presence_stats_reply(std::string& out, std::uint32_t id, const presence_stats_result& r) {
  sink s = open_reply(out, id, "presence_stats");
  json::object<sink> o(s);
  // Counts are always written: 0 clients is an answer, not an absent field.
  json::uint(o.key("num_clients"), r.num_clients);
  json::uint(o.key("num_users"), r.num_users);
  o.end();
  s.put('}');
}

void encode_history_reply(std::string& out, std::uint32_t id, const history_result& r) {
  sink s = open_reply(out, id, "history");
  json::object<sink> o(s);
  detail::write_publications(o, r.publications);
  o.str("epoch", r.epoch);
  o.u64("offset", r.offset);
  o.end();
  s.put('}');
}

void encode_rpc_reply(std::string& out, std::uint32_t id, std::string_view data_json) {
  sink s = open_reply(out, id, "rpc");
  json::object<sink> o(s);
  o.raw("data", data_json);
  o.end();
  s.put('}');
}

void encode_refresh_reply(std::string& out, std::uint32_t id, const refresh_result& r) {
  sink s = open_reply(out, id, "refresh");
  json::object<sink> o(s);
  o.str("client", r.client);
  o.str("version", r.version);
  o.flag("expires", r.expires);
  o.u64("ttl", r.ttl);
  o.end();
  s.put('}');
}

void encode_sub_refresh_reply(std::string& out, std::uint32_t id, const sub_refresh_result& r) {
  sink s = open_reply(out, id, "sub_refresh");
  json::object<sink> o(s);
  o.flag("expires", r.expires);
  o.u64("ttl", r.ttl);
  o.end();
  s.put('}');
}

}  // namespace duplex::centrifuge
