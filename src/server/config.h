// Configuration of `duplex serve` (and of checkconfig, genconfig and gentoken).
//
// Four sources, each overriding the one before, key by key:
//   1. built-in defaults: the values of a default-constructed `config`. They are DEVELOPMENT
//      defaults: port 8000, in-memory broker, anonymous connections allowed and a default
//      channel namespace that anonymous clients may subscribe to and publish in, with history
//      and presence. A production file should tighten [channel] and [auth].
//   2. a TOML file (--config FILE, or DUPLEX_CONFIG when no --config is given);
//   3. environment variables DUPLEX_<NAME> (an empty variable counts as unset);
//   4. command-line flags (add_serve_flags).
// The merged result is validated once; every error names where the bad value came from
// ("duplex.toml:12: channel.namespace[0].history_ttl: ...", "DUPLEX_PORT: ...", "--port: ...")
// and why. Unknown keys in the file are errors, so a typo never passes silently.
//
// File format (genconfig_text() writes a commented starter that documents every key):
//   top level   broker = "memory", shutdown_timeout = "5s"
//   [listen]    host, port, threads, tls_cert, tls_key, web_root
//   [auth]      api_key, api_insecure, token_hmac_secret, token_rsa_public_key,
//               token_audience, token_issuer, allow_anonymous
//   [client]    ping_interval, pong_timeout, max_message_size, max_output_bytes,
//               allowed_origins, channel_max_length, max_channels_per_client
//   [channel]   options of channels without a namespace (keys below)
//   [[channel.namespace]]  name = "chat" plus the same option keys, one table per namespace
//   [log]       level, format
//   [metrics]   enabled
// Channel option keys: history_size, history_ttl, recovery_max_publications, presence,
// join_leave, subscribe, publish, presence_read, history_read (each "anonymous",
// "authenticated", "token" or "server"), max_subscribers (0 = unlimited), slow_consumer
// ("disconnect" or "drop").
// Durations are strings of number+unit pairs, units ms, s, m, h ("500ms", "25s", "1m30s",
// "1h"), or plain integers meaning milliseconds. Sizes are integers (bytes) or strings with a
// binary suffix ("64KiB", "4MiB", "1GiB"; "B" or no suffix = bytes).
//
// Namespaces: [channel] starts from the development defaults above, key by key. A
// [[channel.namespace]] does NOT inherit from [channel]: keys it leaves out take the library's
// restrictive defaults (hub::namespace_options{}: no history, no presence, subscribe and reads
// by authenticated users, publish by the server only), so adding a namespace never opens it up
// by accident.
//
// Validation beyond each value's own range: tls_cert and tls_key both or neither (and readable);
// history_size and history_ttl both non-zero or both 0; join_leave needs presence;
// pong_timeout < ping_interval; an access rule "token" needs a token key (no client could ever
// qualify otherwise; "authenticated" without a key is allowed: it just closes the action to
// clients); allow_anonymous = false needs a token key; namespace names valid and unique; token
// keys must load (jwt_verifier::create).
//
// Everything here runs once at start-up on one thread; nothing is on the data path. A `config`
// is a plain value: copy it freely, read it from any thread once it is no longer modified.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/log.h"
#include "duplex/websocket.h"
#include "hub/namespace_options.h"
#include "server/jwt.h"

namespace CLI {
class App;
}

