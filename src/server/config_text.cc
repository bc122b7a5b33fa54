// The configuration as text (genconfig's starter file, checkconfig's summary), its conversions
// to the options of the layers main wires together, and gentoken's user tokens.
#include "server/config.h"

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "hub/channel_name.h"

namespace duplex::service {

std::string_view access_name(hub::access a) noexcept {
  switch (a) {
    case hub::access::anonymous:
      return "anonymous";
    case hub::access::authenticated:
      return "authenticated";
    case hub::access::token_only:
      return "token";
    case hub::access::server_only:
      return "server";
  }
  return "?";
}

std::string format_duration(std::chrono::milliseconds d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {  // not produced by the parser; shown as is rather than hidden
    out = "-";
    ms = -ms;
  }
  const std::pair<std::int64_t, const char*> units[] = {
      {3'600'000, "h"}, {60'000, "m"}, {1000, "s"}, {1, "ms"}};
  for (auto [size, name] : units) {
    if (ms >= size) {
      out += std::to_string(ms / size) + name;
      ms %= size;
    }
  }
  return out;
}

namespace {

std::string_view level_name(duplex::log::level l) {
  switch (l) {
    case duplex::log::level::trace:
      return "trace";
    case duplex::log::level::debug:
      return "debug";
    case duplex::log::level::info:
      return "info";
    case duplex::log::level::warn:
      return "warn";
    case duplex::log::level::error:
      return "error";
    case duplex::log::level::critical:
      return "critical";
    case duplex::log::level::off:
      return "off";
  }
  return "?";
}

// A TOML basic string (TOML 1.0 "Basic strings": escape '"', '\\' and control characters).
std::string toml_string(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c == 0x7f) {
      static constexpr char hex[] = "0123456789ABCDEF";
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string toml_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + toml_string(items[i]);
  return out + "]";
}

std::string format_size(std::size_t n) {
  const std::pair<std::size_t, const char*> units[] = {
      {std::size_t{1} << 30, "GiB"}, {std::size_t{1} << 20, "MiB"}, {std::size_t{1} << 10, "KiB"}};
  for (auto [size, name] : units) {
    if (n >= size && n % size == 0) return std::to_string(n / size) + name;
  }
  return std::to_string(n);
}

std::string toml_size(std::size_t n) {
  std::string s = format_size(n);
  return s.back() == 'B' ? toml_string(s) : s;
}

const char* toml_bool(bool b) { return b ? "true" : "false"; }

const char* slow_name(hub::slow_consumer_policy p) {
  return p == hub::slow_consumer_policy::drop ? "drop" : "disconnect";
}

// The option keys of one namespace, each line prefixed by `prefix` ("" or "# ").
std::string namespace_text(const hub::namespace_options& o, const char* prefix) {
  std::string out;
  auto line = [&](const std::string& s) { out += prefix + s + "\n"; };
  line("history_size = " + std::to_string(o.history_size));
  line("history_ttl = " + toml_string(format_duration(o.history_ttl)));
  line("recovery_max_publications = " + std::to_string(o.recovery_max_publications));
  line(std::string("presence = ") + toml_bool(o.presence));
  line(std::string("join_leave = ") + toml_bool(o.join_leave));
  line("subscribe = " + toml_string(access_name(o.subscribe)));
  line("publish = " + toml_string(access_name(o.publish)));
  line("presence_read = " + toml_string(access_name(o.presence_read)));
  line("history_read = " + toml_string(access_name(o.history_read)));
  line("max_subscribers = " + std::to_string(o.max_subscribers));
  line("slow_consumer = " + toml_string(slow_name(o.slow_policy)));
  return out;
}

std::string describe_namespace(const hub::namespace_options& o) {
  std::string s;
  if (o.history_enabled()) {
    s = "history " + std::to_string(o.history_size) + " for " + format_duration(o.history_ttl) +
        " (recovery up to " + std::to_string(o.recovery_max_publications) + ")";
  } else {
    s = "no history";
  }
  s += o.presence ? (o.join_leave ? ", presence + join/leave" : ", presence") : ", no presence";
  s += "; subscribe " + std::string(access_name(o.subscribe)) + ", publish " +
       std::string(access_name(o.publish)) + ", presence " +
       std::string(access_name(o.presence_read)) + ", history " +
       std::string(access_name(o.history_read));
  s += "; max subscribers " +
       (o.max_subscribers ? std::to_string(o.max_subscribers) : std::string("unlimited"));
  s += std::string(", slow consumers: ") + slow_name(o.slow_policy);
  return s;
}

}  // namespace

std::string genconfig_text() {
  const config d;
  const std::string env_note = " (env DUPLEX_";
  std::string t;
  t += "# duplex configuration (TOML), written by `duplex genconfig`. Every key is shown with its\n"
       "# built-in default; delete what you do not change. Unknown keys are errors.\n"
       "# Precedence: built-in defaults < this file < DUPLEX_* environment variables < flags.\n"
       "# Durations: \"500ms\", \"25s\", \"5m\", \"1h\", \"1m30s\" or an integer (milliseconds).\n"
       "# Sizes: an integer (bytes) or \"64KiB\", \"4MiB\", \"1GiB\".\n"
       "# The defaults are for development: anyone may connect, subscribe and publish without a\n"
       "# token. For production set auth.api_key and a token key, and tighten [channel].\n"
       "\n"
       "# Broker between duplex nodes: \"memory\" (one node) or \"redis://host:port\" (many\n"
       "# nodes as one). (env DUPLEX_BROKER, --broker)\n";
  t += "broker = " + toml_string(d.broker) + "\n";
  t += "# How long a graceful stop (SIGTERM/SIGINT) waits for clients to go.\n";
  t += "shutdown_timeout = " + toml_string(format_duration(d.shutdown_timeout)) + "\n\n";

  t += "[listen]\n";
  t += "# Address to bind; \"::\" for IPv6. (env DUPLEX_HOST, --host)\n";
  t += "host = " + toml_string(d.listen.host) + "\n";
  t += "# 0 picks a free port (printed at start). (env DUPLEX_PORT, --port)\n";
  t += "port = " + std::to_string(d.listen.port) + "\n";
  t += "# Loop threads, at most 1024; 0 = one per core. (env DUPLEX_THREADS, --threads)\n";
  t += "threads = " + std::to_string(d.listen.threads) + "\n";
  t += "# PEM certificate chain and private key files: both set = https/wss only.\n";
  t += "# (env DUPLEX_TLS_CERT, DUPLEX_TLS_KEY; --tls-cert, --tls-key)\n";
  t += "tls_cert = " + toml_string(d.listen.tls_cert) + "\n";
  t += "tls_key = " + toml_string(d.listen.tls_key) + "\n";
  t += "# Folder of the demo pages; \"\" = the one of this build. (env DUPLEX_WEB_ROOT, "
       "--web-root)\n";
  t += "web_root = " + toml_string(d.listen.web_root) + "\n\n";

  t += "[auth]\n";
  t += "# Key of the server HTTP API; \"\" disables the API. (env DUPLEX_API_KEY, --api-key)\n";
  t += "api_key = " + toml_string(d.auth.api_key) + "\n";
  t += "# Serve the API with no key check at all (development only). (env DUPLEX_API_INSECURE)\n";
  t += "api_insecure = " + std::string(toml_bool(d.auth.api_insecure)) + "\n";
  t += "# HS256 secret of connection and subscription tokens. (env DUPLEX_TOKEN_SECRET, "
       "--token-secret)\n";
  t += "token_hmac_secret = " + toml_string(d.auth.token_hmac_secret) + "\n";
  t += "# RS256 public key: PEM text (\"-----BEGIN PUBLIC KEY-----...\") or the path of a PEM "
       "file.\n";
  t += "# (env DUPLEX_TOKEN_RSA_PUBLIC_KEY)\n";
  t += "token_rsa_public_key = " + toml_string(d.auth.token_rsa_public_key) + "\n";
  t += "# When set, a token's aud must contain / iss must equal these. (env "
       "DUPLEX_TOKEN_AUDIENCE,\n";
  t += "# DUPLEX_TOKEN_ISSUER)\n";
  t += "token_audience = " + toml_string(d.auth.token_audience) + "\n";
  t += "token_issuer = " + toml_string(d.auth.token_issuer) + "\n";
  t += "# Clients may connect without a token; false needs a token key. (env "
       "DUPLEX_ALLOW_ANONYMOUS)\n";
  t += "allow_anonymous = " + std::string(toml_bool(d.auth.allow_anonymous)) + "\n\n";

  t += "[client]\n";
  t += "# The server pings a silent client after ping_interval; no pong within pong_timeout\n";
  t += "# (shorter than ping_interval) disconnects it.\n";
  t += "ping_interval = " + toml_string(format_duration(d.client.ping_interval)) + "\n";
  t += "pong_timeout = " + toml_string(format_duration(d.client.pong_timeout)) + "\n";
  t += "# Largest message a client may send.\n";
  t += "max_message_size = " + toml_size(d.client.max_message_size) + "\n";
  t += "# Unsent output per connection before the slow-consumer policy applies.\n";
  t += "max_output_bytes = " + toml_size(d.client.max_output_bytes) + "\n";
  t += "# Origins browser pages may connect from (WebSocket, HTTP-streaming, SSE, emulation;\n";
  t += "# CORS preflights answered), e.g. [\"https://example.com\"]; [] = any.\n";
  t += "# (env DUPLEX_ALLOWED_ORIGINS, comma-separated)\n";
  t += "allowed_origins = " + toml_list(d.client.allowed_origins) + "\n";
  t += "# Longest channel name (1 to 4096), and channels per client (0 = unlimited).\n";
  t += "channel_max_length = " + std::to_string(d.client.channel_max_length) + "\n";
  t += "max_channels_per_client = " + std::to_string(d.client.max_channels_per_client) + "\n\n";

  t += "# Channels without a namespace (\"news\"; \"chat:room\" is namespace \"chat\").\n"
       "# history_size and history_ttl: both non-zero keep history (offsets, recovery), both 0\n"
       "# disable it. join_leave needs presence. Access rules (subscribe, publish, presence_read,\n"
       "# history_read): \"anonymous\" (anyone), \"authenticated\" (a user from a token),\n"
       "# \"token\" (a subscription token for the channel), \"server\" (server API only).\n"
       "# slow_consumer: \"disconnect\" (client reconnects and recovers) or \"drop\" (it is told\n"
       "# it has a gap). max_subscribers: per channel, 0 = unlimited.\n";
  t += "[channel]\n";
  t += namespace_text(d.channel.default_options, "");
  t += "\n# A namespace takes the keys above plus its name. Keys it leaves out do NOT come from\n"
       "# [channel]: they are the restrictive defaults (no history, no presence, subscribe and\n"
       "# reads by authenticated users, publish by the server). Repeat the block per namespace.\n";
  hub::namespace_options example;
  example.history_size = 50;
  example.history_ttl = std::chrono::minutes(10);
  example.presence = true;
  example.publish = hub::access::authenticated;
  example.slow_policy = hub::slow_consumer_policy::drop;
  t += "# [[channel.namespace]]\n# name = \"chat\"\n" + namespace_text(example, "# ") + "\n";

  t += "[log]\n";
  t += "# trace, debug, info, warn, error, critical or off. (env DUPLEX_LOG_LEVEL, --log-level)\n";
  t += "level = " + toml_string(level_name(d.log.level)) + "\n";
  t += "# \"text\" or \"json\" (one object per line). (env DUPLEX_LOG_FORMAT)\n";
  t += "format = " + toml_string(d.log.format == log_format::json ? "json" : "text") + "\n\n";

  t += "[metrics]\n";
  t += "# Prometheus text at GET /metrics. (env DUPLEX_METRICS)\n";
  t += "enabled = " + std::string(toml_bool(d.metrics_enabled)) + "\n";
  return t;
}

std::string describe(const config& c) {
  std::string s;
  const listen_config& l = c.listen;
  s += "listen: " + l.host + ":" + std::to_string(l.port) + (l.port == 0 ? " (free port)" : "") +
       ", threads " + (l.threads ? std::to_string(l.threads) : std::string("one per core")) +
       (l.tls_cert.empty() ? ", plain HTTP/WS" : ", TLS (" + l.tls_cert + ")") + "\n";
  s += "web root: " + (l.web_root.empty() ? std::string("build default") : l.web_root) + "\n";
  s += "broker: " + c.broker + "\n";
  const auth_config& a = c.auth;
  s += std::string("server API: ") +
       (a.api_insecure      ? "INSECURE (no key check)"
        : a.api_key.empty() ? "disabled (no api_key)"
                            : "enabled (api_key set)") +
       "\n";
  std::string keys;
  if (!a.token_hmac_secret.empty()) keys = "HS256";
  if (!a.token_rsa_public_key.empty()) keys += keys.empty() ? "RS256" : " + RS256";
  s += "tokens: " + (keys.empty() ? std::string("none") : keys) +
       (a.token_audience.empty() ? "" : ", audience " + a.token_audience) +
       (a.token_issuer.empty() ? "" : ", issuer " + a.token_issuer) +
       (a.allow_anonymous ? "; anonymous connections allowed" : "; token required to connect") +
       "\n";
  const client_config& cl = c.client;
  s += "clients: ping every " + format_duration(cl.ping_interval) + ", pong timeout " +
       format_duration(cl.pong_timeout) + ", max message " + format_size(cl.max_message_size) +
       ", output limit " + format_size(cl.max_output_bytes) + ", channels per client " +
       (cl.max_channels_per_client ? std::to_string(cl.max_channels_per_client)
                                   : std::string("unlimited")) +
       ", channel names up to " + std::to_string(cl.channel_max_length) + "\n";
  std::string origins;
  for (const std::string& o : cl.allowed_origins) origins += (origins.empty() ? "" : ", ") + o;
  s += "origins: " + (origins.empty() ? std::string("any") : origins) + "\n";
  s += "channels (default namespace): " + describe_namespace(c.channel.default_options) + "\n";
  for (const namespace_config& ns : c.channel.namespaces) {
    s += "namespace " + ns.name + ": " + describe_namespace(ns.options) + "\n";
  }
  s += "log: " + std::string(level_name(c.log.level)) +
       (c.log.format == log_format::json ? ", json" : ", text") + "; metrics " +
       (c.metrics_enabled ? "on" : "off") + "; shutdown timeout " +
       format_duration(c.shutdown_timeout) + "\n";
  return s;
}

duplex::websocket_options to_websocket_options(const config& c) {
  duplex::websocket_options o;
  o.max_message_size = c.client.max_message_size;
  o.ping_interval = std::chrono::milliseconds(0);
  o.idle_timeout = c.client.ping_interval + c.client.pong_timeout;
  o.max_backpressure = c.client.max_output_bytes;
  o.on_backpressure = duplex::backpressure_policy::close;
  o.allowed_origins = c.client.allowed_origins;
  return o;
}

hub::namespace_table to_namespace_table(const config& c) {
  hub::namespace_table t(c.channel.default_options);
  for (const namespace_config& ns : c.channel.namespaces) t.add(ns.name, ns.options);
  t.max_channel_length = c.client.channel_max_length;
  return t;
}

jwt_config to_jwt_config(const config& c) {
  jwt_config j;
  j.hmac_secret = c.auth.token_hmac_secret;
  j.rsa_public_key_pem = c.auth.token_rsa_public_key;
  j.audience = c.auth.token_audience;
  j.issuer = c.auth.token_issuer;
  return j;
}

std::string make_user_token(const config& c, std::string user, std::chrono::seconds ttl,
                            std::vector<std::string> channels, std::string& why) {
  if (c.auth.token_hmac_secret.empty()) {
    why =
        "no HMAC secret configured (auth.token_hmac_secret, DUPLEX_TOKEN_SECRET or "
        "--token-secret): cannot sign an HS256 token";
    return "";
  }
  constexpr std::int64_t max_ttl = std::int64_t{100} * 366 * 24 * 3600;  // keeps exp in range
  if (ttl.count() <= 0 || ttl.count() > max_ttl) {
    why = "token lifetime must be from 1s to 100 years, got " + std::to_string(ttl.count()) + "s";
    return "";
  }
  for (const std::string& ch : channels) {
    hub::channel_parse_result r = hub::parse_channel(ch, c.client.channel_max_length);
    if (r.err != hub::channel_error::ok) {
      why = "bad channel name \"" + ch + "\": " + std::string(hub::to_string(r.err));
      return "";
    }
  }
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  nlohmann::json claims = {{"sub", std::move(user)}, {"iat", now}, {"exp", now + ttl.count()}};
  if (!channels.empty()) claims["channels"] = std::move(channels);
  if (!c.auth.token_audience.empty()) claims["aud"] = c.auth.token_audience;
  if (!c.auth.token_issuer.empty()) claims["iss"] = c.auth.token_issuer;
  std::string token;
  try {
    // The user id comes from the command line: invalid UTF-8 makes dump() throw.
    token = make_hs256_token(claims.dump(), c.auth.token_hmac_secret);
  } catch (const nlohmann::json::exception& e) {
    why = std::string("cannot encode the claims: ") + e.what();
    return "";
  }
  if (token.empty()) why = "signing failed (OpenSSL)";
  return token;
}

}  // namespace duplex::service
