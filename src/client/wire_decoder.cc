// wire::decoder: the server's JSON frames -> owned replies and pushes (wire.h). Parsed with
// simdjson's DOM API (the client reads one frame at a time; the DOM keeps this simple), with
// error codes only: malformed input yields a message, never an exception or a crash.
#include <simdjson.h>

#include <limits>

#include "client/wire.h"

namespace duplex::sdk::wire {

namespace {

namespace dom = simdjson::dom;
using std::string_view;

// A field of the wrong type makes the whole frame malformed: the server is ours or Centrifugo,
// so a type mismatch means a broken peer, not a newer protocol.
struct reader {
  std::string err;

  bool fail(string_view what) {
    if (err.empty()) err = std::string(what);
    return false;
  }
  bool u64(dom::element v, std::uint64_t& out, string_view what) {
    if (v.get_uint64().get(out)) return fail(what);
    return true;
  }
  bool u32(dom::element v, std::uint32_t& out, string_view what) {
    std::uint64_t u = 0;
    if (!u64(v, u, what)) return false;
    if (u > std::numeric_limits<std::uint32_t>::max()) return fail(what);
    out = static_cast<std::uint32_t>(u);
    return true;
  }
  bool str(dom::element v, std::string& out, string_view what) {
    string_view s;
    if (v.get_string().get(s)) return fail(what);
    out.assign(s);
    return true;
  }
  bool flag(dom::element v, bool& out, string_view what) {
    if (v.get_bool().get(out)) return fail(what);
    return true;
  }
  // Raw JSON as text; null counts as absent.
  bool raw(dom::element v, std::string& out) {
    if (v.is_null()) {
      out.clear();
      return true;
    }
    out = simdjson::minify(v);
    return true;
  }
  bool object(dom::element v, dom::object& out, string_view what) {
    if (v.get_object().get(out)) return fail(what);
    return true;
  }

  bool client_info(dom::element v, sdk::client_info& out) {
    dom::object o;
    if (!object(v, o, "info is not an object")) return false;
    for (auto [k, f] : o) {
      bool ok = true;
      if (k == "user") ok = str(f, out.user, "bad info.user");
      else if (k == "client") ok = str(f, out.client, "bad info.client");
      else if (k == "conn_info") ok = raw(f, out.conn_info);
      else if (k == "chan_info") ok = raw(f, out.chan_info);
      if (!ok) return false;
    }
    return true;
  }

  bool pub(dom::element v, publication& out) {
    dom::object o;
    if (!object(v, o, "publication is not an object")) return false;
    for (auto [k, f] : o) {
      bool ok = true;
      if (k == "data") ok = raw(f, out.data);
      else if (k == "offset") ok = u64(f, out.offset, "bad publication offset");
      else if (k == "info") ok = client_info(f, out.info.emplace());
      else if (k == "tags") {
        dom::object t;
        ok = object(f, t, "tags is not an object");
        if (ok) {
          for (auto [tk, tv] : t) {
            std::string value;
            if (!str(tv, value, "bad tag value")) return false;
            out.tags[std::string(tk)] = std::move(value);
          }
        }
      }
      if (!ok) return false;
    }
    return true;
  }

  bool publications(dom::element v, std::vector<publication>& out) {
    dom::array a;
    if (v.get_array().get(a)) return fail("publications is not an array");
    for (dom::element e : a) {
      if (!pub(e, out.emplace_back())) return false;
    }
    return true;
  }

  bool sub_result(dom::element v, subscribe_result& out) {
    dom::object o;
    if (!object(v, o, "subscribe result is not an object")) return false;
    for (auto [k, f] : o) {
      bool ok = true;
      if (k == "expires") ok = flag(f, out.expires, "bad expires");
      else if (k == "ttl") ok = u32(f, out.ttl, "bad ttl");
      else if (k == "recoverable") ok = flag(f, out.recoverable, "bad recoverable");
      else if (k == "epoch") ok = str(f, out.epoch, "bad epoch");
      else if (k == "publications") ok = publications(f, out.publications);
      else if (k == "recovered") ok = flag(f, out.recovered, "bad recovered");
      else if (k == "offset") ok = u64(f, out.offset, "bad offset");
      else if (k == "positioned") ok = flag(f, out.positioned, "bad positioned");
      else if (k == "was_recovering") ok = flag(f, out.was_recovering, "bad was_recovering");
      else if (k == "data") ok = raw(f, out.data);
      if (!ok) return false;
    }
    return true;
  }