namespace duplex::service {

struct listen_config {
  std::string host = "0.0.0.0";
  std::uint16_t port = 8000;  // 0 = pick a free port
  unsigned threads = 0;       // loop threads, at most 1024; 0 = one per core
  std::string tls_cert;       // PEM file paths; both or neither (then https/wss only)
  std::string tls_key;
  std::string web_root;  // demo pages folder; empty = the build's default (main picks it)
  bool operator==(const listen_config&) const = default;
};

struct auth_config {
  // Server HTTP API key. Empty: the API is disabled, unless api_insecure, which serves it
  // without any key check (development only; the key is then ignored).
  std::string api_key;
  bool api_insecure = false;
  // Connection and subscription tokens: HS256 with this shared secret and/or RS256 with this
  // public key. token_rsa_public_key holds PEM text after load_config; in the file, the
  // environment or a flag it may also be a path to a PEM file (anything that does not contain
  // "-----BEGIN" is taken as a path, relative to the current directory), which load_config
  // replaces by the file's content. Both keys are checked with jwt_verifier at load time.
  std::string token_hmac_secret;
  std::string token_rsa_public_key;
  std::string token_audience;  // when set, tokens' `aud` must contain it
  std::string token_issuer;    // when set, tokens' `iss` must equal it
  // Clients may connect without a token (as anonymous users). The built-in default is true so
  // that `duplex serve` works with no setup; false requires a token key (else nobody could
  // connect, which load_config reports as an error).
  bool allow_anonymous = true;
  bool operator==(const auth_config&) const = default;
};

// Client sessions (Centrifugo protocol and the other endpoints).
struct client_config {
  // Application-level ping: the server pings after ping_interval of silence and disconnects a
  // client that has not answered within pong_timeout. pong_timeout < ping_interval.
  std::chrono::milliseconds ping_interval{25000};
  std::chrono::milliseconds pong_timeout{8000};
  std::size_t max_message_size = 64 * 1024;        // largest incoming message (bytes)
  std::size_t max_output_bytes = 4 * 1024 * 1024;  // per-connection unsent output limit
  // Origins browsers may connect from (WebSocket handshakes, the HTTP transports, /events;
  // CORS preflights answered): empty = any Origin.
  std::vector<std::string> allowed_origins;
  std::size_t channel_max_length = hub::default_max_channel_length;  // 1..4096
  std::size_t max_channels_per_client = 128;                         // 0 = unlimited
  bool operator==(const client_config&) const = default;
};

// The development options of the default namespace (see the file comment).
hub::namespace_options development_namespace_options();

// Field-by-field equality (hub::namespace_options has no operator==).
bool same_options(const hub::namespace_options& a, const hub::namespace_options& b) noexcept;

struct namespace_config {
  std::string name;  // [A-Za-z0-9_.-]+, unique
  hub::namespace_options options;
  friend bool operator==(const namespace_config& a, const namespace_config& b) {
    return a.name == b.name && same_options(a.options, b.options);
  }
};

struct channel_config {
  hub::namespace_options default_options = development_namespace_options();
  std::vector<namespace_config> namespaces;  // in file order
  friend bool operator==(const channel_config& a, const channel_config& b) {
    return same_options(a.default_options, b.default_options) && a.namespaces == b.namespaces;
  }
};

enum class log_format : std::uint8_t { text, json };

struct log_config {
  duplex::log::level level = duplex::log::level::info;
  log_format format = log_format::text;
  bool operator==(const log_config&) const = default;
};

struct config {
  listen_config listen;
  auth_config auth;
  client_config client;
  // "memory" (one node) or "redis://[:password@]host[:port][/db]" (many nodes as one).
  std::string broker = "memory";
  channel_config channel;
  log_config log;
  bool metrics_enabled = true;                       // GET /metrics
  std::chrono::milliseconds shutdown_timeout{5000};  // graceful drain bound on SIGTERM/SIGINT
  bool operator==(const config&) const = default;
};

// Flags of `duplex serve`. Each is unset until given on the command line; values are kept as
// text and parsed by load_config, with the same rules and messages as the environment.
struct config_flags {
  std::optional<std::string> config_file;  // --config
  std::optional<std::string> host, port, threads, api_key, token_secret, broker, web_root, tls_cert,
      tls_key, log_level;
};

// Adds --config, --host, --port, --threads, --api-key, --token-secret, --broker, --web-root,
// --tls-cert, --tls-key and --log-level to `cmd`, writing into `flags` (which must outlive the
// parse). The environment is not read here (load_config does it, so that the flag/variable
// precedence and error messages are in one place). checkconfig and gentoken can reuse this on
// their own subcommands to find the same configuration.
void add_serve_flags(CLI::App& cmd, config_flags& flags);

// The environment variables load_config reads, in documentation order, e.g. "DUPLEX_PORT".
// Besides one per flag (DUPLEX_CONFIG, DUPLEX_HOST, DUPLEX_PORT, DUPLEX_THREADS,
// DUPLEX_API_KEY, DUPLEX_TOKEN_SECRET, DUPLEX_BROKER, DUPLEX_WEB_ROOT, DUPLEX_TLS_CERT,
// DUPLEX_TLS_KEY, DUPLEX_LOG_LEVEL) there are DUPLEX_API_INSECURE, DUPLEX_TOKEN_RSA_PUBLIC_KEY,
// DUPLEX_TOKEN_AUDIENCE, DUPLEX_TOKEN_ISSUER, DUPLEX_ALLOW_ANONYMOUS, DUPLEX_ALLOWED_ORIGINS
// (comma-separated), DUPLEX_LOG_FORMAT, DUPLEX_METRICS and DUPLEX_SHUTDOWN_TIMEOUT. Booleans
// accept true/false, 1/0, yes/no, on/off.
std::vector<std::string> environment_variables();

// Builds `out` from the defaults, then the TOML file `file` (when empty: DUPLEX_CONFIG, when
// that is unset too: no file), then the environment read through `getenv_fn` (std::getenv in
// main; tests inject a map), then `flags`; then validates the result. Returns true on success.
// On failure returns false, sets `why` to one line naming the key and its source, and leaves
// `out` unspecified. Reads the config file and any key/certificate files it names; never
// throws.
bool load_config(const std::string& file, const config_flags& flags,
                 const std::function<const char*(const char*)>& getenv_fn, config& out,
                 std::string& why);

// A commented starter TOML file documenting every key. Loading it yields exactly config{}.
std::string genconfig_text();

// A short multi-line human summary for checkconfig. Never prints secrets (only whether set).
std::string describe(const config& c);

// ---- Conversions for main ---------------------------------------------------------------------

// Fills a duplex::server_options (listen.host, port, threads, tls_cert, tls_key), called as
// to_server_options<duplex::server_options>(c). A template so that this header does not need
// duplex/server.h.
template <class ServerOptions>
ServerOptions to_server_options(const config& c) {
  ServerOptions o;
  o.host = c.listen.host;
  o.port = c.listen.port;
  o.threads = c.listen.threads;
  o.tls_cert_file = c.listen.tls_cert;
  o.tls_key_file = c.listen.tls_key;
  return o;
}
// WebSocket limits of client connections: max_message_size, output limit (close on overflow),
// allowed origins; idle_timeout = ping_interval + pong_timeout. WebSocket-level pings stay off
// (ping_interval 0): liveness is the protocol's own ping/pong, which the sessions drive.
duplex::websocket_options to_websocket_options(const config& c);
// The default namespace, the named ones, and client.channel_max_length.
hub::namespace_table to_namespace_table(const config& c);
// Keys, audience and issuer for jwt_verifier::create (system clock, no leeway).
jwt_config to_jwt_config(const config& c);

// `duplex gentoken`: an HS256 connection token signed with auth.token_hmac_secret, with claims
// sub = user, iat = now, exp = now + ttl, `channels` when non-empty (server-side
// subscriptions), and aud/iss when the config requires them, so that the configured verifier
// accepts it. Returns "" and sets `why` when there is no HMAC secret, ttl is not positive or a
// channel name is invalid.
std::string make_user_token(const config& c, std::string user, std::chrono::seconds ttl,
                            std::vector<std::string> channels, std::string& why);

// The file's spelling of an access rule: "anonymous", "authenticated", "token", "server".
std::string_view access_name(hub::access a) noexcept;

// Formats a duration the way the file takes it ("25s", "1m30s", "500ms", "0s").
std::string format_duration(std::chrono::milliseconds d);
// Parses a duration string (see the file comment). nullopt for anything else, including
// negative values and overflow.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace duplex::service
