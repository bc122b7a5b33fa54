// The server HTTP API: request validation, the methods on the hub and the node, replies in
// Centrifugo's JSON shapes (see api.h for the contract and the status rules).
#include "server/api.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <utility>
#include <vector>

#include "base/shared_payload.h"
#include "base/utf8.h"
#include "centrifuge/codec/codes.h"
#include "centrifuge/codec/json_writer.h"

namespace duplex::service {
namespace {

using nlohmann::json;
using centrifuge::error_code;
using done_fn = std::function<void(api_response)>;
namespace jw = centrifuge::json;

// ---- Replies ------------------------------------------------------------------------------

void put_uint(std::string& out, std::uint64_t v) {
  jw::string_sink s{out};
  jw::uint(s, v);
}

// Appends s as a JSON string. Names from our own sessions are UTF-8; bytes that are not (a
// binary Socket.IO payload, say) become U+FFFD so the reply stays valid JSON.
void put_string(std::string& out, std::string_view s) {
  if (is_valid_utf8(s)) {
    jw::string_sink sink{out};
    jw::string(sink, s);
    return;
  }
  out += json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

// Appends stored bytes that are JSON when a Centrifugo client or this API produced them
// (publication data, conn_info, chan_info): as-is when they are a JSON text, else as a string.
void put_raw(std::string& out, std::string_view bytes) {
  if (json::accept(bytes.begin(), bytes.end())) {
    out += bytes;
  } else {
    put_string(out, bytes);
  }
}

std::string error_object(error_code code, std::string_view message) {
  std::string out = "{\"code\":";
  put_uint(out, static_cast<std::uint32_t>(code));
  out += ",\"message\":";
  put_string(out, message);
  out += '}';
  return out;
}

api_response error_reply(int status, error_code code, std::string_view message) {
  return {status, "{\"error\":" + error_object(code, message) + "}"};
}

api_response bad_request(std::string_view what) {
  std::string msg(centrifuge::error_message(error_code::bad_request));
  msg += ": ";
  msg += what;
  return error_reply(400, error_code::bad_request, msg);
}

api_response result_reply(std::string_view result) {
  std::string body = "{\"result\":";
  body += result;
  body += '}';
  return {200, std::move(body)};
}

// The one table from hub errors to API error codes. The channel-name errors are 102 as in
// Centrifugo; errors the API cannot cause (the server credential passes every rule) still map
// to something sensible rather than crash.
error_code code_of(hub::error e) {
  switch (e) {
    case hub::error::bad_channel:
    case hub::error::unknown_namespace: return error_code::unknown_channel;
    case hub::error::permission_denied: return error_code::permission_denied;
    case hub::error::already_subscribed: return error_code::already_subscribed;
    case hub::error::too_many_subscribers: return error_code::limit_exceeded;
    case hub::error::not_available: return error_code::not_available;
    case hub::error::unrecoverable_position: return error_code::unrecoverable_position;
    case hub::error::ok:
    case hub::error::not_subscribed:
    case hub::error::broker_unavailable: break;
  }
  return error_code::internal;
}

std::string hub_error_object(hub::error e) {
  const error_code c = code_of(e);
  return error_object(c, centrifuge::error_message(c));
}

api_response hub_error_reply(hub::error e) {
  return {200, "{\"error\":" + hub_error_object(e) + "}"};
}

void finish(executor* reply_on, done_fn& done, api_response r) {
  hub::complete(reply_on, std::move(done), std::move(r));
}

// ---- Reading the request ------------------------------------------------------------------

// Reads members of one request object and remembers the first problem, named by field.
// Absent and null members are the same (as for Centrifugo's Go decoder); a member of the
// wrong type is an error.
class fields {
 public:
  fields(const json& obj, std::string prefix = {}) : obj_(obj), prefix_(std::move(prefix)) {}

  bool ok() const noexcept { return why_.empty(); }
  const std::string& why() const noexcept { return why_; }
  void fail(std::string_view name, std::string_view problem) {
    if (why_.empty()) why_ = prefix_ + std::string(name) + " " + std::string(problem);
  }
  // Takes over the first problem of a nested object's reader (its names carry their prefix).
  void adopt(const fields& nested) {
    if (why_.empty()) why_ = nested.why_;
  }

  const json* find(const char* name) const {
    auto it = obj_.find(name);
    return it == obj_.end() || it->is_null() ? nullptr : &*it;
  }

  // A required string must be present and non-empty.
  std::string str(const char* name, bool required) {
    const json* v = find(name);
    if (v == nullptr || (v->is_string() && v->get_ref<const std::string&>().empty())) {
      if (required) fail(name, "required");
      return {};
    }
    if (!v->is_string()) {
      fail(name, "must be a string");
      return {};
    }
    return v->get<std::string>();
  }

  bool boolean(const char* name) {
    const json* v = find(name);
    if (v == nullptr) return false;
    if (!v->is_boolean()) {
      fail(name, "must be a boolean");
      return false;
    }
    return v->get<bool>();
  }

  // Integers only (2.0 is refused, as Go's decoder refuses it for an int field). Values above
  // INT64_MAX are clamped: for a limit they mean "no limit" anyway.
  std::optional<std::int64_t> int64(const char* name) {
    const json* v = find(name);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number_integer()) {
      fail(name, "must be an integer");
      return std::nullopt;
    }
    if (v->is_number_unsigned()) {
      const auto u = v->get<std::uint64_t>();
      return static_cast<std::int64_t>(
          std::min<std::uint64_t>(u, std::numeric_limits<std::int64_t>::max()));
    }
    return v->get<std::int64_t>();
  }

  std::optional<std::uint64_t> uint64(const char* name) {
    const json* v = find(name);
    if (v == nullptr) return std::nullopt;
    if (!v->is_number_unsigned()) {
      fail(name, "must be a non-negative integer");
      return std::nullopt;
    }
    return v->get<std::uint64_t>();
  }

  // An optional object member; nullptr when absent (or on a type error, recorded).
  const json* object(const char* name) {
    const json* v = find(name);
    if (v != nullptr && !v->is_object()) {
      fail(name, "must be an object");
      return nullptr;
    }
    return v;
  }

 private:
  const json& obj_;
  std::string prefix_;
  std::string why_;
};

bool is_ws(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::size_t skip_ws(std::string_view t, std::size_t i) {
  while (i < t.size() && is_ws(t[i])) ++i;
  return i;
}

// t[i] is '"'; returns the index after the closing quote.
std::size_t skip_string(std::string_view t, std::size_t i) {
  for (++i; i < t.size(); ++i) {
    if (t[i] == '\\') {
      ++i;
    } else if (t[i] == '"') {
      return i + 1;
    }
  }
  return t.size();
}

// Returns the index just after the value that starts at t[i]. Iterative: nesting depth costs
// no stack.
std::size_t skip_value(std::string_view t, std::size_t i) {
  if (i >= t.size()) return i;
  if (t[i] == '"') return skip_string(t, i);
  if (t[i] == '{' || t[i] == '[') {
    std::size_t depth = 0;
    while (i < t.size()) {
      const char c = t[i];
      if (c == '"') {
        i = skip_string(t, i);
        continue;
      }
      if (c == '{' || c == '[') {
        ++depth;
      } else if ((c == '}' || c == ']') && --depth == 0) {
        return i + 1;
      }
      ++i;
    }
    return i;
  }
  while (i < t.size() && !is_ws(t[i]) && t[i] != ',' && t[i] != '}' && t[i] != ']') ++i;
  return i;
}

// The text of top-level member `key` of `text`, which the JSON parser has already accepted as
// an object (so this scanner needs no error handling). The last occurrence wins, as in the
// parsed document. We take the bytes rather than re-serialising the parsed value so that the
// publication carries exactly what the backend sent (number spelling included).
std::optional<std::string_view> raw_member(std::string_view text, std::string_view key) {
  std::optional<std::string_view> found;
  std::size_t i = skip_ws(text, 0);
  if (i >= text.size() || text[i] != '{') return found;
  i = skip_ws(text, i + 1);
  while (i < text.size() && text[i] == '"') {
    const std::size_t key_end = skip_string(text, i);
    const std::string_view token = text.substr(i, key_end - i);
    bool match = false;
    if (token.find('\\') == std::string_view::npos) {
      match = token.substr(1, token.size() - 2) == key;
    } else {  // escaped key ("d\u0061ta"): let the parser decode it
      json k = json::parse(token.begin(), token.end(), nullptr, false);
      match = k.is_string() && k.get_ref<const std::string&>() == key;
    }
    i = skip_ws(text, skip_ws(text, key_end) + 1);  // past ':'
    const std::size_t value_end = skip_value(text, i);
    if (match) found = text.substr(i, value_end - i);
    i = skip_ws(text, value_end);
    if (i < text.size() && text[i] == ',') i = skip_ws(text, i + 1);
  }
  return found;
}

// Valid JSON text minus insignificant whitespace (RFC 8259 §2), in one exact-size allocation.
shared_payload minified(std::string_view v) {
  auto walk = [v](auto&& put) {
    bool in_string = false;
    for (std::size_t i = 0; i < v.size(); ++i) {
      const char c = v[i];
      if (in_string) {
        put(c);
        if (c == '\\' && i + 1 < v.size()) {
          put(v[++i]);
        } else if (c == '"') {
          in_string = false;
        }
      } else if (!is_ws(c)) {
        put(c);
        in_string = c == '"';
      }
    }
  };
  std::size_t n = 0;
  walk([&n](char) { ++n; });
  shared_payload p = shared_payload::allocate(n);
  char* at = reinterpret_cast<char*>(p.mutable_bytes().data());
  walk([&at](char c) { *at++ = c; });
  return p;
}

// The required `data` member of publish/broadcast, as stored bytes.
shared_payload read_data(fields& f, std::string_view body) {
  if (f.find("data") == nullptr) {
    f.fail("data", "required");
    return {};
  }
  std::optional<std::string_view> raw = raw_member(body, "data");
  if (!raw) {  // cannot happen for a body the parser accepted; refuse rather than guess
    f.fail("data", "unreadable");
    return {};
  }
  return minified(*raw);
}

std::vector<std::pair<std::string, std::string>> read_tags(fields& f) {
  std::vector<std::pair<std::string, std::string>> tags;
  const json* t = f.object("tags");
  if (t == nullptr) return tags;
  for (const auto& [k, v] : t->items()) {
    if (!v.is_string()) {
      f.fail("tags", "must map strings to strings");
      return {};
    }
    tags.emplace_back(k, v.get<std::string>());
  }
  return tags;
}

// Fields of publish and broadcast that we accept without acting on them (see api.h).
void check_ignored_publish_fields(fields& f) {
  f.boolean("skip_history");
  f.boolean("delta");
  f.str("idempotency_key", false);
  if (f.find("b64data") != nullptr && f.find("data") == nullptr) {
    f.fail("b64data", "is not supported (send JSON in data)");
  }
}

// ---- Writing results ----------------------------------------------------------------------

std::string publish_result(const hub::publish_result& r) {
  if (r.position.epoch.empty()) return "{}";  // the namespace keeps no history: no position
  std::string out = "{\"offset\":";
  put_uint(out, r.position.offset);
  out += ",\"epoch\":";
  put_string(out, r.position.epoch);
  out += '}';
  return out;
}

void put_client_info(std::string& out, const hub::client_info& c) {
  out += "{\"client\":";
  put_string(out, c.client_id);
  out += ",\"user\":";
  put_string(out, c.user_id);
  if (!c.conn_info.empty()) {
    out += ",\"conn_info\":";
    put_raw(out, c.conn_info.view());
  }
  if (!c.chan_info.empty()) {
    out += ",\"chan_info\":";
    put_raw(out, c.chan_info.view());
  }
  out += '}';
}

void put_publication(std::string& out, const hub::publication& p) {
  out += "{\"data\":";
  put_raw(out, p.data.view());
  if (p.offset != 0) {
    out += ",\"offset\":";
    put_uint(out, p.offset);
  }
  if (p.info) {
    out += ",\"info\":";
    put_client_info(out, *p.info);
  }
  if (!p.tags.empty()) {
    out += ",\"tags\":{";
    for (std::size_t i = 0; i < p.tags.size(); ++i) {
      if (i != 0) out += ',';
      put_string(out, p.tags[i].first);
      out += ':';
      put_string(out, p.tags[i].second);
    }
    out += '}';
  }
  out += '}';
}

// gobwas/glob's everyday subset, as Centrifugo's `channels` pattern uses it: '*' matches any
// run of bytes (':' included), '?' one byte; every other byte (also '[', '{', '\\') is literal.
// Greedy with one backtrack point: O(pattern * name) at worst.
bool glob_match(std::string_view p, std::string_view s) {
  std::size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (pi < p.size() && (p[pi] == '?' || p[pi] == s[si])) {
      ++pi;
      ++si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

// SHA-256 of both sides, then a constant-time compare: the time depends neither on where the
// keys differ nor on the offered key's length.
bool key_equals(std::string_view offered, std::string_view key) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> a{}, b{};
  unsigned int na = 0, nb = 0;
  if (EVP_Digest(offered.data(), offered.size(), a.data(), &na, EVP_sha256(), nullptr) != 1 ||
      EVP_Digest(key.data(), key.size(), b.data(), &nb, EVP_sha256(), nullptr) != 1) {
    return false;
  }
  return na == nb && CRYPTO_memcmp(a.data(), b.data(), na) == 0;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string random_uid() {
  std::random_device rd;
  std::array<std::uint8_t, 16> b{};
  for (auto& x : b) x = static_cast<std::uint8_t>(rd());
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);  // RFC 4122 version 4
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += hex[b[i] >> 4];
    out += hex[b[i] & 15];
  }
  return out;
}

}  // namespace

api_response unauthorized_response() {
  return error_reply(401, error_code::unauthorized,
                     centrifuge::error_message(error_code::unauthorized));
}

// ---- The methods --------------------------------------------------------------------------

// Each method validates everything before acting, so a 400 never follows a side effect, and
// ends in exactly one call of done (directly through finish(), or from one hub/node callback).
struct api_handler::ops {
  using method_fn = void (*)(api_handler&, const json&, std::string_view, executor*, done_fn);

