// Test helpers for the Redis broker's tests (header-only; included by *_test.cc only):
//   - redis_server: a real Debian redis-server on a free port in a temp dir (no persistence),
//     stopped (SIGKILL) and restarted on the same port on demand, plus a synchronous side
//     channel (hiredis blocking API) for checks and for injecting raw Pub/Sub messages;
//   - DUPLEX_REQUIRE_REDIS_SERVER(): skips a test when the binary is missing, but fails it
//     under CI=true, where a missing peer must not turn into a green run;
//   - node: one "duplex node" = a net::loop on its own thread + a redis_broker + a recorder of
//     broker_events, with blocking wrappers around the asynchronous broker calls.
#pragma once

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "net/loop.h"
#include "redis/redis_broker.h"

extern char** environ;

namespace duplex::redis::test {

using namespace std::chrono_literals;

// $DUPLEX_REDIS_SERVER, else redis-server from $PATH; "" when there is none.
inline std::string find_redis_server() {
  if (const char* p = std::getenv("DUPLEX_REDIS_SERVER"); p && *p) {
    return ::access(p, X_OK) == 0 ? std::string(p) : std::string();
  }
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/bin:/bin";
  while (!dirs.empty()) {
    const auto colon = dirs.find(':');
    const std::string dir(dirs.substr(0, colon));
    dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
    if (dir.empty()) continue;
    const std::string candidate = dir + "/redis-server";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

// prefix + decimal(i). (Spelled out because GCC 12 at -O3 warns falsely (-Wrestrict) on
// `"literal" + std::to_string(i)`.)
inline std::string numbered(std::string_view prefix, long long i) {
  std::string s(prefix);
  s += std::to_string(i);
  return s;
}

inline bool in_ci() {
  const char* ci = std::getenv("CI");
  return ci && std::string_view(ci) == "true";
}

#define DUPLEX_REQUIRE_REDIS_SERVER()                                                     \
  do {                                                                                    \
    if (::duplex::redis::test::find_redis_server().empty()) {                             \
      if (::duplex::redis::test::in_ci()) {                                               \
        FAIL() << "redis-server not found and CI=true: install Debian's redis-server";    \
      }                                                                                   \
      GTEST_SKIP() << "redis-server not found (Debian package redis-server); skipping";  \
    }                                                                                     \
  } while (0)

struct reply_free {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_free>;

class redis_server {
 public:
  redis_server() = default;
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;
  ~redis_server() {
    stop();
    if (!dir_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
  }

  // Starts on `port`, or on a free one when 0 (trying a few random ports). Returns false and
  // sets *why when the server did not come up.
  bool start(std::uint16_t port = 0, std::string* why = nullptr) {
    const std::string binary = find_redis_server();
    if (binary.empty()) return failed(why, "redis-server not found");
    if (dir_.empty()) {
      static std::atomic<int> seq{0};
      dir_ = std::filesystem::temp_directory_path() /
             ("duplex-redis-" + std::to_string(::getpid()) + "-" + std::to_string(seq++));
      std::filesystem::create_directories(dir_);
    }
    std::mt19937 rng(static_cast<unsigned>(::getpid()) ^
                     static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()));
    for (int attempt = 0; attempt < 10; ++attempt) {
      const std::uint16_t p = port != 0 ? port : static_cast<std::uint16_t>(20000 + rng() % 40000);
      if (spawn(binary, p) && wait_ready(p)) {
        port_ = p;
        return true;
      }
      stop();
      if (port != 0) std::this_thread::sleep_for(50ms);  // same port: let the old one go
    }
    return failed(why, "redis-server did not start; see " + (dir_ / "redis.log").string());
  }

  // Stops the server: SIGKILL (a crash: no goodbye to clients) or SIGTERM.
  void stop(bool hard = true) {
    if (pid_ <= 0) return;
    ::kill(pid_, hard ? SIGKILL : SIGTERM);
    ::kill(pid_, SIGCONT);  // a paused server must run to act on SIGTERM
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  // SIGSTOP / SIGCONT: a Redis that hangs with its connections open.
  void pause() const {
    if (pid_ > 0) ::kill(pid_, SIGSTOP);
  }
  void resume() const {
    if (pid_ > 0) ::kill(pid_, SIGCONT);
  }

  std::uint16_t port() const noexcept { return port_; }
  bool running() const noexcept { return pid_ > 0; }

  // One command on a fresh blocking connection; nullptr when Redis is not reachable.
  reply_ptr command(std::initializer_list<std::string_view> args) const {
    return command_on(port_, args);
  }

 private:
  static bool failed(std::string* why, std::string text) {
    if (why) *why = std::move(text);
    return false;
  }

  static reply_ptr command_on(std::uint16_t port, std::initializer_list<std::string_view> args) {
    timeval tv{1, 0};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (c == nullptr) return nullptr;
    if (c->err) {
      redisFree(c);
      return nullptr;
    }
    redisSetTimeout(c, tv);
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (std::string_view a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
    redisFree(c);
    return reply_ptr(r);
  }

  bool spawn(const std::string& binary, std::uint16_t port) {
    const std::string port_s = std::to_string(port);
    const std::string dir_s = dir_.string();
    const std::string log_s = (dir_ / "redis.log").string();
    std::vector<std::string> args = {binary,      "--port",        port_s, "--bind",
                                     "127.0.0.1", "--save",        "",     "--appendonly",
                                     "no",        "--dir",         dir_s,  "--logfile",
                                     log_s,       "--daemonize",   "no",   "--protected-mode",
                                     "no"};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    const int rc = ::posix_spawn(&pid_, binary.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) pid_ = -1;
    return rc == 0;
  }

  // Up when it answers PING and INFO names our child's pid (not some other test's server
  // that happens to hold the port).
  bool wait_ready(std::uint16_t port) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    const std::string want = "process_id:" + std::to_string(pid_) + "\r\n";
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;  // exited: most likely the port was taken
        return false;
      }
      if (reply_ptr r = command_on(port, {"INFO", "server"});
          r && r->type == REDIS_REPLY_STRING) {
        return std::string_view(r->str, r->len).find(want) != std::string_view::npos;
      }
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  std::filesystem::path dir_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

// Records broker_events; written on the broker's loop thread, read by the test thread.
class recorder final : public hub::broker_events {
 public:
  void on_publication(const hub::publication& p) override {
    std::lock_guard lock(mu_);
    pubs_.push_back(p);
    cv_.notify_all();
  }
  void on_join(const std::string& ch, const hub::client_info& who) override {
    std::lock_guard lock(mu_);
    events_.push_back("join " + ch + " " + who.client_id);
    cv_.notify_all();
  }
  void on_leave(const std::string& ch, const hub::client_info& who) override {
    std::lock_guard lock(mu_);
    events_.push_back("leave " + ch + " " + who.client_id);
    cv_.notify_all();
  }

  // Waits until pred(pubs, events) holds; returns it.
  bool wait(const std::function<bool(const std::vector<hub::publication>&,
                                     const std::vector<std::string>&)>& pred,
            std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return pred(pubs_, events_); });
  }
  bool wait_pubs(std::size_t n, std::chrono::milliseconds timeout = 5s) {
    return wait([n](const auto& p, const auto&) { return p.size() >= n; }, timeout);
  }
  std::vector<hub::publication> pubs() {
    std::lock_guard lock(mu_);
    return pubs_;
  }
  std::vector<std::string> events() {
    std::lock_guard lock(mu_);
    return events_;
  }
  // Data of the publications received on `channel`, in arrival order.
  std::vector<std::string> data_of(const std::string& channel) {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& p : pubs_) {
      if (p.channel == channel) out.emplace_back(p.data.view());
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<hub::publication> pubs_;
  std::vector<std::string> events_;
};

// Calls start(cb) and waits for cb's value; nullopt after the timeout.
template <class T, class Start>
std::optional<T> await(Start&& start, std::chrono::milliseconds timeout = 5s) {
  auto p = std::make_shared<std::promise<T>>();
  auto f = p->get_future();
  start(hub::callback<T>([p](T v) { p->set_value(std::move(v)); }));
  if (f.wait_for(timeout) != std::future_status::ready) return std::nullopt;
  return f.get();
}

// A duplex node for tests: a loop thread running a redis_broker.
class node {
 public:
  explicit node(redis_broker_options o) : broker_(loop_, std::move(o)) {
    broker_.set_events(&events);
    thread_ = std::thread([this] { loop_.run(); });
  }
  ~node() { stop(); }
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  // Shuts the broker down on its thread and joins it. Idempotent.
  void stop() {
    if (!thread_.joinable()) return;
    // stop() from inside the task: a stop() from here could end the loop before the task ran.
    loop_.post([this] {
      broker_.shutdown();
      loop_.stop();
    });
    thread_.join();
  }

  redis_broker& broker() noexcept { return broker_; }
  net::loop& loop() noexcept { return loop_; }

  bool wait_connected(std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!broker_.connected()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(5ms);
    }
    return true;
  }

  std::optional<hub::publish_result> publish(const std::string& ch, std::string_view data,
                                             hub::publish_options opts = {100, 60s}) {
    hub::publication p;
    p.channel = ch;
    p.data = shared_payload::copy_of(data);
    return await<hub::publish_result>([&](hub::callback<hub::publish_result> cb) {
      broker_.publish(std::move(p), opts, nullptr, std::move(cb));
    });
  }
  std::optional<hub::history_result> history(const std::string& ch, hub::history_query q) {
    return await<hub::history_result>([&](hub::callback<hub::history_result> cb) {
      broker_.history(ch, q, nullptr, std::move(cb));
    });
  }
  // Subscribes this node to `channel` and returns once Redis confirmed it (history() waits
  // for the confirmation).
  bool subscribe(const std::string& channel) {
    broker_.node_subscribe(channel);
    auto h = history(channel, {});
    return h && h->err == hub::error::ok;
  }
  std::optional<hub::error> add_presence(const std::string& ch, const hub::client_info& who) {
    return await<hub::error>([&](hub::callback<hub::error> cb) {
      broker_.add_presence(ch, who, nullptr, std::move(cb));
    });
  }
  std::optional<hub::error> remove_presence(const std::string& ch, const std::string& id) {
    return await<hub::error>([&](hub::callback<hub::error> cb) {
      broker_.remove_presence(ch, id, nullptr, std::move(cb));
    });
  }
  std::optional<hub::presence_result> presence(const std::string& ch) {
    return await<hub::presence_result>([&](hub::callback<hub::presence_result> cb) {
      broker_.presence(ch, nullptr, std::move(cb));
    });
  }
  std::optional<hub::presence_stats_result> presence_stats(const std::string& ch) {
    return await<hub::presence_stats_result>([&](hub::callback<hub::presence_stats_result> cb) {
      broker_.presence_stats(ch, nullptr, std::move(cb));
    });
  }

  recorder events;

 private:
  net::loop loop_;
  redis_broker broker_;
  std::thread thread_;
};

}  // namespace duplex::redis::test
