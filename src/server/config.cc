// Configuration loading: defaults < TOML file < DUPLEX_* environment < flags, then validation.
// The text side (genconfig, describe) and the conversions are in config_text.cc.
#include "server/config.h"
#include "redis/endpoint.h"

#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <string_view>
#include <utility>

#include "hub/channel_name.h"

namespace duplex::service {

hub::namespace_options development_namespace_options() {
  hub::namespace_options o;
  o.history_size = 100;
  o.history_ttl = std::chrono::minutes(5);
  o.presence = true;
  o.join_leave = true;
  o.subscribe = hub::access::anonymous;
  o.publish = hub::access::anonymous;
  o.presence_read = hub::access::anonymous;
  o.history_read = hub::access::anonymous;
  return o;
}

bool same_options(const hub::namespace_options& a, const hub::namespace_options& b) noexcept {
  return a.history_size == b.history_size && a.history_ttl == b.history_ttl &&
         a.recovery_max_publications == b.recovery_max_publications && a.presence == b.presence &&
         a.join_leave == b.join_leave && a.subscribe == b.subscribe && a.publish == b.publish &&
         a.presence_read == b.presence_read && a.history_read == b.history_read &&
         a.max_subscribers == b.max_subscribers && a.slow_policy == b.slow_policy;
}

// ---- Scalars shared by the file, the environment and the flags --------------------------------

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  constexpr std::int64_t max_ms = std::int64_t{1} << 52;  // ~140,000 years: no overflow later
  bool all_digits = text.find_first_not_of("0123456789") == std::string_view::npos;
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data() + i, text.data() + text.size(), n);
    if (ec != std::errc() || n < 0 || end == text.data() + i) return std::nullopt;
    i = static_cast<std::size_t>(end - text.data());
    if (all_digits) {  // a bare integer is milliseconds, like an integer in the file
      total = n;
      break;
    }
    std::int64_t unit = 0;
    std::string_view rest = text.substr(i);
    if (rest.starts_with("ms")) {
      unit = 1, i += 2;
    } else if (rest.starts_with("s")) {
      unit = 1000, i += 1;
    } else if (rest.starts_with("m")) {
      unit = 60'000, i += 1;
    } else if (rest.starts_with("h")) {
      unit = 3'600'000, i += 1;
    } else {
      return std::nullopt;
    }
    if (n > max_ms / unit) return std::nullopt;
    total += n * unit;
    if (total > max_ms) return std::nullopt;
  }
  if (total > max_ms) return std::nullopt;
  return std::chrono::milliseconds(total);
}

namespace {

using std::chrono::milliseconds;

constexpr std::int64_t kib = 1024, mib = kib * 1024, gib = mib * 1024;

// Sizes: "123", "123B", "64KiB", "4MiB", "1GiB".
std::optional<std::int64_t> parse_size(std::string_view text) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || n < 0 || end == text.data()) return std::nullopt;
  std::string_view unit = text.substr(static_cast<std::size_t>(end - text.data()));
  const std::pair<std::string_view, std::int64_t> units[] = {
      {"", 1}, {"B", 1}, {"KiB", kib}, {"MiB", mib}, {"GiB", gib}};
  std::int64_t mult = 0;
  for (auto [name, size] : units) {
    if (unit == name) mult = size;
  }
  if (mult == 0) return std::nullopt;
  if (n > std::numeric_limits<std::int64_t>::max() / mult) return std::nullopt;
  return n * mult;
}

std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return n;
}

std::optional<bool> parse_bool(std::string_view text) {
  if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "0" || text == "no" || text == "off") return false;
  return std::nullopt;
}

std::optional<hub::access> parse_access(std::string_view text) {
  if (text == "anonymous") return hub::access::anonymous;
  if (text == "authenticated") return hub::access::authenticated;
  if (text == "token") return hub::access::token_only;
  if (text == "server") return hub::access::server_only;
  return std::nullopt;
}

std::optional<hub::slow_consumer_policy> parse_slow(std::string_view text) {
  if (text == "disconnect") return hub::slow_consumer_policy::disconnect;
  if (text == "drop") return hub::slow_consumer_policy::drop;
  return std::nullopt;
}

std::optional<log_format> parse_log_format(std::string_view text) {
  if (text == "text") return log_format::text;
  if (text == "json") return log_format::json;
  return std::nullopt;
}

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