  static void publish(api_handler& h, const json& req, std::string_view body,
                      executor* reply_on, done_fn done) {
    fields f(req);
    std::string channel = f.str("channel", true);
    auto tags = read_tags(f);
    check_ignored_publish_fields(f);
    shared_payload data = read_data(f, body);
    if (!f.ok()) return finish(reply_on, done, bad_request(f.why()));
    hub::publish_request pr{channel, std::move(data), std::nullopt, std::move(tags),
                            hub::credential::server};
    h.hub_->publish(std::move(pr), reply_on, [done = std::move(done)](hub::publish_result r) {
      done(r.err == hub::error::ok ? result_reply(publish_result(r)) : hub_error_reply(r.err));
    });
  }

  static void broadcast(api_handler& h, const json& req, std::string_view body,
                        executor* reply_on, done_fn done) {
    fields f(req);
    std::vector<std::string> channels;
    const json* list = f.find("channels");
    if (list == nullptr || (list->is_array() && list->empty())) {
      f.fail("channels", "required");
    } else if (!list->is_array()) {
      f.fail("channels", "must be an array of strings");
    } else {
      for (const json& c : *list) {
        if (!c.is_string()) {
          f.fail("channels", "must be an array of strings");
          break;
        }
        channels.push_back(c.get<std::string>());
      }
    }
    auto tags = read_tags(f);
    check_ignored_publish_fields(f);
    shared_payload data = read_data(f, body);
    if (!f.ok()) return finish(reply_on, done, bad_request(f.why()));

    // One publish per channel, all in flight at once; their callbacks may run on any thread
    // (reply_on null), so the replies are collected under a lock and the last one answers.
    struct state {
      std::mutex mu;
      std::vector<std::string> parts;
      std::size_t left;
      executor* reply_on;
      done_fn done;
    };
    auto st = std::make_shared<state>();
    st->parts.resize(channels.size());
    st->left = channels.size();
    st->reply_on = reply_on;
    st->done = std::move(done);
    for (std::size_t i = 0; i < channels.size(); ++i) {
      hub::publish_request pr{channels[i], data, std::nullopt, tags, hub::credential::server};
      h.hub_->publish(std::move(pr), nullptr, [st, i](hub::publish_result r) {
        std::string part = r.err == hub::error::ok
                               ? "{\"result\":" + publish_result(r) + "}"
                               : "{\"error\":" + hub_error_object(r.err) + "}";
        {
          std::lock_guard lock(st->mu);
          st->parts[i] = std::move(part);
          if (--st->left != 0) return;
        }
        std::string out = "{\"responses\":[";
        for (std::size_t k = 0; k < st->parts.size(); ++k) {
          if (k != 0) out += ',';
          out += st->parts[k];
        }
        out += "]}";
        finish(st->reply_on, st->done, result_reply(out));
      });
    }
  }

