// wire.h's command encoders: {"id":N,"<method>":{...}} with the Centrifugo codec's JSON writer
// (the same escaping as the server's replies). Fields at their proto3 default are left out.
#include "centrifuge/codec/json_writer.h"
#include "client/wire.h"

namespace duplex::sdk::wire {

namespace {

namespace json = centrifuge::json;
using sink = json::string_sink;
using obj = json::object<sink>;

// Writes {"id":N,"<method>": and returns the sink; close with close().
struct command {
  std::string out;
  sink s{out};
  command(std::uint32_t id, std::string_view method) {
    out.reserve(96);
    s.put(std::string_view("{\"id\":"));
    json::uint(s, id);
    s.put(std::string_view(",\""));
    s.put(method);
    s.put(std::string_view("\":"));
  }
  std::string close() {
    s.put('}');
    return std::move(out);
  }
};

void write_subscribe_fields(obj& o, const subscribe_args& a, bool with_channel) {
  if (with_channel) o.str("channel", a.channel);
  o.str("token", a.token);
  o.raw("data", a.data);
  if (a.recover) {
    o.flag("recover", true);
    o.u64("offset", a.offset);
    o.str("epoch", a.epoch);
  }
  o.flag("join_leave", a.join_leave);
}

std::string channel_only(std::uint32_t id, std::string_view method, std::string_view channel) {
  command c(id, method);
  obj o(c.s);
  o.str("channel", channel);
  o.end();
  return c.close();
}

}  // namespace

std::string encode_connect(std::uint32_t id, std::string_view token, std::string_view name,
                           std::string_view version,
                           const std::vector<std::pair<std::string, subscribe_args>>& subs) {
  command c(id, "connect");
  obj o(c.s);
  o.str("token", token);
  o.str("name", name);
  o.str("version", version);
  if (!subs.empty()) {
    obj m(o.key("subs"));
    for (const auto& [channel, a] : subs) {
      obj s(m.key_escaped(channel));
      write_subscribe_fields(s, a, false);
      s.end();
    }
    m.end();
  }
  o.end();
  return c.close();
}

std::string encode_subscribe(std::uint32_t id, const subscribe_args& a) {
  command c(id, "subscribe");
  obj o(c.s);
  write_subscribe_fields(o, a, true);
  o.end();
  return c.close();
}

std::string encode_unsubscribe(std::uint32_t id, std::string_view channel) {
  return channel_only(id, "unsubscribe", channel);
}

std::string encode_publish(std::uint32_t id, std::string_view channel, std::string_view data) {
  command c(id, "publish");
  obj o(c.s);
  o.str("channel", channel);
  o.raw("data", data);
  o.end();
  return c.close();
}

std::string encode_presence(std::uint32_t id, std::string_view channel) {
  return channel_only(id, "presence", channel);
}

std::string encode_presence_stats(std::uint32_t id, std::string_view channel) {
  return channel_only(id, "presence_stats", channel);
}

std::string encode_history(std::uint32_t id, std::string_view channel, const history_options& h) {
  command c(id, "history");
  obj o(c.s);
  o.str("channel", channel);
  if (h.limit != 0) json::integer(o.key("limit"), h.limit);
  if (h.since_offset) {
    obj s(o.key("since"));
    s.u64("offset", *h.since_offset);
    s.str("epoch", h.since_epoch);
    s.end();
  }
  o.flag("reverse", h.reverse);
  o.end();
  return c.close();
}

std::string encode_rpc(std::uint32_t id, std::string_view method, std::string_view data) {
  command c(id, "rpc");
  obj o(c.s);
  o.str("method", method);
  o.raw("data", data);
  o.end();
  return c.close();
}

std::string encode_send(std::string_view data) {
  std::string out;
  sink s{out};
  s.put(std::string_view("{\"send\":"));
  obj o(s);
  o.raw("data", data);
  o.end();
  s.put('}');
  return out;
}

std::string encode_refresh(std::uint32_t id, std::string_view token) {
  command c(id, "refresh");
  obj o(c.s);
  o.str("token", token);
  o.end();
  return c.close();
}

}  // namespace duplex::sdk::wire
