#include "server/config.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace duplex::service {
namespace {

using namespace std::chrono_literals;
using env_map = std::map<std::string, std::string>;

// Files this process wrote, removed at exit.
struct temp_files {
  std::vector<std::string> paths;
  ~temp_files() {
    for (const std::string& p : paths) std::remove(p.c_str());
  }
};
temp_files written;

// A file under the test temp dir, unique per test and call (ctest runs tests in parallel).
std::string temp_file(const std::string& content, const std::string& ext = ".toml") {
  static int counter = 0;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string path = ::testing::TempDir() + "duplex_config_" + info->name() + "_" +
                     std::to_string(::getpid()) + "_" + std::to_string(counter++) + ext;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  EXPECT_NE(f, nullptr) << path;
  if (f) {
    std::fwrite(content.data(), 1, content.size(), f);
    std::fclose(f);
  }
  written.paths.push_back(path);
  return path;
}

std::function<const char*(const char*)> env_of(const env_map& env) {
  return [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
}

struct loaded {
  bool ok = false;
  config c;
  std::string why;
};

loaded load(const std::string& file, const env_map& env = {}, const config_flags& flags = {}) {
  loaded r;
  r.ok = load_config(file, flags, env_of(env), r.c, r.why);
  return r;
}

loaded load_text(const std::string& toml, const env_map& env = {}, const config_flags& flags = {}) {
  return load(temp_file(toml), env, flags);
}

// The error of loading `toml`, which must fail.
std::string error_of(const std::string& toml, const env_map& env = {}) {
  loaded r = load_text(toml, env);
  EXPECT_FALSE(r.ok) << toml;
  return r.why;
}

std::string make_rsa_public_pem() {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  EXPECT_NE(key, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

TEST(Config, DefaultsWithoutAnySource) {
  loaded r = load("");
  ASSERT_TRUE(r.ok) << r.why;
  EXPECT_EQ(r.c, config{});
  // The development defaults the issue asks for: port 8000, memory broker, an open namespace.
  EXPECT_EQ(r.c.listen.port, 8000);
  EXPECT_EQ(r.c.listen.host, "0.0.0.0");
  EXPECT_EQ(r.c.broker, "memory");
  EXPECT_TRUE(r.c.auth.allow_anonymous);
  const hub::namespace_options& d = r.c.channel.default_options;
  EXPECT_EQ(d.history_size, 100u);
  EXPECT_EQ(d.history_ttl, 300s);
  EXPECT_TRUE(d.presence);
  EXPECT_TRUE(d.join_leave);
  EXPECT_EQ(d.subscribe, hub::access::anonymous);
  EXPECT_EQ(d.publish, hub::access::anonymous);
  EXPECT_EQ(d.presence_read, hub::access::anonymous);
  EXPECT_EQ(d.history_read, hub::access::anonymous);
  EXPECT_EQ(r.c.client.ping_interval, 25s);
  EXPECT_EQ(r.c.client.pong_timeout, 8s);
  EXPECT_EQ(r.c.client.max_message_size, 64u * 1024);
  EXPECT_EQ(r.c.client.max_channels_per_client, 128u);
  EXPECT_EQ(r.c.shutdown_timeout, 5s);
  EXPECT_TRUE(r.c.metrics_enabled);
  // An empty file is the same as no file.
  loaded e = load_text("");
  ASSERT_TRUE(e.ok) << e.why;
  EXPECT_EQ(e.c, config{});
}

TEST(Config, GenconfigLoadsAndEqualsTheDefaults) {
  loaded r = load_text(genconfig_text());
  ASSERT_TRUE(r.ok) << r.why << "\n" << genconfig_text();
  EXPECT_EQ(r.c, config{});
}

TEST(Config, GenconfigShowsEveryKey) {
  const std::string text = genconfig_text();
  for (const char* key : {"broker",
                          "shutdown_timeout",
                          "host",
                          "port",
                          "threads",
                          "tls_cert",
                          "tls_key",
                          "web_root",
                          "api_key",
                          "api_insecure",
                          "token_hmac_secret",
                          "token_rsa_public_key",
                          "token_audience",
                          "token_issuer",
                          "allow_anonymous",
                          "ping_interval",
                          "pong_timeout",
                          "max_message_size",
                          "max_output_bytes",
                          "allowed_origins",
                          "channel_max_length",
                          "max_channels_per_client",
                          "history_size",
                          "history_ttl",
                          "recovery_max_publications",
                          "presence",
                          "join_leave",
                          "subscribe",
                          "publish",
                          "presence_read",
                          "history_read",
                          "max_subscribers",
                          "slow_consumer",
                          "level",
                          "format",
                          "enabled"}) {
    EXPECT_NE(text.find(std::string("\n") + key + " = "), std::string::npos) << key;
  }
  for (const char* table : {"[listen]", "[auth]", "[client]", "[channel]", "[log]", "[metrics]",
                            "# [[channel.namespace]]"}) {
    EXPECT_NE(text.find(table), std::string::npos) << table;
  }
}

TEST(Config, GenconfigNamespaceExampleLoadsWhenUncommented) {
  std::string text = genconfig_text();
  std::size_t at = text.find("# [[channel.namespace]]");
  ASSERT_NE(at, std::string::npos);
  std::size_t end = text.find("\n\n", at);
  std::string block = text.substr(at, end - at);
  std::string uncommented;
  for (std::size_t i = 0; i < block.size();) {
    std::size_t nl = block.find('\n', i);
    std::string line = block.substr(i, nl == std::string::npos ? std::string::npos : nl - i);
    EXPECT_EQ(line.rfind("# ", 0), 0u) << line;
    uncommented += line.substr(2) + "\n";
    i = nl == std::string::npos ? block.size() : nl + 1;
  }
  text.replace(at, end - at, uncommented);
  loaded r = load_text(text);
  ASSERT_TRUE(r.ok) << r.why;
  ASSERT_EQ(r.c.channel.namespaces.size(), 1u);
  EXPECT_EQ(r.c.channel.namespaces[0].name, "chat");
  EXPECT_TRUE(r.c.channel.namespaces[0].options.history_enabled());
}

TEST(Config, EveryKeyIsParsed) {
  const std::string cert = temp_file("cert", ".pem"), key = temp_file("key", ".pem");
  loaded r = load_text(R"(
broker = "memory"
shutdown_timeout = "1m30s"
[listen]
host = "::"
port = 9001
threads = 3
tls_cert = ")" + cert + R"("
tls_key = ")" + key + R"("
web_root = "/srv/www"
[auth]
api_key = "k1"
api_insecure = true
token_hmac_secret = "s3cret"
token_rsa_public_key = ""
token_audience = "aud1"
token_issuer = "iss1"
allow_anonymous = false
[client]
ping_interval = "30s"
pong_timeout = 5000
max_message_size = "1MiB"
max_output_bytes = 123456
allowed_origins = ["https://a.example", "https://b.example"]
channel_max_length = 100
max_channels_per_client = 0
[channel]
history_size = 7
history_ttl = "2h"
recovery_max_publications = 50
presence = false
join_leave = false
subscribe = "authenticated"
publish = "server"
presence_read = "token"
history_read = "authenticated"
max_subscribers = 1000
slow_consumer = "drop"
[[channel.namespace]]
name = "chat"
history_size = 10
history_ttl = 60000
presence = true
join_leave = true
subscribe = "token"
[[channel.namespace]]
name = "feed.v2"
[log]
level = "debug"
format = "json"
[metrics]
enabled = false
)");
  ASSERT_TRUE(r.ok) << r.why;
  const config& c = r.c;
  EXPECT_EQ(c.shutdown_timeout, 90s);
  EXPECT_EQ(c.listen.host, "::");
  EXPECT_EQ(c.listen.port, 9001);
  EXPECT_EQ(c.listen.threads, 3u);
  EXPECT_EQ(c.listen.tls_cert, cert);
  EXPECT_EQ(c.listen.tls_key, key);
  EXPECT_EQ(c.listen.web_root, "/srv/www");
  EXPECT_EQ(c.auth.api_key, "k1");
  EXPECT_TRUE(c.auth.api_insecure);
  EXPECT_EQ(c.auth.token_hmac_secret, "s3cret");
  EXPECT_EQ(c.auth.token_audience, "aud1");
  EXPECT_EQ(c.auth.token_issuer, "iss1");
  EXPECT_FALSE(c.auth.allow_anonymous);
  EXPECT_EQ(c.client.ping_interval, 30s);
  EXPECT_EQ(c.client.pong_timeout, 5s);
  EXPECT_EQ(c.client.max_message_size, 1u << 20);
  EXPECT_EQ(c.client.max_output_bytes, 123456u);
  EXPECT_EQ(c.client.allowed_origins,
            (std::vector<std::string>{"https://a.example", "https://b.example"}));
  EXPECT_EQ(c.client.channel_max_length, 100u);
  EXPECT_EQ(c.client.max_channels_per_client, 0u);
  const hub::namespace_options& d = c.channel.default_options;
  EXPECT_EQ(d.history_size, 7u);
  EXPECT_EQ(d.history_ttl, 2h);
  EXPECT_EQ(d.recovery_max_publications, 50u);
  EXPECT_FALSE(d.presence);
  EXPECT_FALSE(d.join_leave);
  EXPECT_EQ(d.subscribe, hub::access::authenticated);
  EXPECT_EQ(d.publish, hub::access::server_only);
  EXPECT_EQ(d.presence_read, hub::access::token_only);
  EXPECT_EQ(d.history_read, hub::access::authenticated);
  EXPECT_EQ(d.max_subscribers, 1000u);
  EXPECT_EQ(d.slow_policy, hub::slow_consumer_policy::drop);
  ASSERT_EQ(c.channel.namespaces.size(), 2u);
  const namespace_config& chat = c.channel.namespaces[0];
  EXPECT_EQ(chat.name, "chat");
  EXPECT_EQ(chat.options.history_size, 10u);
  EXPECT_EQ(chat.options.history_ttl, 60s);
  EXPECT_TRUE(chat.options.presence);
  EXPECT_TRUE(chat.options.join_leave);
  EXPECT_EQ(chat.options.subscribe, hub::access::token_only);
  // Keys a namespace leaves out are the restrictive library defaults, not [channel]'s.
  const namespace_config& feed = c.channel.namespaces[1];
  EXPECT_EQ(feed.name, "feed.v2");
  EXPECT_TRUE(same_options(feed.options, hub::namespace_options{}));
  EXPECT_EQ(c.log.level, duplex::log::level::debug);
  EXPECT_EQ(c.log.format, log_format::json);
  EXPECT_FALSE(c.metrics_enabled);
}

TEST(Config, ChannelKeysOverrideTheDevelopmentDefaultsOneByOne) {
  loaded r = load_text("[channel]\npublish = \"server\"\n");
  ASSERT_TRUE(r.ok) << r.why;
  hub::namespace_options want = development_namespace_options();
  want.publish = hub::access::server_only;
  EXPECT_TRUE(same_options(r.c.channel.default_options, want));
}

TEST(Config, PrecedenceFileThenEnvironmentThenFlags) {
  const std::string file =
      temp_file("[listen]\nport = 9000\nhost = \"127.0.0.1\"\n[auth]\napi_key = \"from-file\"\n");
  env_map env = {{"DUPLEX_PORT", "9100"}, {"DUPLEX_API_KEY", "from-env"}};
  config_flags flags;
  flags.port = "9200";

  loaded all = load(file, env, flags);
  ASSERT_TRUE(all.ok) << all.why;
  EXPECT_EQ(all.c.listen.port, 9200);         // flag wins
  EXPECT_EQ(all.c.auth.api_key, "from-env");  // env beats file (no flag)
  EXPECT_EQ(all.c.listen.host, "127.0.0.1");  // file beats default

  loaded no_flag = load(file, env);
  ASSERT_TRUE(no_flag.ok) << no_flag.why;
  EXPECT_EQ(no_flag.c.listen.port, 9100);

  loaded file_only = load(file);
  ASSERT_TRUE(file_only.ok) << file_only.why;
  EXPECT_EQ(file_only.c.listen.port, 9000);
  EXPECT_EQ(file_only.c.auth.api_key, "from-file");

  // An empty variable counts as unset.
  loaded empty_env = load(file, {{"DUPLEX_PORT", ""}});
  ASSERT_TRUE(empty_env.ok) << empty_env.why;
  EXPECT_EQ(empty_env.c.listen.port, 9000);

  // DUPLEX_CONFIG names the file when no path is given; an explicit path wins over it.
  loaded via_env = load("", {{"DUPLEX_CONFIG", file}});
  ASSERT_TRUE(via_env.ok) << via_env.why;
  EXPECT_EQ(via_env.c.listen.port, 9000);
  loaded explicit_path = load(temp_file("[listen]\nport = 9300\n"), {{"DUPLEX_CONFIG", file}});
  ASSERT_TRUE(explicit_path.ok) << explicit_path.why;
  EXPECT_EQ(explicit_path.c.listen.port, 9300);
}

TEST(Config, EveryEnvironmentVariableApplies) {
  const std::string cert = temp_file("c", ".pem"), key = temp_file("k", ".pem");
  env_map env = {{"DUPLEX_HOST", "::1"},
                 {"DUPLEX_PORT", "0"},
                 {"DUPLEX_THREADS", "2"},
                 {"DUPLEX_TLS_CERT", cert},
                 {"DUPLEX_TLS_KEY", key},
                 {"DUPLEX_WEB_ROOT", "/w"},
                 {"DUPLEX_API_KEY", "ak"},
                 {"DUPLEX_API_INSECURE", "yes"},
                 {"DUPLEX_TOKEN_SECRET", "ts"},
                 {"DUPLEX_TOKEN_AUDIENCE", "au"},
                 {"DUPLEX_TOKEN_ISSUER", "is"},
                 {"DUPLEX_ALLOW_ANONYMOUS", "off"},
                 {"DUPLEX_ALLOWED_ORIGINS", " https://x.example , https://y.example,"},
                 {"DUPLEX_BROKER", "memory"},
                 {"DUPLEX_LOG_LEVEL", "warn"},
                 {"DUPLEX_LOG_FORMAT", "json"},
                 {"DUPLEX_METRICS", "0"},
                 {"DUPLEX_SHUTDOWN_TIMEOUT", "2500"}};
  loaded r = load("", env);
  ASSERT_TRUE(r.ok) << r.why;
  const config& c = r.c;
  EXPECT_EQ(c.listen.host, "::1");
  EXPECT_EQ(c.listen.port, 0);
  EXPECT_EQ(c.listen.threads, 2u);
  EXPECT_EQ(c.listen.tls_cert, cert);
  EXPECT_EQ(c.listen.tls_key, key);
  EXPECT_EQ(c.listen.web_root, "/w");
  EXPECT_EQ(c.auth.api_key, "ak");
  EXPECT_TRUE(c.auth.api_insecure);
  EXPECT_EQ(c.auth.token_hmac_secret, "ts");
  EXPECT_EQ(c.auth.token_audience, "au");
  EXPECT_EQ(c.auth.token_issuer, "is");
  EXPECT_FALSE(c.auth.allow_anonymous);
  EXPECT_EQ(c.client.allowed_origins,
            (std::vector<std::string>{"https://x.example", "https://y.example"}));
  EXPECT_EQ(c.log.level, duplex::log::level::warn);
  EXPECT_EQ(c.log.format, log_format::json);
  EXPECT_FALSE(c.metrics_enabled);
  EXPECT_EQ(c.shutdown_timeout, 2500ms);
  // Every variable the loader reads is in the documented list, and vice versa.
  std::vector<std::string> listed = environment_variables();
  for (const auto& [name, value] : env) {
    EXPECT_NE(std::find(listed.begin(), listed.end(), name), listed.end()) << name;
  }
  EXPECT_NE(std::find(listed.begin(), listed.end(), "DUPLEX_TOKEN_RSA_PUBLIC_KEY"), listed.end());
  EXPECT_NE(std::find(listed.begin(), listed.end(), "DUPLEX_CONFIG"), listed.end());
  EXPECT_EQ(listed.size(), env.size() + 2);
}

TEST(Config, ServeFlagsParseIntoOptionalsAndOverride) {
  CLI::App app{"t"};
  config_flags flags;
  CLI::App* serve = app.add_subcommand("serve");
  add_serve_flags(*serve, flags);
  std::vector<std::string> args = {"duplex",      "serve",     "--port",         "0",
                                   "--host",      "127.0.0.1", "--threads",      "4",
                                   "--api-key",   "k",         "--token-secret", "s",
                                   "--broker",    "memory",    "--web-root",     "/web",
                                   "--log-level", "error",     "--config",       "x.toml"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  ASSERT_NO_THROW(app.parse(static_cast<int>(argv.size()), argv.data()));
  EXPECT_EQ(flags.port, "0");
  EXPECT_EQ(flags.host, "127.0.0.1");
  EXPECT_EQ(flags.config_file, "x.toml");
  EXPECT_FALSE(flags.tls_cert.has_value());  // not given stays distinguishable
  EXPECT_FALSE(flags.tls_key.has_value());

  flags.config_file.reset();
  loaded r = load("", {{"DUPLEX_THREADS", "8"}, {"DUPLEX_API_KEY", "env"}}, flags);
  ASSERT_TRUE(r.ok) << r.why;
  EXPECT_EQ(r.c.listen.port, 0);
  EXPECT_EQ(r.c.listen.host, "127.0.0.1");
  EXPECT_EQ(r.c.listen.threads, 4u);
  EXPECT_EQ(r.c.auth.api_key, "k");
  EXPECT_EQ(r.c.auth.token_hmac_secret, "s");
  EXPECT_EQ(r.c.listen.web_root, "/web");
  EXPECT_EQ(r.c.log.level, duplex::log::level::error);
}

TEST(Config, BadEnvironmentAndFlagValuesNameTheirSource) {
  loaded r = load("", {{"DUPLEX_PORT", "70000"}});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.why, "DUPLEX_PORT: not a port number: 70000");
  r = load("", {{"DUPLEX_PORT", "80x"}});
  EXPECT_EQ(r.why, "DUPLEX_PORT: not a port number: 80x");
  config_flags flags;
  flags.port = "-1";
  r = load("", {}, flags);
  EXPECT_EQ(r.why, "--port: not a port number: -1");
  flags = {};
  flags.threads = "5000";
  r = load("", {}, flags);
  EXPECT_NE(r.why.find("--threads: "), std::string::npos) << r.why;
  flags = {};
  flags.log_level = "loud";
  r = load("", {}, flags);
  EXPECT_NE(r.why.find("--log-level: "), std::string::npos) << r.why;
  r = load("", {{"DUPLEX_METRICS", "maybe"}});
  EXPECT_NE(r.why.find("DUPLEX_METRICS: expected true or false"), std::string::npos) << r.why;
  r = load("", {{"DUPLEX_SHUTDOWN_TIMEOUT", "soon"}});
  EXPECT_NE(r.why.find("DUPLEX_SHUTDOWN_TIMEOUT: "), std::string::npos) << r.why;
  // A cross-key error blames the source that set the value.
  r = load("", {{"DUPLEX_TLS_CERT", temp_file("c", ".pem")}});
  EXPECT_NE(r.why.find("DUPLEX_TLS_CERT: listen.tls_cert is set but listen.tls_key is not"),
            std::string::npos)
      << r.why;
  flags = {};
  flags.broker = "rediss://127.0.0.1:6379";  // TLS to Redis is not supported
  r = load("", {}, flags);
  EXPECT_EQ(r.why.rfind("--broker: expected \"memory\" or \"redis://", 0), 0u) << r.why;
  flags.broker = "redis://127.0.0.1:6379";  // accepted
  r = load("", {}, flags);
  EXPECT_TRUE(r.ok) << r.why;
}

struct bad_case {
  std::string toml;
  std::vector<std::string> expect;  // substrings of the error, in any order
};

TEST(Config, EachValidationErrorNamesTheKey) {
  const std::vector<bad_case> cases = {
      {"[listen]\nport = 70000\n", {":2: listen.port: not a port number: 70000"}},
      {"[listen]\nport = \"80\"\n", {"listen.port: expected an integer, got a string"}},
      {"[listen]\nthreads = 1025\n", {"listen.threads: ", "1025"}},
      {"[listen]\nhost = \"\"\n", {"listen.host: must not be empty"}},
      {"[listen]\ntls_cert = \"/nonexistent/c.pem\"\ntls_key = \"/nonexistent/k.pem\"\n",
       {"listen.tls_cert: cannot read \"/nonexistent/c.pem\""}},
      {"[listen]\ntls_key = \"k.pem\"\n",
       {"listen.tls_key: listen.tls_key is set but listen.tls_cert is not"}},
      {"broker = \"redis://localhost:notaport\"\n", {"broker: expected \"memory\" or \"redis://"}},
      {"broker = \"kafka\"\n", {"broker: expected \"memory\" or \"redis://", "got \"kafka\""}},
      {"shutdown_timeout = \"0s\"\n", {"shutdown_timeout: must be > 0"}},
      {"shutdown_timeout = true\n", {"shutdown_timeout: expected a duration", "got a boolean"}},
      {"[client]\nping_interval = \"5s\"\n",
       {"client.ping_interval",
        "client.pong_timeout (8s) must be shorter than client.ping_interval (5s)"}},
      {"[client]\npong_timeout = \"0s\"\n", {"client.pong_timeout: must be > 0"}},
      {"[client]\nmax_message_size = \"64KB\"\n", {"client.max_message_size: expected a size"}},
      {"[client]\nmax_output_bytes = 0\n", {"client.max_output_bytes: must be > 0"}},
      {"[client]\nchannel_max_length = 0\n", {"client.channel_max_length: expected 1 to 4096"}},
      {"[client]\nallowed_origins = [\"a\", 1]\n",
       {"client.allowed_origins: expected an array of strings"}},
      {"[channel]\nhistory_size = 0\n",
       {"channel.history_size", "channel.history_ttl", "history needs both"}},
      {"[channel]\nhistory_ttl = \"abc\"\n",
       {"channel.history_ttl: expected a duration like \"30s\"", "got \"abc\""}},
      {"[channel]\npresence = false\n",
       {"channel.join_leave = true needs channel.presence = true"}},
      {"[channel]\nsubscribe = \"everyone\"\n",
       {"channel.subscribe: expected \"anonymous\", \"authenticated\", \"token\" or \"server\", "
        "got \"everyone\""}},
      {"[channel]\nslow_consumer = \"block\"\n",
       {"channel.slow_consumer: expected \"disconnect\" or \"drop\""}},
      {"[channel]\nmax_subscribers = -1\n",
       {"channel.max_subscribers: expected an integer from 0"}},
      {"[channel]\nhistory_read = \"token\"\n",
       {"channel.history_read = \"token\" needs auth.token_hmac_secret or "
        "auth.token_rsa_public_key"}},
      {"[[channel.namespace]]\nname = \"a\"\n[[channel.namespace]]\nname = \"b\"\n"
       "[[channel.namespace]]\nname = \"c\"\nhistory_ttl = \"abc\"\n",
       {"channel.namespace[2].history_ttl: expected a duration like \"30s\"", "got \"abc\""}},
      {"[[channel.namespace]]\nname = \"chat\"\nhistory_size = 10\n",
       {"channel.namespace[0].history_size", "channel.namespace[0].history_ttl"}},
      {"[[channel.namespace]]\nname = \"chat\"\nhistory_ttl = \"1m\"\n",
       {":3: channel.namespace[0].history_ttl", "channel.namespace[0].history_size"}},
      {"[[channel.namespace]]\nname = \"chat\"\njoin_leave = true\n",
       {"channel.namespace[0].join_leave", "channel.namespace[0].presence"}},
      {"[[channel.namespace]]\nname = \"chat\"\n[[channel.namespace]]\nname = \"chat\"\n",
       {"channel.namespace[1].name: namespace \"chat\" is defined twice"}},
      {"[[channel.namespace]]\nname = \"a b\"\n",
       {"channel.namespace[0].name: namespace name \"a b\""}},
      {"[[channel.namespace]]\nname = \"\"\n", {"channel.namespace[0].name: namespace name \"\""}},
      {"[[channel.namespace]]\npresence = true\n", {"channel.namespace[0]: missing key name"}},
      {"[channel]\nnamespace = 3\n", {"channel.namespace: expected an array of tables"}},
      {"listen = 3\n", {"listen: expected a table ([listen]), got an integer"}},
      {"[auth]\nallow_anonymous = false\n",
       {"auth.allow_anonymous: auth.allow_anonymous = false needs auth.token_hmac_secret"}},
      {"[auth]\ntoken_rsa_public_key = \"/nonexistent/key.pem\"\n",
       {"auth.token_rsa_public_key: not PEM text, and cannot read it as a file"}},
      {"[auth]\ntoken_rsa_public_key = \"-----BEGIN PUBLIC KEY-----\\ngarbage\\n-----END PUBLIC "
       "KEY-----\\n\"\n",
       {"auth.token_rsa_public_key: "}},
      {"[log]\nlevel = \"loud\"\n", {"log.level: expected \"trace\""}},
      {"[log]\nformat = \"xml\"\n", {"log.format: expected \"text\" or \"json\""}},
      {"[metrics]\nenabled = \"yes\"\n", {"metrics.enabled: expected true or false, got a string"}},
  };
  for (const bad_case& bc : cases) {
    const std::string why = error_of(bc.toml);
    for (const std::string& part : bc.expect) {
      EXPECT_NE(why.find(part), std::string::npos)
          << "toml:\n"
          << bc.toml << "error: " << why << "\nmissing: " << part;
    }
  }
}

TEST(Config, ErrorsStartWithTheFileAndLine) {
  const std::string file = temp_file("# comment\n[client]\n\nmax_channels_per_client = -5\n");
  loaded r = load(file);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.why.rfind(file + ":4: client.max_channels_per_client: ", 0), 0u) << r.why;
}

TEST(Config, UnknownKeysAreRejectedWithTheirPath) {
  std::string why = error_of("prot = 1\n");
  EXPECT_NE(why.find(":1: unknown key prot"), std::string::npos) << why;
  why = error_of("[listen]\nprot = 8000\n");
  EXPECT_NE(why.find(":2: unknown key listen.prot (keys of listen: host, port"), std::string::npos)
      << why;
  why = error_of("[lisen]\nport = 8000\n");
  EXPECT_NE(why.find("unknown key lisen"), std::string::npos) << why;
  why = error_of("[channel]\nhistroy_size = 5\n");
  EXPECT_NE(why.find("unknown key channel.histroy_size"), std::string::npos) << why;
  why = error_of(
      "[[channel.namespace]]\nname = \"x\"\n[[channel.namespace]]\nname = \"y\"\nprecense = "
      "true\n");
  EXPECT_NE(why.find(":5: unknown key channel.namespace[1].precense"), std::string::npos) << why;
  why = error_of("[metrics]\nenabled = true\npath = \"/m\"\n");
  EXPECT_NE(why.find("unknown key metrics.path"), std::string::npos) << why;
}

TEST(Config, SyntaxErrorsAndMissingFiles) {
  const std::string file = temp_file("[listen]\nport = = 3\n");
  loaded r = load(file);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.why.rfind(file + ":2:", 0), 0u) << r.why;
  EXPECT_NE(r.why.find("TOML syntax error"), std::string::npos) << r.why;

  r = load("/nonexistent/duplex.toml");
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.why,
            "/nonexistent/duplex.toml: cannot read the config file: No such file or directory");
  r = load("", {{"DUPLEX_CONFIG", "/nonexistent/d.toml"}});
  EXPECT_NE(r.why.find("/nonexistent/d.toml: cannot read"), std::string::npos) << r.why;

  // Invalid UTF-8 and NUL bytes are input like any other: an error, no crash.
  r = load(temp_file(std::string("host = \"\xff\xfe\"\n\0x", 15)));
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.why.empty());
}