// Range checks: nullopt when fine, else the reason (the caller prefixes where).
std::optional<std::string> check_port(std::int64_t v) {
  if (v < 0 || v > 65535) return "not a port number: " + std::to_string(v);
  return std::nullopt;
}
std::optional<std::string> check_threads(std::int64_t v) {
  if (v < 0 || v > 1024)
    return "expected 0 (one per core) to 1024 threads, got " + std::to_string(v);
  return std::nullopt;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    std::size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

// ---- Load state: the config being built and where each key got its value ------------------

struct load_state {
  config& c;
  std::string& why;
  // Key path ("listen.port", "channel.namespace[1].presence") -> where it was last set
  // ("duplex.toml:3: listen.port", "DUPLEX_PORT", "--port").
  std::map<std::string, std::string> origin;

  bool fail(const std::string& where, const std::string& reason) {
    why = where + ": " + reason;
    return false;
  }
  // Where a key's value came from, for validation messages about merged values.
  std::string where(const std::string& key) const {
    auto it = origin.find(key);
    return it != origin.end() ? it->second : key + " (default)";
  }
  bool set_here(const std::string& key) const { return origin.count(key) != 0; }
};

// ---- The TOML file ------------------------------------------------------------------------

const char* type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "a date/time";
  }
}

class file_reader {
 public:
  file_reader(load_state& st, std::string file) : st_(st), file_(std::move(file)) {}

  bool read(const toml::table& root);

 private:
  using keys = std::vector<std::string_view>;

  std::string label(const std::string& key, const toml::source_region& src) const {
    return file_ + ":" + std::to_string(src.begin.line) + ": " + key;
  }
  static std::string join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }
  // Fails on the first key of `t` not in `allowed`, listing the allowed ones.
  bool only_keys(const toml::table& t, const std::string& path, const keys& allowed);
  // Looks up `key` in `t`: nullptr when absent. Records the origin of a present one.
  const toml::node* find(const toml::table& t, const std::string& path, std::string_view key,
                         std::string& full, std::string& where);
  bool wrong_type(const std::string& where, const toml::node& n, const char* expected) {
    return st_.fail(where, std::string("expected ") + expected + ", got " + type_name(n));
  }

  bool get(const toml::table& t, const std::string& path, std::string_view key, std::string& out);
  bool get(const toml::table& t, const std::string& path, std::string_view key, bool& out);
  bool get(const toml::table& t, const std::string& path, std::string_view key,
           std::vector<std::string>& out);
  bool get(const toml::table& t, const std::string& path, std::string_view key, milliseconds& out);
  bool get(const toml::table& t, const std::string& path, std::string_view key, hub::access& out);
  // A non-negative integer up to `max`.
  bool get_count(const toml::table& t, const std::string& path, std::string_view key,
                 std::int64_t max, std::int64_t& out);
  bool get_size(const toml::table& t, const std::string& path, std::string_view key,
                std::size_t& out);
  // A string one of `choices` (for the message), parsed by `parse`.
  template <class T, class Parse>
  bool get_enum(const toml::table& t, const std::string& path, std::string_view key,
                const char* choices, Parse parse, T& out);

  bool read_namespace_options(const toml::table& t, const std::string& path,
                              hub::namespace_options& o);

  load_state& st_;
  std::string file_;
};

bool file_reader::only_keys(const toml::table& t, const std::string& path, const keys& allowed) {
  for (auto&& [k, v] : t) {
    bool known = false;
    for (std::string_view a : allowed) known = known || a == k.str();
    if (known) continue;
    std::string list;
    for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    std::string where = file_ + ":" + std::to_string(k.source().begin.line);
    return st_.fail(
        where, "unknown key " + join(path, k.str()) +
                   (path.empty() ? " (top-level keys and tables: " : " (keys of " + path + ": ") +
                   list + ")");
  }
  return true;
}

const toml::node* file_reader::find(const toml::table& t, const std::string& path,
                                    std::string_view key, std::string& full, std::string& where) {
  const toml::node* n = t.get(key);
  if (!n) return nullptr;
  full = join(path, key);
  where = label(full, n->source());
  st_.origin[full] = where;
  return n;
}

bool file_reader::get(const toml::table& t, const std::string& path, std::string_view key,
                      std::string& out) {
  std::string full, where;
  const toml::node* n = find(t, path, key, full, where);
  if (!n) return true;
  if (!n->is_string()) return wrong_type(where, *n, "a string");
  out = n->as_string()->get();
  return true;
}

bool file_reader::get(const toml::table& t, const std::string& path, std::string_view key,
                      bool& out) {
  std::string full, where;
  const toml::node* n = find(t, path, key, full, where);
  if (!n) return true;
  if (!n->is_boolean()) return wrong_type(where, *n, "true or false");
  out = n->as_boolean()->get();
  return true;
}