  // subscribe and unsubscribe: the same request shape, a different node call.
  static void change_subscription(api_handler& h, const json& req, executor* reply_on,
                                  done_fn done, bool subscribe) {
    fields f(req);
    std::string user = f.str("user", true);
    std::string channel = f.str("channel", true);
    std::string client = f.str("client", false);
    if (!f.str("session", false).empty()) f.fail("session", "is not supported");
    if (!f.ok()) return finish(reply_on, done, bad_request(f.why()));
    const hub::namespace_options* opts = nullptr;
    if (hub::error e = hub::resolve_channel(h.hub_->namespaces(), channel, &opts);
        e != hub::error::ok) {
      return finish(reply_on, done, hub_error_reply(e));
    }
    if (h.sessions_ == nullptr) return finish(reply_on, done, result_reply("{}"));
    auto reply = [done = std::move(done)](std::size_t) { done(result_reply("{}")); };
    if (subscribe) {
      h.sessions_->subscribe_user(std::move(user), std::move(client), std::move(channel),
                                  reply_on, std::move(reply));
    } else {
      h.sessions_->unsubscribe_user(std::move(user), std::move(client), std::move(channel),
                                    reply_on, std::move(reply));
    }
  }

  static void subscribe(api_handler& h, const json& req, std::string_view, executor* reply_on,
                        done_fn done) {
    change_subscription(h, req, reply_on, std::move(done), true);
  }

