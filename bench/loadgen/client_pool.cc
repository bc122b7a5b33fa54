#include "client_pool.h"

#include <arpa/inet.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "proc_sampler.h"

namespace duplex::bench {
namespace {

// One receive buffer for every connection: idle connections hold none.
constexpr std::size_t rx_size = 256 * 1024;

}  // namespace

// Forwards to the scenario's handler and notes failed connections, which the pool closes
// after the event (a connection is never destroyed inside its own event).
class client_pool::reaper final : public connection_handler {
 public:
  reaper(client_pool& pool, connection_handler& inner) : pool_(pool), inner_(&inner) {}
  void on_open(client_connection& c) override { inner_->on_open(c); }
  void on_echo(client_connection& c, std::uint64_t now) override { inner_->on_echo(c, now); }
  void on_message(client_connection& c, std::string_view text, std::uint64_t now) override {
    inner_->on_message(c, text, now);
  }
  void on_stream_event(client_connection& c, std::string_view name, std::string_view data,
                       std::uint64_t now) override {
    inner_->on_stream_event(c, name, data, now);
  }
  void on_failed(client_connection& c, const char* why) override {
    pool_.failed_.push_back(c.index());
    ++pool_.failures_;
    inner_->on_failed(c, why);
  }
  connection_handler* swap(connection_handler* h) noexcept { return std::exchange(inner_, h); }

 private:
  client_pool& pool_;
  connection_handler* inner_;
};

client_pool::client_pool(const pool_options& options, connection_handler& h)
    : options_(options), pattern_(options.message_size),
      reaper_(std::make_unique<reaper>(*this, h)) {
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd_ < 0) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
  target_.sin_family = AF_INET;
  target_.sin_port = htons(options.port);
  if (::inet_pton(AF_INET, options.host.c_str(), &target_.sin_addr) != 1)
    throw std::runtime_error("not an IPv4 address: " + options.host);
  ws_options_.host = options.host + ":" + std::to_string(options.port);
  ws_options_.target = options.path;
  first_target_ = target_;
  first_ws_options_ = ws_options_;
  if (options.first_port) {
    first_target_.sin_port = htons(options.first_port);
    first_ws_options_.host = options.host + ":" + std::to_string(options.first_port);
  }
  rx_ = std::make_unique_for_overwrite<std::byte[]>(rx_size);
}

client_pool::~client_pool() {
  close_all();
  if (epfd_ >= 0) ::close(epfd_);
}

connection_handler& client_pool::events() noexcept { return *reaper_; }

void client_pool::close_all() noexcept {
  for (auto& c : conns_) c->close();
}

void client_pool::reap() noexcept {
  for (auto idx : failed_) conns_[idx]->close();
  failed_.clear();
}

bool client_pool::start_one(std::string& err) {
  auto index = static_cast<std::uint32_t>(conns_.size());
  sockaddr_in src{};
  src.sin_family = AF_INET;
  // 127.0.0.1 + (index mod sources): the whole 127/8 is local on Linux.
  src.sin_addr.s_addr = htonl((127u << 24) + 1 + index % options_.sources);
  conns_.push_back(std::make_unique<client_connection>(index, pattern_, options_.binary, masks_,
                                                       options_.mode));
  const sockaddr_in& target = index == 0 ? first_target_ : target_;
  const ws::client_options& ws_options = index == 0 ? first_ws_options_ : ws_options_;
  if (options_.http_request_of) {
    if (std::string req = options_.http_request_of(index); !req.empty())
      return conns_.back()->start_http(epfd_, src, target, std::move(req), options_.http_format,
                                       err);
  }
  if (!options_.path_of) return conns_.back()->start(epfd_, src, target, ws_options, err);
  ws::client_options o = ws_options;
  o.target = options_.path_of(index);
  return conns_.back()->start(epfd_, src, target, o, err);
}

open_report client_pool::open(std::size_t count, std::size_t concurrency,
                              std::uint64_t timeout_ns) {
  // Counts opens and failures, then hands the event on to the scenario's handler.
  struct counter final : connection_handler {
    connection_handler* inner = nullptr;
    std::size_t opened = 0, failed = 0, pending = 0;
    std::uint64_t last_open = 0;
    std::string first_error;
    void on_open(client_connection& c) override {
      ++opened;
      --pending;
      last_open = now_ns();
      inner->on_open(c);
    }
    void on_echo(client_connection& c, std::uint64_t now) override { inner->on_echo(c, now); }
    void on_message(client_connection& c, std::string_view text, std::uint64_t now) override {
      inner->on_message(c, text, now);
    }
    void on_stream_event(client_connection& c, std::string_view name, std::string_view data,
                         std::uint64_t now) override {
      inner->on_stream_event(c, name, data, now);
    }
    void on_failed(client_connection& c, const char* why) override {
      ++failed;
      if (!c.was_opened()) --pending;
      if (first_error.empty()) first_error = why;
      inner->on_failed(c, why);
    }
  } count_h;
  count_h.inner = reaper_->swap(&count_h);

  std::uint64_t start = now_ns();
  std::size_t started = 0;
  while (now_ns() - start < timeout_ns) {
    while (started < count && count_h.pending < concurrency) {
      std::string err;
      ++started;
      ++count_h.pending;
      if (!start_one(err)) {
        --count_h.pending;
        ++count_h.failed;
        ++failures_;
        if (count_h.first_error.empty()) count_h.first_error = err;
        conns_.back()->close();
      }
    }
    if (count_h.opened + count_h.failed >= count) break;
    poll(10'000'000);
  }
  reaper_->swap(count_h.inner);

  open_report rep;
  rep.opened = count_h.opened;
  rep.failed = count - count_h.opened;
  rep.elapsed_ns = (count_h.last_open ? count_h.last_open : now_ns()) - start;
  rep.first_error = count_h.first_error;
  if (rep.first_error.empty() && rep.failed) rep.first_error = "timed out";
  return rep;
}

int client_pool::poll(std::uint64_t timeout_ns) {
  epoll_event events[512];
  timespec ts{static_cast<time_t>(timeout_ns / 1000000000ull),
              static_cast<long>(timeout_ns % 1000000000ull)};
  int n = ::epoll_pwait2(epfd_, events, 512, &ts, nullptr);
  if (n > 0) {
    std::uint64_t now = now_ns();
    std::span<std::byte> rx(rx_.get(), rx_size);
    for (int i = 0; i < n; ++i)
      conns_[events[i].data.u32]->on_events(events[i].events, rx, *reaper_, now);
  }
  reap();
  return n < 0 ? 0 : n;
}

}  // namespace duplex::bench