TEST(Config, Durations) {
  EXPECT_EQ(parse_duration("500ms"), 500ms);
  EXPECT_EQ(parse_duration("25s"), 25s);
  EXPECT_EQ(parse_duration("5m"), 5min);
  EXPECT_EQ(parse_duration("1h"), 1h);
  EXPECT_EQ(parse_duration("1m30s"), 90s);
  EXPECT_EQ(parse_duration("1h2m3s4ms"), 1h + 2min + 3s + 4ms);
  EXPECT_EQ(parse_duration("1500"), 1500ms);  // bare integer = milliseconds
  EXPECT_EQ(parse_duration("0s"), 0ms);
  for (const char* bad : {"", "abc", "s", "5x", "-5s", "5 s", " 5s", "5s ", "1.5s", "5sm",
                          "99999999999999999999s", "9223372036854775807h", "5S", "ms"}) {
    EXPECT_EQ(parse_duration(bad), std::nullopt) << bad;
  }
  for (auto d : {0ms, 1ms, 999ms, 1000ms, 1500ms, 60000ms, 90000ms, 3600000ms, 3723004ms}) {
    EXPECT_EQ(parse_duration(format_duration(d)), d) << format_duration(d);
  }
  EXPECT_EQ(format_duration(25s), "25s");
  EXPECT_EQ(format_duration(90s), "1m30s");
  EXPECT_EQ(format_duration(1500ms), "1s500ms");

  // The same rules in the file, where an integer means milliseconds.
  loaded r = load_text(
      "shutdown_timeout = 250\n[client]\nping_interval = \"1h\"\npong_timeout = \"2m\"\n");
  ASSERT_TRUE(r.ok) << r.why;
  EXPECT_EQ(r.c.shutdown_timeout, 250ms);
  EXPECT_EQ(r.c.client.ping_interval, 1h);
  EXPECT_EQ(r.c.client.pong_timeout, 2min);
  EXPECT_NE(error_of("shutdown_timeout = -5\n").find("shutdown_timeout: expected a duration"),
            std::string::npos);
}