  static void unsubscribe(api_handler& h, const json& req, std::string_view, executor* reply_on,
                          done_fn done) {
    change_subscription(h, req, reply_on, std::move(done), false);
  }

  static void disconnect(api_handler& h, const json& req, std::string_view, executor* reply_on,
                         done_fn done) {
    fields f(req);
    std::string user = f.str("user", true);
    std::string client = f.str("client", false);
    if (!f.str("session", false).empty()) f.fail("session", "is not supported");
    if (const json* w = f.find("whitelist"); w != nullptr) {
      if (!w->is_array()) {
        f.fail("whitelist", "must be an array of strings");
      } else if (!w->empty()) {
        f.fail("whitelist", "is not supported");
      }
    }
    // Centrifugo's default for the API: 3503 "force disconnect", terminal (no reconnect).
    std::uint32_t code = centrifuge::disconnects::force_no_reconnect.code;
    std::string reason(centrifuge::disconnects::force_no_reconnect.reason);
    if (const json* d = f.object("disconnect"); d != nullptr) {
      fields df(*d, "disconnect.");
      const std::optional<std::uint64_t> c = df.uint64("code");
      std::string r = df.str("reason", false);
      // The code and reason end up in a WebSocket close frame: application codes are
      // 3000-4999 (RFC 6455 §7.4.2) and the reason has 123 bytes (§5.5: 125 minus the code).
      if (!c) {
        df.fail("code", "required");
      } else if (*c < 3000 || *c > 4999) {
        df.fail("code", "must be within 3000-4999");
      }
      if (r.size() > 123) df.fail("reason", "must be at most 123 bytes");
      f.adopt(df);
      if (df.ok()) {
        code = static_cast<std::uint32_t>(*c);
        reason = std::move(r);
      }
    }
    if (!f.ok()) return finish(reply_on, done, bad_request(f.why()));
    if (h.sessions_ == nullptr) return finish(reply_on, done, result_reply("{}"));
    h.sessions_->disconnect_user(std::move(user), std::move(client), code, std::move(reason),
                                 reply_on, [done = std::move(done)](std::size_t) {
                                   done(result_reply("{}"));
                                 });
  }

