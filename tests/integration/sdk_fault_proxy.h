// fault_proxy: a TCP proxy for the SDK tests that injects network faults between a client and
// a server on 127.0.0.1: cut every connection, refuse new ones, stall (stop forwarding both
// ways while keeping the sockets open, as a dead link does), or delay each chunk.
//
// One thread accepts; each accepted connection gets one thread that polls both sockets and
// copies bytes. Blocking sockets, poll() with a short timeout so the fault flags are seen
// promptly. Test code only (ARCHITECTURE.md: tests may open sockets).
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

namespace duplex::test {

class fault_proxy {
 public:
  explicit fault_proxy(std::uint16_t target_port) : target_(target_port) {
    lfd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(lfd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(lfd_, 64);
    socklen_t len = sizeof a;
    ::getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~fault_proxy() {
    stop_ = true;
    ::shutdown(lfd_, SHUT_RDWR);
    acceptor_.join();
    ::close(lfd_);
    cut_all();
    std::lock_guard l(mu_);
    for (auto& p : pipes_) p->thread.join();
  }
  fault_proxy(const fault_proxy&) = delete;
  fault_proxy& operator=(const fault_proxy&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url(const std::string& path = "/connection/websocket") const {
    return "ws://127.0.0.1:" + std::to_string(port_) + path;
  }
  // Where new connections go (e.g. a restarted server on another port).
  void set_target(std::uint16_t port) { target_ = port; }
  // Close every open connection at once (both sides see a TCP reset or EOF).
  void cut_all() {
    std::lock_guard l(mu_);
    for (auto& p : pipes_) p->cut = true;
  }
  // Accept and close at once (a server that is down).
  void set_refuse(bool on) { refuse_ = on; }
  // Stop forwarding in both directions, sockets kept open.
  void set_stall(bool on) { stall_ = on; }
  // Wait this long before forwarding each chunk.
  void set_delay(std::chrono::milliseconds d) { delay_ms_ = d.count(); }
  int accepted() const { return accepted_.load(); }

 private:
  struct pipe {
    int a = -1, b = -1;
    std::atomic<bool> cut{false};
    std::thread thread;
  };

  void accept_loop() {
    while (!stop_) {
      int c = ::accept(lfd_, nullptr, nullptr);
      if (c < 0) {
        if (stop_) return;
        continue;
      }
      ++accepted_;
      if (refuse_) {
        ::close(c);
        continue;
      }
      int s = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(target_.load());
      if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(s);
        ::close(c);
        continue;
      }
      int one = 1;
      ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      std::lock_guard l(mu_);
      auto& p = pipes_.emplace_back(std::make_unique<pipe>());
      p->a = c;
      p->b = s;
      p->thread = std::thread([this, q = p.get()] { pump(*q); });
    }
  }

  void pump(pipe& p) {
    char buf[16384];
    while (!p.cut && !stop_) {
      if (stall_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      pollfd fds[2] = {{p.a, POLLIN, 0}, {p.b, POLLIN, 0}};
      if (::poll(fds, 2, 20) <= 0) continue;
      bool done = false;
      for (int i = 0; i < 2 && !done; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        if (stall_) break;
        const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
        if (n <= 0) {
          done = true;
          break;
        }
        if (const int d = delay_ms_.load(); d > 0) std::this_thread::sleep_for(std::chrono::milliseconds(d));
        const int to = i == 0 ? p.b : p.a;
        for (ssize_t off = 0; off < n;) {
          const ssize_t w = ::write(to, buf + off, static_cast<std::size_t>(n - off));
          if (w <= 0) {
            done = true;
            break;
          }
          off += w;
        }
      }
      if (done) break;
    }
    ::shutdown(p.a, SHUT_RDWR);
    ::shutdown(p.b, SHUT_RDWR);
    ::close(p.a);
    ::close(p.b);
  }

  int lfd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<std::uint16_t> target_;
  std::atomic<bool> stop_{false}, refuse_{false}, stall_{false};
  std::atomic<int> delay_ms_{0};
  std::atomic<int> accepted_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::list<std::unique_ptr<pipe>> pipes_;
};

}  // namespace duplex::test