TEST(Config, Sizes) {
  loaded r = load_text("[client]\nmax_message_size = \"2KiB\"\nmax_output_bytes = \"1GiB\"\n");
  ASSERT_TRUE(r.ok) << r.why;
  EXPECT_EQ(r.c.client.max_message_size, 2048u);
  EXPECT_EQ(r.c.client.max_output_bytes, std::size_t{1} << 30);
  r = load_text("[client]\nmax_message_size = \"100B\"\n");
  ASSERT_TRUE(r.ok) << r.why;
  EXPECT_EQ(r.c.client.max_message_size, 100u);
  for (const char* bad :
       {"\"1kib\"", "\"KiB\"", "\"-1KiB\"", "\"1 KiB\"", "1.5", "-3", "\"99999999999999GiB\""}) {
    std::string why = error_of(std::string("[client]\nmax_message_size = ") + bad + "\n");
    EXPECT_NE(why.find("client.max_message_size: expected a size"), std::string::npos)
        << bad << ": " << why;
  }
}

TEST(Config, RsaPublicKeyAsPathOrText) {
  const std::string pem = make_rsa_public_pem();
  const std::string path = temp_file(pem, ".pem");
  loaded by_path = load_text("[auth]\ntoken_rsa_public_key = \"" + path + "\"\n");
  ASSERT_TRUE(by_path.ok) << by_path.why;
  EXPECT_EQ(by_path.c.auth.token_rsa_public_key, pem);  // replaced by the file's content
  loaded by_env = load("", {{"DUPLEX_TOKEN_RSA_PUBLIC_KEY", pem}});
  ASSERT_TRUE(by_env.ok) << by_env.why;
  EXPECT_EQ(by_env.c.auth.token_rsa_public_key, pem);
  std::string why;
  EXPECT_NE(jwt_verifier::create(to_jwt_config(by_env.c), why), nullptr) << why;
  // A token key makes "token" rules and allow_anonymous = false valid.
  loaded strict = load_text("[auth]\nallow_anonymous = false\n[channel]\nsubscribe = \"token\"\n",
                            {{"DUPLEX_TOKEN_RSA_PUBLIC_KEY", path}});
  EXPECT_TRUE(strict.ok) << strict.why;
}