  static void presence(api_handler& h, const json& req, std::string_view, executor* reply_on,
                       done_fn done) {
    fields f(req);
    std::string channel = f.str("channel", true);
    if (!f.ok()) return finish(reply_on, done, bad_request(f.why()));
    h.hub_->presence(channel, hub::credential::server, reply_on,
                     [done = std::move(done)](hub::presence_result r) {
                       if (r.err != hub::error::ok) return done(hub_error_reply(r.err));
                       std::string out = "{\"presence\":{";
                       for (std::size_t i = 0; i < r.clients.size(); ++i) {
                         if (i != 0) out += ',';
                         put_string(out, r.clients[i].client_id);
                         out += ':';
                         put_client_info(out, r.clients[i]);
                       }
                       out += "}}";
                       done(result_reply(out));
                     });
  }

  static void presence_stats(api_handler& h, const json& req, std::string_view,
                             executor* reply_on, done_fn done) {
    fields f(req);
    std::string channel = f.str("channel", true);
    if (!f.ok()) return finish(reply_on, done, bad_request(f.why()));
    h.hub_->presence_stats(channel, hub::credential::server, reply_on,
                           [done = std::move(done)](hub::presence_stats_result r) {
                             if (r.err != hub::error::ok) return done(hub_error_reply(r.err));
                             std::string out = "{\"num_clients\":";
                             put_uint(out, r.num_clients);
                             out += ",\"num_users\":";
                             put_uint(out, r.num_users);
                             out += '}';
                             done(result_reply(out));
                           });
  }

