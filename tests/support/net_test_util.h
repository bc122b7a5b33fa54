// Test helpers for code that needs TLS material: a throw-away self-signed certificate made with
// OpenSSL's C API at test time (no key or certificate files checked into the repo).
//
// Link note: the implementation uses OpenSSL and run_until() uses net::loop; test executables
// that call them must link duplex_net (which links OpenSSL publicly).
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "net/loop.h"

namespace duplex::test {

// Runs the loop on this thread until pred() holds or the timeout passes (polling each 1 ms
// timer tick); returns pred(). Bounded, so a broken test fails instead of hanging.
inline bool run_until(net::loop& l, const std::function<bool()>& pred,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::function<void()> check = [&] {
    if (pred() || std::chrono::steady_clock::now() >= deadline) {
      l.stop();
    } else {
      l.run_after(std::chrono::milliseconds(1), check);
    }
  };
  l.post(check);
  l.run();
  return pred();
}

struct self_signed_cert {
  std::string dir;        // a fresh temporary directory holding both files
  std::string cert_file;  // PEM certificate, CN and SAN = the given host, plus IP 127.0.0.1, ::1
  std::string key_file;   // PEM private key (EC P-256)
};

// Creates the files; returns an empty struct (cert_file empty) on failure. The directory is
// left behind under the system temp dir; call remove_cert() to delete it.
self_signed_cert make_self_signed_cert(const std::string& host = "localhost");
void remove_cert(const self_signed_cert& c);

}  // namespace duplex::test