TEST(Config, Conversions) {
  loaded r = load_text(R"(
[listen]
host = "127.0.0.1"
port = 0
threads = 2
[auth]
token_hmac_secret = "sec"
token_audience = "a"
token_issuer = "i"
[client]
max_message_size = "8KiB"
max_output_bytes = "1MiB"
allowed_origins = ["https://o.example"]
channel_max_length = 64
[[channel.namespace]]
name = "chat"
presence = true
)");
  ASSERT_TRUE(r.ok) << r.why;
  struct fake_server_options {  // duplex::server_options' fields (see to_server_options)
    std::string host;
    std::uint16_t port = 1;
    unsigned threads = 0;
    std::string tls_cert_file, tls_key_file;
  };
  auto so = to_server_options<fake_server_options>(r.c);
  EXPECT_EQ(so.host, "127.0.0.1");
  EXPECT_EQ(so.port, 0);
  EXPECT_EQ(so.threads, 2u);

  duplex::websocket_options wo = to_websocket_options(r.c);
  EXPECT_EQ(wo.max_message_size, 8192u);
  EXPECT_EQ(wo.max_backpressure, 1u << 20);
  EXPECT_EQ(wo.idle_timeout, 33s);
  EXPECT_EQ(wo.allowed_origins, std::vector<std::string>{"https://o.example"});

  hub::namespace_table t = to_namespace_table(r.c);
  EXPECT_EQ(t.max_channel_length, 64u);
  const hub::namespace_options* chat = t.find_namespace("chat");
  ASSERT_NE(chat, nullptr);
  EXPECT_TRUE(chat->presence);
  EXPECT_EQ(t.find_namespace("other"), nullptr);
  const hub::namespace_options* def = t.find_namespace("");
  ASSERT_NE(def, nullptr);
  EXPECT_TRUE(same_options(*def, development_namespace_options()));

  jwt_config j = to_jwt_config(r.c);
  EXPECT_EQ(j.hmac_secret, "sec");
  EXPECT_EQ(j.audience, "a");
  EXPECT_EQ(j.issuer, "i");
}