  static void history(api_handler& h, const json& req, std::string_view, executor* reply_on,
                      done_fn done) {
    fields f(req);
    std::string channel = f.str("channel", true);
    hub::history_query q;
    // Centrifugo: no limit = the stream position only; a negative limit = everything kept.
    if (std::optional<std::int64_t> limit = f.int64("limit")) q.limit = *limit < 0 ? -1 : *limit;
    q.reverse = f.boolean("reverse");
    if (const json* since = f.object("since"); since != nullptr) {
      // Proto3 JSON leaves out zero values, so both members are optional here.
      fields sf(*since, "since.");
      hub::stream_position pos;
      pos.offset = sf.uint64("offset").value_or(0);
      pos.epoch = sf.str("epoch", false);
      f.adopt(sf);
      q.since = std::move(pos);
    }
    if (!f.ok()) return finish(reply_on, done, bad_request(f.why()));
    h.hub_->history(channel, q, hub::credential::server, reply_on,
                    [done = std::move(done)](hub::history_result r) {
                      if (r.err != hub::error::ok) return done(hub_error_reply(r.err));
                      std::string out = "{\"publications\":[";
                      for (std::size_t i = 0; i < r.pubs.size(); ++i) {
                        if (i != 0) out += ',';
                        put_publication(out, r.pubs[i]);
                      }
                      out += "],\"offset\":";
                      put_uint(out, r.position.offset);
                      out += ",\"epoch\":";
                      put_string(out, r.position.epoch);
                      out += '}';
                      done(result_reply(out));
                    });
  }

  static void history_remove(api_handler& h, const json& req, std::string_view,
                             executor* reply_on, done_fn done) {
    fields f(req);
    std::string channel = f.str("channel", true);
    if (!f.ok()) return finish(reply_on, done, bad_request(f.why()));
    // As Centrifugo: a namespace without history answers 108 (the hub only checks the name).
    const hub::namespace_options* opts = nullptr;
    if (hub::error e = hub::resolve_channel(h.hub_->namespaces(), channel, &opts);
        e != hub::error::ok) {
      return finish(reply_on, done, hub_error_reply(e));
    }
    if (!opts->history_enabled()) {
      return finish(reply_on, done, hub_error_reply(hub::error::not_available));
    }
    h.hub_->remove_history(channel, reply_on, [done = std::move(done)](hub::error e) {
      done(e == hub::error::ok ? result_reply("{}") : hub_error_reply(e));
    });
  }

  static void channels(api_handler& h, const json& req, std::string_view, executor* reply_on,
                       done_fn done) {
    fields f(req);
    std::string pattern = f.str("pattern", false);
    if (!f.ok()) return finish(reply_on, done, bad_request(f.why()));
    auto all = h.hub_->channels();
    std::sort(all.begin(), all.end());  // a stable order for humans and tests
    std::string out = "{\"channels\":{";
    bool first = true;
    for (const auto& [name, count] : all) {
      if (!pattern.empty() && !glob_match(pattern, name)) continue;
      if (!first) out += ',';
      first = false;
      put_string(out, name);
      out += ":{\"num_clients\":";
      put_uint(out, count);
      out += '}';
    }
    out += "}}";
    finish(reply_on, done, result_reply(out));
  }

  // One Node object per entry (Centrifugo's shape; num_subs as Centrifugo v5+ reports it).
  static std::string nodes_result(const std::vector<node_info>& nodes) {
    std::string out = "{\"nodes\":[";
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      const node_info& n = nodes[i];
      if (i != 0) out += ',';
      out += "{\"uid\":";
      put_string(out, n.uid);
      out += ",\"name\":";
      put_string(out, n.name);
      out += ",\"version\":";
      put_string(out, n.version);
      out += ",\"num_clients\":";
      put_uint(out, n.num_clients);
      out += ",\"num_users\":";
      put_uint(out, n.num_users);
      out += ",\"num_channels\":";
      put_uint(out, n.num_channels);
      out += ",\"uptime\":";
      put_uint(out, n.uptime);
      out += ",\"num_subs\":";
      put_uint(out, n.num_subs);
      out += '}';
    }
    out += "]}";
    return out;
  }