bool file_reader::get(const toml::table& t, const std::string& path, std::string_view key,
                      std::vector<std::string>& out) {
  std::string full, where;
  const toml::node* n = find(t, path, key, full, where);
  if (!n) return true;
  if (!n->is_array()) return wrong_type(where, *n, "an array of strings");
  std::vector<std::string> items;
  for (const toml::node& item : *n->as_array()) {
    if (!item.is_string()) return wrong_type(where, item, "an array of strings");
    items.push_back(item.as_string()->get());
  }
  out = std::move(items);
  return true;
}

bool file_reader::get(const toml::table& t, const std::string& path, std::string_view key,
                      milliseconds& out) {
  std::string full, where;
  const toml::node* n = find(t, path, key, full, where);
  if (!n) return true;
  constexpr const char* expected =
      "a duration like \"30s\", \"500ms\", \"5m\", \"1h\" or integer milliseconds";
  if (n->is_integer()) {
    std::int64_t v = n->as_integer()->get();
    if (v < 0)
      return st_.fail(where, std::string("expected ") + expected + ", got " + std::to_string(v));
    out = milliseconds(v);
    return true;
  }
  if (!n->is_string()) return wrong_type(where, *n, expected);
  const std::string& s = n->as_string()->get();
  auto d = parse_duration(s);
  if (!d) return st_.fail(where, std::string("expected ") + expected + ", got " + in_quotes(s));
  out = *d;
  return true;
}

bool file_reader::get(const toml::table& t, const std::string& path, std::string_view key,
                      hub::access& out) {
  return get_enum(t, path, key, "\"anonymous\", \"authenticated\", \"token\" or \"server\"",
                  parse_access, out);
}

template <class T, class Parse>
bool file_reader::get_enum(const toml::table& t, const std::string& path, std::string_view key,
                           const char* choices, Parse parse, T& out) {
  std::string full, where;
  const toml::node* n = find(t, path, key, full, where);
  if (!n) return true;
  if (!n->is_string()) return wrong_type(where, *n, choices);
  const std::string& s = n->as_string()->get();
  std::optional<T> v = parse(s);
  if (!v) return st_.fail(where, std::string("expected ") + choices + ", got " + in_quotes(s));
  out = *v;
  return true;
}

bool file_reader::get_count(const toml::table& t, const std::string& path, std::string_view key,
                            std::int64_t max, std::int64_t& out) {
  std::string full, where;
  const toml::node* n = find(t, path, key, full, where);
  if (!n) return true;
  if (!n->is_integer()) return wrong_type(where, *n, "an integer");
  std::int64_t v = n->as_integer()->get();
  if (v < 0 || v > max) {
    return st_.fail(where, "expected an integer from 0 to " + std::to_string(max) + ", got " +
                               std::to_string(v));
  }
  out = v;
  return true;
}

bool file_reader::get_size(const toml::table& t, const std::string& path, std::string_view key,
                           std::size_t& out) {
  std::string full, where;
  const toml::node* n = find(t, path, key, full, where);
  if (!n) return true;
  constexpr const char* expected =
      "a size in bytes (an integer, or a string like \"64KiB\", \"4MiB\")";
  std::optional<std::int64_t> v;
  if (n->is_integer()) {
    v = n->as_integer()->get();
    if (*v < 0)
      return st_.fail(where, std::string("expected ") + expected + ", got " + std::to_string(*v));
  } else if (n->is_string()) {
    v = parse_size(n->as_string()->get());
    if (!v) {
      return st_.fail(
          where, std::string("expected ") + expected + ", got " + in_quotes(n->as_string()->get()));
    }
  } else {
    return wrong_type(where, *n, expected);
  }
  out = static_cast<std::size_t>(*v);
  return true;
}

constexpr std::int64_t max_count = std::int64_t{1} << 40;

bool file_reader::read_namespace_options(const toml::table& t, const std::string& path,
                                         hub::namespace_options& o) {
  std::int64_t n = static_cast<std::int64_t>(o.history_size);
  if (!get_count(t, path, "history_size", max_count, n)) return false;
  o.history_size = static_cast<std::size_t>(n);
  if (!get(t, path, "history_ttl", o.history_ttl)) return false;
  n = static_cast<std::int64_t>(o.recovery_max_publications);
  if (!get_count(t, path, "recovery_max_publications", max_count, n)) return false;
  o.recovery_max_publications = static_cast<std::size_t>(n);
  if (!get(t, path, "presence", o.presence) || !get(t, path, "join_leave", o.join_leave) ||
      !get(t, path, "subscribe", o.subscribe) || !get(t, path, "publish", o.publish) ||
      !get(t, path, "presence_read", o.presence_read) ||
      !get(t, path, "history_read", o.history_read)) {
    return false;
  }
  n = static_cast<std::int64_t>(o.max_subscribers);
  if (!get_count(t, path, "max_subscribers", max_count, n)) return false;
  o.max_subscribers = static_cast<std::size_t>(n);
  return get_enum(t, path, "slow_consumer", "\"disconnect\" or \"drop\"", parse_slow,
                  o.slow_policy);
}