TEST(Config, DescribeSummarisesWithoutSecrets) {
  loaded r = load_text(R"(
[auth]
api_key = "api-key-value"
token_hmac_secret = "hmac-secret-value"
[[channel.namespace]]
name = "chat"
)");
  ASSERT_TRUE(r.ok) << r.why;
  const std::string d = describe(r.c);
  EXPECT_NE(d.find("listen: 0.0.0.0:8000"), std::string::npos) << d;
  EXPECT_NE(d.find("broker: memory"), std::string::npos) << d;
  EXPECT_NE(d.find("server API: enabled"), std::string::npos) << d;
  EXPECT_NE(d.find("tokens: HS256"), std::string::npos) << d;
  EXPECT_NE(d.find("history 100 for 5m"), std::string::npos) << d;
  EXPECT_NE(d.find("namespace chat: no history"), std::string::npos) << d;
  EXPECT_EQ(d.find("api-key-value"), std::string::npos) << d;
  EXPECT_EQ(d.find("hmac-secret-value"), std::string::npos) << d;
  EXPECT_NE(describe(config{}).find("server API: disabled"), std::string::npos);
}

TEST(Config, UserTokenVerifiesWithTheConfiguredVerifier) {
  loaded r = load("", {{"DUPLEX_TOKEN_SECRET", "gentoken-secret"},
                       {"DUPLEX_TOKEN_AUDIENCE", "aud"},
                       {"DUPLEX_TOKEN_ISSUER", "iss"}});
  ASSERT_TRUE(r.ok) << r.why;
  std::string why;
  const std::int64_t before = static_cast<std::int64_t>(std::time(nullptr));
  std::string token = make_user_token(r.c, "user-42", 3600s, {"news", "chat:room"}, why);
  ASSERT_FALSE(token.empty()) << why;

  jwt_verifier_ptr v = jwt_verifier::create(to_jwt_config(r.c), why);
  ASSERT_NE(v, nullptr) << why;
  connection_claims claims;
  ASSERT_EQ(v->verify_connection(token, claims), jwt_error::ok);
  EXPECT_EQ(claims.user, "user-42");
  ASSERT_TRUE(claims.exp.has_value());
  ASSERT_TRUE(claims.iat.has_value());
  EXPECT_GE(*claims.iat, before);
  EXPECT_EQ(*claims.exp - *claims.iat, 3600);
  EXPECT_EQ(claims.channels, (std::vector<std::string>{"news", "chat:room"}));

  // Signed with the configured secret only: another secret refuses it.
  config other = r.c;
  other.auth.token_hmac_secret = "another-secret";
  jwt_verifier_ptr v2 = jwt_verifier::create(to_jwt_config(other), why);
  ASSERT_NE(v2, nullptr);
  EXPECT_EQ(v2->verify_connection(token, claims), jwt_error::bad_signature);

  // No channels: no `channels` claim.
  token = make_user_token(r.c, "u", 60s, {}, why);
  ASSERT_FALSE(token.empty()) << why;
  std::string payload;
  ASSERT_TRUE(base64url_decode(
      token.substr(token.find('.') + 1, token.rfind('.') - token.find('.') - 1), payload));
  nlohmann::json j = nlohmann::json::parse(payload);
  EXPECT_FALSE(j.contains("channels"));
  EXPECT_EQ(j["sub"], "u");
  EXPECT_EQ(j["aud"], "aud");
  EXPECT_EQ(j["iss"], "iss");
}

TEST(Config, UserTokenErrors) {
  std::string why;
  EXPECT_EQ(make_user_token(config{}, "u", 60s, {}, why), "");
  EXPECT_NE(why.find("no HMAC secret"), std::string::npos) << why;
  config c;
  c.auth.token_hmac_secret = "s";
  why.clear();
  EXPECT_EQ(make_user_token(c, "u", 0s, {}, why), "");
  EXPECT_NE(why.find("lifetime"), std::string::npos) << why;
  why.clear();
  EXPECT_EQ(make_user_token(c, "u", 60s, {"bad channel"}, why), "");
  EXPECT_NE(why.find("bad channel name \"bad channel\""), std::string::npos) << why;
  why.clear();
  EXPECT_EQ(make_user_token(c, "\xff", 60s, {}, why), "");  // not UTF-8: no crash, an error
  EXPECT_FALSE(why.empty());
}

}  // namespace
}  // namespace duplex::service
