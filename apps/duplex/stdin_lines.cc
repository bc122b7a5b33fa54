// stdin_lines (stdin_lines.h): poll() on fd 0 and a self-pipe, so that stop() and signals can
// wake a reader that would otherwise sit in read() until the user types something.
#include "stdin_lines.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>

namespace duplex::cli {

namespace {

std::atomic<int> signal_wake_fd{-1};  // the self-pipe of the stdin_lines that owns the signals

extern "C" void on_stop_signal(int) {
  const int saved = errno;  // async-signal-safe: write() only
  if (int fd = signal_wake_fd.load(); fd >= 0) {
    const char b = 's';
    (void)!::write(fd, &b, 1);
  }
  errno = saved;
}

}  // namespace

stdin_lines::stdin_lines() {
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) wake_[0] = wake_[1] = -1;
}

stdin_lines::~stdin_lines() {
  stop();
  int expected = wake_[1];
  if (expected >= 0 && signal_wake_fd.compare_exchange_strong(expected, -1)) {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
  }
  for (int fd : wake_) {
    if (fd >= 0) ::close(fd);
  }
}

void stdin_lines::install_signal_wakeup() {
  if (wake_[1] < 0) return;
  signal_wake_fd.store(wake_[1]);
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

void stdin_lines::start(std::function<void(std::string)> on_line,
                        std::function<void(bool)> on_end, bool read_stdin) {
  if (thread_.joinable() || !ok()) return;
  read_stdin_ = read_stdin;
  on_line_ = std::move(on_line);
  on_end_ = std::move(on_end);
  thread_ = std::thread([this] { run(); });
}

void stdin_lines::stop() {
  if (!thread_.joinable()) return;
  if (wake_[1] >= 0) {
    const char b = 'q';
    (void)!::write(wake_[1], &b, 1);
  }
  thread_.join();
}

void stdin_lines::run() {
  std::string pending;
  char buf[4096];
  for (;;) {
    // poll() skips a negative fd: without read_stdin only the self-pipe is watched.
    pollfd fds[2] = {{.fd = read_stdin_ ? 0 : -1, .events = POLLIN, .revents = 0},
                     {.fd = wake_[0], .events = POLLIN, .revents = 0}};
    const int n = ::poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // cannot wait: treat as the end of input
    }
    if (fds[1].revents & POLLIN) {
      char b = 0;
      bool quit = false, signalled = false;
      while (::read(wake_[0], &b, 1) == 1) (b == 'q' ? quit : signalled) = true;
      if (quit) return;  // stop(): the owner no longer wants callbacks
      if (signalled) {
        if (on_end_) on_end_(true);
        return;
      }
    }
    if (fds[0].revents & POLLNVAL) break;  // no stdin at all: nothing to read
    if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    const ssize_t got = ::read(0, buf, sizeof buf);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) break;  // EOF or error
    pending.append(buf, static_cast<std::size_t>(got));
    std::size_t from = 0;
    for (std::size_t nl; (nl = pending.find('\n', from)) != std::string::npos; from = nl + 1) {
      std::size_t end = nl;
      if (end > from && pending[end - 1] == '\r') --end;
      if (on_line_) on_line_(pending.substr(from, end - from));
    }
    pending.erase(0, from);
  }
  if (!pending.empty() && on_line_) on_line_(std::move(pending));
  if (on_end_) on_end_(false);
}

}  // namespace duplex::cli