  // ConnectResult and RefreshResult share their fields.
  bool connect_result(dom::element v, reply& r) {
    dom::object o;
    if (!object(v, o, "connect result is not an object")) return false;
    for (auto [k, f] : o) {
      bool ok = true;
      if (k == "client") ok = str(f, r.client, "bad client");
      else if (k == "version") ok = str(f, r.version, "bad version");
      else if (k == "expires") ok = flag(f, r.expires, "bad expires");
      else if (k == "ttl") ok = u32(f, r.ttl, "bad ttl");
      else if (k == "data") ok = raw(f, r.data);
      else if (k == "ping") ok = u32(f, r.ping, "bad ping");
      else if (k == "pong") ok = flag(f, r.pong, "bad pong");
      else if (k == "subs") {
        dom::object subs;
        ok = object(f, subs, "subs is not an object");
        if (ok) {
          for (auto [ch, s] : subs) {
            auto& e = r.subs.emplace_back(std::string(ch), subscribe_result{});
            if (!sub_result(s, e.second)) return false;
          }
        }
      }
      if (!ok) return false;
    }
    return true;
  }

  bool presence(dom::element v, reply& r) {
    dom::object o;
    if (!object(v, o, "presence result is not an object")) return false;
    dom::element m;
    if (o["presence"].get(m)) return true;  // empty presence: the map is left out
    dom::object clients;
    if (!object(m, clients, "presence is not an object")) return false;
    for (auto [id, info] : clients) {
      sdk::client_info ci;
      if (!client_info(info, ci)) return false;
      r.presence.push_back({ci.client.empty() ? std::string(id) : std::move(ci.client),
                            std::move(ci.user), std::move(ci.conn_info), std::move(ci.chan_info)});
    }
    return true;
  }

  bool presence_stats(dom::element v, reply& r) {
    dom::object o;
    if (!object(v, o, "presence_stats result is not an object")) return false;
    for (auto [k, f] : o) {
      bool ok = true;
      if (k == "num_clients") ok = u32(f, r.stats.num_clients, "bad num_clients");
      else if (k == "num_users") ok = u32(f, r.stats.num_users, "bad num_users");
      if (!ok) return false;
    }
    return true;
  }

  bool history(dom::element v, reply& r) {
    dom::object o;
    if (!object(v, o, "history result is not an object")) return false;
    for (auto [k, f] : o) {
      bool ok = true;
      if (k == "publications") ok = publications(f, r.history.publications);
      else if (k == "epoch") ok = str(f, r.history.epoch, "bad epoch");
      else if (k == "offset") ok = u64(f, r.history.offset, "bad offset");
      if (!ok) return false;
    }
    return true;
  }

  bool rpc(dom::element v, reply& r) {
    dom::object o;
    if (!object(v, o, "rpc result is not an object")) return false;
    dom::element d;
    if (o["data"].get(d) == simdjson::SUCCESS) return raw(d, r.data);
    return true;
  }

  bool error(dom::element v, reply& r) {
    dom::object o;
    if (!object(v, o, "error is not an object")) return false;
    sdk::error& e = r.err.emplace();
    for (auto [k, f] : o) {
      bool ok = true;
      if (k == "code") ok = u32(f, e.code, "bad error code");
      else if (k == "message") ok = str(f, e.message, "bad error message");
      else if (k == "temporary") ok = flag(f, e.temporary, "bad temporary");
      if (!ok) return false;
    }
    return true;
  }

  bool result(string_view k, dom::element f, reply& r) {
    struct entry {
      string_view key;
      reply_kind kind;
    };
    static constexpr entry kinds[] = {
        {"connect", reply_kind::connect},   {"subscribe", reply_kind::subscribe},
        {"unsubscribe", reply_kind::unsubscribe}, {"publish", reply_kind::publish},
        {"presence", reply_kind::presence}, {"presence_stats", reply_kind::presence_stats},
        {"history", reply_kind::history},   {"ping", reply_kind::ping},
        {"rpc", reply_kind::rpc},           {"refresh", reply_kind::refresh},
        {"sub_refresh", reply_kind::sub_refresh},
    };
    for (const entry& e : kinds) {
      if (k != e.key) continue;
      r.kind = e.kind;
      switch (e.kind) {
        case reply_kind::connect:
        case reply_kind::refresh: return connect_result(f, r);
        case reply_kind::subscribe: return sub_result(f, r.sub);
        case reply_kind::presence: return presence(f, r);
        case reply_kind::presence_stats: return presence_stats(f, r);
        case reply_kind::history: return history(f, r);
        case reply_kind::rpc: return rpc(f, r);
        case reply_kind::sub_refresh: {
          dom::object o;
          return object(f, o, "sub_refresh result is not an object");
        }
        default: {
          dom::object o;
          return object(f, o, "result is not an object");
        }
      }
    }
    return true;  // unknown key: ignored
  }