  static void info(api_handler& h, const json&, std::string_view, executor* reply_on,
                   done_fn done) {
    if (!h.opts_.list_nodes) {
      return finish(reply_on, done, result_reply(nodes_result({h.local_node()})));
    }
    // list_nodes answers on reply_on itself: done is called directly.
    h.opts_.list_nodes(reply_on, [done = std::move(done)](
                                     std::optional<std::vector<node_info>> nodes) mutable {
      if (!nodes) return done(hub_error_reply(hub::error::broker_unavailable));
      done(result_reply(nodes_result(*nodes)));
    });
  }

  struct entry {
    std::string_view name;
    method_fn fn;
  };
  static constexpr std::array<entry, 11> table{{
      {"publish", &publish},
      {"broadcast", &broadcast},
      {"subscribe", &subscribe},
      {"unsubscribe", &unsubscribe},
      {"disconnect", &disconnect},
      {"presence", &presence},
      {"presence_stats", &presence_stats},
      {"history", &history},
      {"history_remove", &history_remove},
      {"channels", &channels},
      {"info", &info},
  }};
};

api_handler::api_handler(hub::channel_hub& hub, centrifuge::node* sessions, api_options opts)
    : hub_(&hub),
      sessions_(sessions),
      opts_(std::move(opts)),
      uid_(opts_.uid.empty() ? random_uid() : opts_.uid),
      started_(std::chrono::steady_clock::now()) {}

node_info api_handler::local_node() const {
  const auto channels = hub_->channels();
  node_info n;
  n.uid = uid_;
  n.name = opts_.node_name;
  n.version = opts_.version;
  for (const auto& c : channels) n.num_subs += c.second;
  n.num_channels = channels.size();
  n.num_clients =
      sessions_ != nullptr ? sessions_->total(&centrifuge::shard_stats::connections) : 0;
  // The node keeps no cross-shard count of distinct users yet: num_users stays 0.
  n.uptime = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_)
          .count());
  return n;
}

bool api_handler::authorized(std::optional<std::string_view> x_api_key,
                             std::optional<std::string_view> authorization) const {
  if (opts_.insecure) return true;
  if (opts_.key.empty()) return false;  // no key configured: the API is closed
  bool ok = false;
  if (x_api_key) ok = key_equals(trim(*x_api_key), opts_.key);
  if (authorization) {
    std::string_view v = trim(*authorization);
    constexpr std::string_view scheme = "apikey";
    const bool has_scheme =
        v.size() > scheme.size() && (v[scheme.size()] == ' ' || v[scheme.size()] == '\t') &&
        std::equal(scheme.begin(), scheme.end(), v.begin(), [](char a, char b) {
          return a == (b >= 'A' && b <= 'Z' ? static_cast<char>(b - 'A' + 'a') : b);
        });
    if (has_scheme && key_equals(trim(v.substr(scheme.size())), opts_.key)) ok = true;
  }
  return ok;
}

void api_handler::handle(std::string_view method, std::string_view body, executor* reply_on,
                         std::function<void(api_response)> done) {
  const auto it = std::find_if(ops::table.begin(), ops::table.end(),
                               [method](const ops::entry& e) { return e.name == method; });
  if (it == ops::table.end()) {
    return finish(reply_on, done,
                  error_reply(404, error_code::method_not_found,
                              centrifuge::error_message(error_code::method_not_found)));
  }
  json req = json::object();
  // nlohmann's lexer ends the input at a NUL byte ("{}\0garbage" would pass): refuse it.
  if (body.find('\0') != std::string_view::npos) {
    return finish(reply_on, done, bad_request("body contains a NUL byte"));
  }
  if (skip_ws(body, 0) != body.size()) {
    // nlohmann's parser keeps its nesting on the heap, so deep input costs memory, not stack.
    req = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
    if (req.is_discarded()) return finish(reply_on, done, bad_request("body is not valid JSON"));
    if (!req.is_object()) return finish(reply_on, done, bad_request("body must be a JSON object"));
  }
  it->fn(*this, req, body, reply_on, std::move(done));
}

}  // namespace duplex::service