// Keys of [channel] and of each [[channel.namespace]] (which adds "name").
const std::vector<std::string_view> namespace_keys = {
    "history_size",    "history_ttl",   "recovery_max_publications",
    "presence",        "join_leave",    "subscribe",
    "publish",         "presence_read", "history_read",
    "max_subscribers", "slow_consumer"};

std::vector<std::string_view> with(std::vector<std::string_view> keys, std::string_view extra) {
  keys.push_back(extra);
  return keys;
}

// Fetches the table `key` of `root`; nullptr (and true) when absent.
bool sub_table(load_state& st, const std::string& file, const toml::table& root,
               std::string_view key, const toml::table*& out) {
  out = nullptr;
  const toml::node* n = root.get(key);
  if (!n) return true;
  if (!n->is_table()) {
    return st.fail(
        file + ":" + std::to_string(n->source().begin.line) + ": " + std::string(key),
        std::string("expected a table ([") + std::string(key) + "]), got " + type_name(*n));
  }
  out = n->as_table();
  return true;
}

bool file_reader::read(const toml::table& root) {
  config& c = st_.c;
  if (!only_keys(root, "",
                 {"broker", "shutdown_timeout", "listen", "auth", "client", "channel", "log",
                  "metrics"})) {
    return false;
  }
  if (!get(root, "", "broker", c.broker) ||
      !get(root, "", "shutdown_timeout", c.shutdown_timeout)) {
    return false;
  }

  const toml::table* t = nullptr;
  if (!sub_table(st_, file_, root, "listen", t)) return false;
  if (t) {
    const std::string p = "listen";
    if (!only_keys(*t, p, {"host", "port", "threads", "tls_cert", "tls_key", "web_root"}))
      return false;
    std::int64_t port = c.listen.port, threads = c.listen.threads;
    if (!get(*t, p, "host", c.listen.host)) return false;
    std::string full, where;
    if (const toml::node* n = find(*t, p, "port", full, where)) {
      if (!n->is_integer()) return wrong_type(where, *n, "an integer");
      port = n->as_integer()->get();
      if (auto bad = check_port(port)) return st_.fail(where, *bad);
    }
    if (const toml::node* n = find(*t, p, "threads", full, where)) {
      if (!n->is_integer()) return wrong_type(where, *n, "an integer");
      threads = n->as_integer()->get();
      if (auto bad = check_threads(threads)) return st_.fail(where, *bad);
    }
    c.listen.port = static_cast<std::uint16_t>(port);
    c.listen.threads = static_cast<unsigned>(threads);
    if (!get(*t, p, "tls_cert", c.listen.tls_cert) || !get(*t, p, "tls_key", c.listen.tls_key) ||
        !get(*t, p, "web_root", c.listen.web_root)) {
      return false;
    }
  }

  if (!sub_table(st_, file_, root, "auth", t)) return false;
  if (t) {
    const std::string p = "auth";
    if (!only_keys(*t, p,
                   {"api_key", "api_insecure", "token_hmac_secret", "token_rsa_public_key",
                    "token_audience", "token_issuer", "allow_anonymous"}) ||
        !get(*t, p, "api_key", c.auth.api_key) ||
        !get(*t, p, "api_insecure", c.auth.api_insecure) ||
        !get(*t, p, "token_hmac_secret", c.auth.token_hmac_secret) ||
        !get(*t, p, "token_rsa_public_key", c.auth.token_rsa_public_key) ||
        !get(*t, p, "token_audience", c.auth.token_audience) ||
        !get(*t, p, "token_issuer", c.auth.token_issuer) ||
        !get(*t, p, "allow_anonymous", c.auth.allow_anonymous)) {
      return false;
    }
  }

  if (!sub_table(st_, file_, root, "client", t)) return false;
  if (t) {
    const std::string p = "client";
    std::int64_t len = static_cast<std::int64_t>(c.client.channel_max_length);
    std::int64_t per_client = static_cast<std::int64_t>(c.client.max_channels_per_client);
    if (!only_keys(*t, p,
                   {"ping_interval", "pong_timeout", "max_message_size", "max_output_bytes",
                    "allowed_origins", "channel_max_length", "max_channels_per_client"}) ||
        !get(*t, p, "ping_interval", c.client.ping_interval) ||
        !get(*t, p, "pong_timeout", c.client.pong_timeout) ||
        !get_size(*t, p, "max_message_size", c.client.max_message_size) ||
        !get_size(*t, p, "max_output_bytes", c.client.max_output_bytes) ||
        !get(*t, p, "allowed_origins", c.client.allowed_origins) ||
        !get_count(*t, p, "channel_max_length", max_count, len) ||
        !get_count(*t, p, "max_channels_per_client", max_count, per_client)) {
      return false;
    }
    c.client.channel_max_length = static_cast<std::size_t>(len);
    c.client.max_channels_per_client = static_cast<std::size_t>(per_client);
  }

  if (!sub_table(st_, file_, root, "channel", t)) return false;
  if (t) {
    const std::string p = "channel";
    if (!only_keys(*t, p, with(namespace_keys, "namespace")) ||
        !read_namespace_options(*t, p, c.channel.default_options)) {
      return false;
    }
    if (const toml::node* n = t->get("namespace")) {
      const std::string where = label("channel.namespace", n->source());
      if (!n->is_array_of_tables()) {
        return wrong_type(where, *n, "an array of tables ([[channel.namespace]])");
      }
      std::size_t i = 0;
      for (const toml::node& item : *n->as_array()) {
        const toml::table& nt = *item.as_table();
        const std::string np = "channel.namespace[" + std::to_string(i++) + "]";
        namespace_config ns;
        if (!only_keys(nt, np, with(namespace_keys, "name"))) return false;
        std::string full, name_where;
        const toml::node* name = find(nt, np, "name", full, name_where);
        if (!name) return st_.fail(label(np, nt.source()), "missing key name");
        if (!name->is_string()) return wrong_type(name_where, *name, "a string");
        ns.name = name->as_string()->get();
        if (!read_namespace_options(nt, np, ns.options)) return false;
        c.channel.namespaces.push_back(std::move(ns));
      }
    }
  }

  if (!sub_table(st_, file_, root, "log", t)) return false;
  if (t) {
    const std::string p = "log";
    if (!only_keys(*t, p, {"level", "format"}) ||
        !get_enum(*t, p, "level",
                  "\"trace\", \"debug\", \"info\", \"warn\", \"error\", \"critical\" or \"off\"",
                  duplex::log::parse_level, c.log.level) ||
        !get_enum(*t, p, "format", "\"text\" or \"json\"", parse_log_format, c.log.format)) {
      return false;
    }
  }

  if (!sub_table(st_, file_, root, "metrics", t)) return false;
  if (t) {
    if (!only_keys(*t, "metrics", {"enabled"}) ||
        !get(*t, "metrics", "enabled", c.metrics_enabled)) {
      return false;
    }
  }
  return true;
}

