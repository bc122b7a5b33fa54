// Internal to the codec: writers of the JSON objects that replies and pushes share
// (ClientInfo, Publication, SubscribeResult, ConnectResult), templated on the sink
// (json_writer.h) so that the publication push can be measured and then written in place.
#pragma once

#include "centrifuge/codec/json_writer.h"
#include "centrifuge/codec/results.h"

namespace duplex::centrifuge::detail {

template <class Sink>
void write_client_info(Sink& out, const client_info& i) {
  json::object<Sink> o(out);
  o.str("user", i.user);
  o.str("client", i.client);
  o.raw("conn_info", i.conn_info);
  o.raw("chan_info", i.chan_info);
  o.end();
}

template <class Sink>
void write_publication(Sink& out, const publication& p) {
  json::object<Sink> o(out);
  o.raw("data", p.data);
  if (p.info) write_client_info(o.key("info"), *p.info);
  o.u64("offset", p.offset);
  if (!p.tags.empty()) {
    json::object<Sink> t(o.key("tags"));
    for (const tag& kv : p.tags) json::string(t.key_escaped(kv.key), kv.value);
    t.end();
  }
  o.flag("delta", p.delta);
  o.end();
}

template <class Sink>
void write_publications(json::object<Sink>& o, std::span<const publication> pubs) {
  if (pubs.empty()) return;
  Sink& out = o.key("publications");
  out.put('[');
  for (std::size_t i = 0; i < pubs.size(); ++i) {
    if (i) out.put(',');
    write_publication(out, pubs[i]);
  }
  out.put(']');
}

template <class Sink>
void write_subscribe_result(Sink& out, const subscribe_result& r) {
  json::object<Sink> o(out);
  o.flag("expires", r.expires);
  o.u64("ttl", r.ttl);
  o.flag("recoverable", r.recoverable);
  o.str("epoch", r.epoch);
  write_publications(o, r.publications);
  o.flag("recovered", r.recovered);
  o.u64("offset", r.offset);
  o.flag("positioned", r.positioned);
  o.raw("data", r.data);
  o.flag("was_recovering", r.was_recovering);
  o.flag("delta", r.delta);
  o.end();
}

template <class Sink>
void write_connect_result(Sink& out, const connect_result& r) {
  json::object<Sink> o(out);
  o.str("client", r.client);
  o.str("version", r.version);
  o.flag("expires", r.expires);
  o.u64("ttl", r.ttl);
  o.raw("data", r.data);
  if (!r.subs.empty()) {
    json::object<Sink> subs(o.key("subs"));
    for (const auto& s : r.subs) write_subscribe_result(subs.key_escaped(s.channel), s.result);
    subs.end();
  }
  o.u64("ping", r.ping);
  o.flag("pong", r.pong);
  o.str("session", r.session);
  o.str("node", r.node);
  o.end();
}

// {"push":{"channel":c,"pub":{...}}}
template <class Sink>
void write_publication_push(Sink& out, std::string_view channel, const publication& p) {
  out.put(std::string_view("{\"push\":{\"channel\":"));
  json::string(out, channel);
  out.put(std::string_view(",\"pub\":"));
  write_publication(out, p);
  out.put(std::string_view("}}"));
}

}  // namespace duplex::centrifuge::detail