  bool push_body(dom::element v, push& p) {
    dom::object o;
    if (!object(v, o, "push is not an object")) return false;
    for (auto [k, f] : o) {
      bool ok = true;
      if (k == "channel") ok = str(f, p.channel, "bad push channel");
      else if (k == "pub") {
        p.kind = push_kind::publication;
        ok = pub(f, p.pub);
      } else if (k == "join" || k == "leave") {
        p.kind = k == "join" ? push_kind::join : push_kind::leave;
        dom::object jo;
        ok = object(f, jo, "join/leave is not an object");
        dom::element info;
        if (ok && jo["info"].get(info) == simdjson::SUCCESS) ok = client_info(info, p.info);
      } else if (k == "unsubscribe" || k == "disconnect") {
        p.kind = k == "unsubscribe" ? push_kind::unsubscribe : push_kind::disconnect;
        dom::object uo;
        // A dom::object is iterable only when object() succeeded (default-constructed, it
        // points nowhere): found by wire_decoder_fuzz.
        ok = object(f, uo, "unsubscribe/disconnect is not an object");
        if (ok) {
          for (auto [uk, uv] : uo) {
            if (uk == "code") ok = u32(uv, p.code, "bad code");
            else if (uk == "reason") ok = str(uv, p.reason, "bad reason");
            if (!ok) break;
          }
        }
      } else if (k == "subscribe") {
        p.kind = push_kind::subscribe;
        ok = sub_result(f, p.sub);
      } else if (k == "message") {
        p.kind = push_kind::message;
        dom::object mo;
        ok = object(f, mo, "message is not an object");
        dom::element d;
        if (ok && mo["data"].get(d) == simdjson::SUCCESS) ok = raw(d, p.data);
      } else if (k == "connect") {
        p.kind = push_kind::connect;
      } else if (k == "refresh") {
        p.kind = push_kind::refresh;
      }
      if (!ok) return false;
    }
    if (p.kind == push_kind::publication) p.pub.channel = p.channel;
    return true;
  }

  bool top(dom::element doc, message& m) {
    dom::object o;
    if (!object(doc, o, "not a JSON object")) return false;
    if (o.size() == 0) {
      m.kind = message::type::ping;
      return true;
    }
    dom::element p;
    if (o["push"].get(p) == simdjson::SUCCESS) {
      m.kind = message::type::push;
      return push_body(p, m.push);
    }
    m.kind = message::type::reply;
    bool has_id = false;
    for (auto [k, f] : o) {
      bool ok = true;
      if (k == "id") {
        ok = u32(f, m.reply.id, "bad id");
        has_id = true;
      } else if (k == "error") {
        ok = error(f, m.reply);
      } else {
        ok = result(k, f, m.reply);
      }
      if (!ok) return false;
    }
    if (!has_id || m.reply.id == 0) return fail("reply without id");
    return true;
  }
};

}  // namespace

struct decoder::impl {
  // Frames are bounded by the WebSocket max_message_size; this caps the DOM parser the same way.
  dom::parser parser{16u << 20};
};

decoder::decoder() : impl_(std::make_unique<impl>()) {}
decoder::~decoder() = default;

std::string decoder::decode(std::string_view frame, std::vector<message>& out) {
  std::size_t count = 0;
  while (!frame.empty()) {
    const std::size_t nl = frame.find('\n');
    std::string_view line = frame.substr(0, nl);
    frame = nl == std::string_view::npos ? std::string_view() : frame.substr(nl + 1);
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (++count > max_batch) return "too many objects in one frame";
    dom::element doc;
    if (auto e = impl_->parser.parse(line.data(), line.size(), true).get(doc)) {
      return std::string("invalid JSON: ") + simdjson::error_message(e);
    }
    reader r;
    message m;
    if (!r.top(doc, m)) return r.err;
    out.push_back(std::move(m));
  }
  return {};
}

bool is_json(std::string_view text) {
  if (text.empty()) return false;
  static thread_local dom::parser parser{16u << 20};
  dom::element doc;
  return parser.parse(text.data(), text.size(), true).get(doc) == simdjson::SUCCESS;
}

}  // namespace duplex::sdk::wire