// Reads a whole file; false with `err` set to the system's reason.
bool read_file(const std::string& path, std::string& out, std::string& err) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    err = std::strerror(errno);
    return false;
  }
  out.clear();
  char buf[8192];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  bool ok = !std::ferror(f);
  if (!ok) err = std::strerror(errno);
  std::fclose(f);
  return ok;
}

bool load_file(load_state& st, const std::string& file) {
  std::string text, err;
  if (!read_file(file, text, err)) return st.fail(file, "cannot read the config file: " + err);
  toml::table root;
  try {
    root = toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    return st.fail(file + ":" + std::to_string(e.source().begin.line) + ":" +
                       std::to_string(e.source().begin.column),
                   "TOML syntax error: " + std::string(e.description()));
  }
  return file_reader(st, file).read(root);
}

// ---- Environment and flags ------------------------------------------------------------------

// One setting that can come from the environment and possibly a flag. `apply` parses `text`
// into the config; it returns the reason when the text is bad.
struct override_def {
  const char* env;
  const char* flag;  // nullptr: environment only
  std::optional<std::string> config_flags::*member;
  const char* key;  // the file key it overrides, for messages and origins
  const char* type;
  const char* help;
  std::optional<std::string> (*apply)(config& c, const std::string& text);
};

std::optional<std::string> bad(const char* expected, const std::string& text) {
  return std::string("expected ") + expected + ", got " + in_quotes(text);
}

