// stdin_lines: reads standard input line by line on its own thread, so that a command whose
// work runs on an event loop (duplex ws) never blocks that loop on the terminal.
//
// Thread safety: on_line and on_end run on the reader thread; they must hand work over to the
// loop themselves (websocket::post). start() and stop() are called from one owning thread.
// The reader also ends on SIGINT/SIGTERM once install_signal_wakeup() ran: the signal is
// reported through on_end(true), so that Ctrl-C closes the connection cleanly (1000).
#pragma once

#include <functional>
#include <string>
#include <thread>

namespace duplex::cli {

class stdin_lines {
 public:
  stdin_lines();
  ~stdin_lines();  // stop()s
  stdin_lines(const stdin_lines&) = delete;
  stdin_lines& operator=(const stdin_lines&) = delete;

  // False when the self-pipe could not be made (then start() does nothing).
  bool ok() const noexcept { return wake_[0] >= 0; }

  // Sends SIGINT and SIGTERM to this reader (as on_end(true)) instead of killing the process.
  // At most one stdin_lines at a time may do this.
  void install_signal_wakeup();

  // Starts the reader. on_line gets each line without its "\n" (and without a "\r" before it);
  // a last line without a newline is delivered at EOF. on_end(interrupted) fires once: at EOF,
  // on a read error, or on a signal (interrupted = true). Not called after stop().
  // read_stdin = false: stdin is left alone and only a signal ends the reader.
  void start(std::function<void(std::string)> on_line, std::function<void(bool interrupted)> on_end,
             bool read_stdin = true);

  // Wakes the reader and joins it. Idempotent.
  void stop();

 private:
  void run();

  int wake_[2] = {-1, -1};  // self-pipe: byte 'q' = stop(), 's' = signal
  bool read_stdin_ = true;
  std::thread thread_;
  std::function<void(std::string)> on_line_;
  std::function<void(bool)> on_end_;
};

}  // namespace duplex::cli
