// What every example server's main() ends with: listen, print "listening on N" (the line tests
// wait for), run until SIGINT or SIGTERM, stop gracefully.
//
// Call block_stop_signals() first in main(), before any thread starts, so that only the
// waiter thread takes those signals (sigwait) and loop threads never run a handler.
#pragma once

#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <thread>

#include "duplex/server.h"

namespace duplex::examples {

inline sigset_t block_stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

// Returns main()'s exit code: 1 when the server cannot listen (said on stderr as `name`).
inline int serve_until_signal(duplex::server& srv, const sigset_t& signals, const char* name) {
  if (auto ec = srv.listen()) {
    std::fprintf(stderr, "%s: cannot listen: %s\n", name, ec.message().c_str());
    return 1;
  }
  std::printf("listening on %u\n", srv.port());
  std::fflush(stdout);
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    srv.stop();
  });
  srv.run();
  pthread_kill(waiter.native_handle(), SIGTERM);  // wakes the waiter if run() ended first
  waiter.join();
  return 0;
}

}  // namespace duplex::examples