const override_def overrides[] = {
    {"DUPLEX_HOST", "--host", &config_flags::host, "listen.host", "ADDR",
     "address to bind (\"::\" for IPv6)",
     [](config& c, const std::string& v) -> std::optional<std::string> {
       c.listen.host = v;
       return std::nullopt;
     }},
    {"DUPLEX_PORT", "--port", &config_flags::port, "listen.port", "PORT",
     "port to listen on (0 picks a free one)",
     [](config& c, const std::string& v) -> std::optional<std::string> {
       auto n = parse_int(v);
       if (!n) return "not a port number: " + v;
       if (auto why = check_port(*n)) return why;
       c.listen.port = static_cast<std::uint16_t>(*n);
       return std::nullopt;
     }},
    {"DUPLEX_THREADS", "--threads", &config_flags::threads, "listen.threads", "N",
     "loop threads (0 = one per core)",
     [](config& c, const std::string& v) -> std::optional<std::string> {
       auto n = parse_int(v);
       if (!n) return bad("a thread count", v);
       if (auto why = check_threads(*n)) return why;
       c.listen.threads = static_cast<unsigned>(*n);
       return std::nullopt;
     }},
    {"DUPLEX_TLS_CERT", "--tls-cert", &config_flags::tls_cert, "listen.tls_cert", "FILE",
     "PEM certificate chain (serve https/wss only)",
     [](config& c, const std::string& v) -> std::optional<std::string> {
       c.listen.tls_cert = v;
       return std::nullopt;
     }},
    {"DUPLEX_TLS_KEY", "--tls-key", &config_flags::tls_key, "listen.tls_key", "FILE",
     "PEM private key of --tls-cert",
     [](config& c, const std::string& v) -> std::optional<std::string> {
       c.listen.tls_key = v;
       return std::nullopt;
     }},
    {"DUPLEX_WEB_ROOT", "--web-root", &config_flags::web_root, "listen.web_root", "DIR",
     "folder of the demo pages",
     [](config& c, const std::string& v) -> std::optional<std::string> {
       c.listen.web_root = v;
       return std::nullopt;
     }},
    {"DUPLEX_API_KEY", "--api-key", &config_flags::api_key, "auth.api_key", "KEY",
     "key of the server HTTP API (empty: API disabled)",
     [](config& c, const std::string& v) -> std::optional<std::string> {
       c.auth.api_key = v;
       return std::nullopt;
     }},
    {"DUPLEX_API_INSECURE", nullptr, nullptr, "auth.api_insecure", nullptr, nullptr,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       auto b = parse_bool(v);
       if (!b) return bad("true or false", v);
       c.auth.api_insecure = *b;
       return std::nullopt;
     }},
    {"DUPLEX_TOKEN_SECRET", "--token-secret", &config_flags::token_secret, "auth.token_hmac_secret",
     "SECRET", "HMAC secret of HS256 connection/subscription tokens",
     [](config& c, const std::string& v) -> std::optional<std::string> {
       c.auth.token_hmac_secret = v;
       return std::nullopt;
     }},
    {"DUPLEX_TOKEN_RSA_PUBLIC_KEY", nullptr, nullptr, "auth.token_rsa_public_key", nullptr, nullptr,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       c.auth.token_rsa_public_key = v;
       return std::nullopt;
     }},
    {"DUPLEX_TOKEN_AUDIENCE", nullptr, nullptr, "auth.token_audience", nullptr, nullptr,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       c.auth.token_audience = v;
       return std::nullopt;
     }},
    {"DUPLEX_TOKEN_ISSUER", nullptr, nullptr, "auth.token_issuer", nullptr, nullptr,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       c.auth.token_issuer = v;
       return std::nullopt;
     }},
    {"DUPLEX_ALLOW_ANONYMOUS", nullptr, nullptr, "auth.allow_anonymous", nullptr, nullptr,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       auto b = parse_bool(v);
       if (!b) return bad("true or false", v);
       c.auth.allow_anonymous = *b;
       return std::nullopt;
     }},
    {"DUPLEX_ALLOWED_ORIGINS", nullptr, nullptr, "client.allowed_origins", nullptr, nullptr,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       c.client.allowed_origins = split_list(v);
       return std::nullopt;
     }},
    {"DUPLEX_BROKER", "--broker", &config_flags::broker, "broker", "URL",
     "\"memory\" or redis://host:port",
     [](config& c, const std::string& v) -> std::optional<std::string> {
       c.broker = v;
       return std::nullopt;
     }},
    {"DUPLEX_LOG_LEVEL", "--log-level", &config_flags::log_level, "log.level", "LEVEL",
     "trace, debug, info, warn, error, critical or off",
     [](config& c, const std::string& v) -> std::optional<std::string> {
       auto l = duplex::log::parse_level(v);
       if (!l) return bad("trace, debug, info, warn, error, critical or off", v);
       c.log.level = *l;
       return std::nullopt;
     }},
    {"DUPLEX_LOG_FORMAT", nullptr, nullptr, "log.format", nullptr, nullptr,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       auto f = parse_log_format(v);
       if (!f) return bad("text or json", v);
       c.log.format = *f;
       return std::nullopt;
     }},
    {"DUPLEX_METRICS", nullptr, nullptr, "metrics.enabled", nullptr, nullptr,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       auto b = parse_bool(v);
       if (!b) return bad("true or false", v);
       c.metrics_enabled = *b;
       return std::nullopt;
     }},
    {"DUPLEX_SHUTDOWN_TIMEOUT", nullptr, nullptr, "shutdown_timeout", nullptr, nullptr,
     [](config& c, const std::string& v) -> std::optional<std::string> {
       auto d = parse_duration(v);
       if (!d) return bad("a duration like \"5s\" or integer milliseconds", v);
       c.shutdown_timeout = *d;
       return std::nullopt;
     }},
};

// ---- Validation of the merged result ----------------------------------------------------------

bool validate_namespace(load_state& st, const std::string& p, const hub::namespace_options& o,
                        bool have_token_key) {
  const std::string size = p + ".history_size", ttl = p + ".history_ttl";
  if ((o.history_size > 0) != (o.history_ttl.count() > 0)) {
    // Blame the key the user wrote (the other one is then a default they may not know about).
    bool size_nonzero = o.history_size > 0;
    const std::string& set = st.set_here(size) ? size : st.set_here(ttl) ? ttl : size;
    return st.fail(st.where(set), size + " is " + std::to_string(o.history_size) + " but " + ttl +
                                      " is " + format_duration(o.history_ttl) +
                                      ": history needs both non-zero (or " +
                                      "both 0 to disable it); set " + (size_nonzero ? ttl : size));
  }
  if (o.join_leave && !o.presence) {
    const std::string jl = p + ".join_leave", pr = p + ".presence";
    return st.fail(st.where(st.set_here(jl) ? jl : pr),
                   jl + " = true needs " + pr + " = true (join/leave events come from presence)");
  }
  const std::pair<const char*, hub::access> rules[] = {{"subscribe", o.subscribe},
                                                       {"publish", o.publish},
                                                       {"presence_read", o.presence_read},
                                                       {"history_read", o.history_read}};
  for (auto [name, rule] : rules) {
    // Only "token" is refused: "authenticated" without a key is merely closed to clients (the
    // library default of a bare namespace), while "token" without a key is surely a mistake.
    if (rule == hub::access::token_only && !have_token_key) {
      const std::string k = p + "." + name;
      return st.fail(st.where(k), k + " = \"" + std::string(access_name(rule)) +
                                      "\" needs auth.token_hmac_secret or "
                                      "auth.token_rsa_public_key: without a token key no client "
                                      "could ever qualify");
    }
  }
  return true;
}

bool validate(load_state& st) {
  config& c = st.c;
  if (c.listen.host.empty()) return st.fail(st.where("listen.host"), "must not be empty");
  if (c.listen.tls_cert.empty() != c.listen.tls_key.empty()) {
    const char* set = c.listen.tls_cert.empty() ? "listen.tls_key" : "listen.tls_cert";
    const char* missing = c.listen.tls_cert.empty() ? "listen.tls_cert" : "listen.tls_key";
    return st.fail(st.where(set), std::string(set) + " is set but " + missing +
                                      " is not: TLS needs both (or neither)");
  }
  const std::pair<const char*, const std::string*> tls_files[] = {
      {"listen.tls_cert", &c.listen.tls_cert}, {"listen.tls_key", &c.listen.tls_key}};
  for (auto [k, file] : tls_files) {
    const std::string& path = *file;
    std::string content, err;
    if (!path.empty() && !read_file(path, content, err)) {
      return st.fail(st.where(k), "cannot read " + in_quotes(path) + ": " + err);
    }
  }

  if (c.broker != "memory") {
    std::string why;
    if (!redis::parse_url(c.broker, &why)) {
      return st.fail(st.where("broker"),
                     "expected \"memory\" or \"redis://[:password@]host[:port][/db]\", got " +
                         in_quotes(c.broker) + " (" + why + ")");
    }
  }


  // A key given as a path is replaced by the file's content (see auth_config).
  std::string& rsa = c.auth.token_rsa_public_key;
  if (!rsa.empty() && rsa.find("-----BEGIN") == std::string::npos) {
    std::string pem, err;
    if (!read_file(rsa, pem, err)) {
      return st.fail(st.where("auth.token_rsa_public_key"),
                     "not PEM text, and cannot read it as a file " + in_quotes(rsa) + ": " + err);
    }
    rsa = std::move(pem);
  }
  const bool have_token_key = !c.auth.token_hmac_secret.empty() || !rsa.empty();
  if (have_token_key) {
    std::string err;
    if (!jwt_verifier::create(to_jwt_config(c), err)) {
      return st.fail(st.where(rsa.empty() ? "auth.token_hmac_secret" : "auth.token_rsa_public_key"),
                     err);
    }
  } else if (!c.auth.allow_anonymous) {
    return st.fail(st.where("auth.allow_anonymous"),
                   "auth.allow_anonymous = false needs auth.token_hmac_secret or "
                   "auth.token_rsa_public_key: otherwise no client could connect");
  }

  const client_config& cl = c.client;
  if (cl.ping_interval.count() <= 0)
    return st.fail(st.where("client.ping_interval"), "must be > 0");
  if (cl.pong_timeout.count() <= 0) return st.fail(st.where("client.pong_timeout"), "must be > 0");
  if (cl.pong_timeout >= cl.ping_interval) {
    return st.fail(st.where(st.set_here("client.pong_timeout") ? "client.pong_timeout"
                                                               : "client.ping_interval"),
                   "client.pong_timeout (" + format_duration(cl.pong_timeout) +
                       ") must be shorter than client.ping_interval (" +
                       format_duration(cl.ping_interval) + ")");
  }
  if (cl.max_message_size == 0) return st.fail(st.where("client.max_message_size"), "must be > 0");
  if (cl.max_output_bytes == 0) return st.fail(st.where("client.max_output_bytes"), "must be > 0");
  if (cl.channel_max_length == 0 || cl.channel_max_length > 4096) {
    return st.fail(st.where("client.channel_max_length"),
                   "expected 1 to 4096, got " + std::to_string(cl.channel_max_length));
  }
  if (c.shutdown_timeout.count() <= 0) return st.fail(st.where("shutdown_timeout"), "must be > 0");

  if (!validate_namespace(st, "channel", c.channel.default_options, have_token_key)) return false;
  std::set<std::string> names;
  for (std::size_t i = 0; i < c.channel.namespaces.size(); ++i) {
    const namespace_config& ns = c.channel.namespaces[i];
    const std::string p = "channel.namespace[" + std::to_string(i) + "]";
    const std::string probe = ns.name + ":x";
    hub::channel_parse_result r = hub::parse_channel(probe, probe.size());
    if (ns.name.empty() || r.err != hub::channel_error::ok || r.name.ns != ns.name) {
      return st.fail(st.where(p + ".name"),
                     "namespace name " + in_quotes(ns.name) + " must be letters, digits, _ . or -");
    }
    if (!names.insert(ns.name).second) {
      return st.fail(st.where(p + ".name"),
                     "namespace " + in_quotes(ns.name) + " is defined twice");
    }
    if (!validate_namespace(st, p, ns.options, have_token_key)) return false;
  }
  return true;
}

}  // namespace

void add_serve_flags(CLI::App& cmd, config_flags& flags) {
  cmd.add_option_function<std::string>(
         "--config", [&flags](const std::string& v) { flags.config_file = v; },
         "TOML config file (see `duplex genconfig`); env DUPLEX_CONFIG")
      ->type_name("FILE");
  for (const override_def& d : overrides) {
    if (!d.flag) continue;
    std::optional<std::string> config_flags::*member = d.member;
    cmd.add_option_function<std::string>(
           d.flag, [&flags, member](const std::string& v) { flags.*member = v; },
           std::string(d.help) + "; env " + d.env)
        ->type_name(d.type);
  }
}

std::vector<std::string> environment_variables() {
  std::vector<std::string> out{"DUPLEX_CONFIG"};
  for (const override_def& d : overrides) out.emplace_back(d.env);
  return out;
}

bool load_config(const std::string& file, const config_flags& flags,
                 const std::function<const char*(const char*)>& getenv_fn, config& out,
                 std::string& why) {
  auto env = [&getenv_fn](const char* name) -> std::optional<std::string> {
    const char* v = getenv_fn ? getenv_fn(name) : nullptr;
    if (!v || !*v) return std::nullopt;
    return std::string(v);
  };
  out = config{};
  load_state st{out, why, {}};
  try {
    std::string path = file;
    if (path.empty()) path = env("DUPLEX_CONFIG").value_or("");
    if (!path.empty() && !load_file(st, path)) return false;

    for (const override_def& d : overrides) {
      if (auto v = env(d.env)) {
        if (auto reason = d.apply(out, *v)) return st.fail(d.env, *reason);
        st.origin[d.key] = d.env;
      }
    }
    for (const override_def& d : overrides) {
      if (!d.member) continue;
      if (const std::optional<std::string>& v = flags.*d.member) {
        if (auto reason = d.apply(out, *v)) return st.fail(d.flag, *reason);
        st.origin[d.key] = d.flag;
      }
    }
    return validate(st);
  } catch (const std::exception& e) {  // allocation failure or a library throwing: no crash
    why = std::string("cannot load the configuration: ") + e.what();
    return false;
  }
}

}  // namespace duplex::service
