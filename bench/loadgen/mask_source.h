// mask_source: masking keys for client frames. RFC 6455 §5.3 asks for keys "derived from a
// strong source of entropy" so that a sender's payload cannot steer the bytes on the wire; a
// load generator sends millions per second, so keys are drawn from OpenSSL's RAND_bytes in
// blocks of 4096 and handed out one by one (one RAND call per 4096 frames).
#pragma once

#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstdio>

namespace duplex::bench {

class mask_source {
 public:
  std::uint32_t next() {
    if (next_ == keys_.size()) refill();
    return keys_[next_++];
  }

 private:
  void refill() {
    if (RAND_bytes(reinterpret_cast<unsigned char*>(keys_.data()),
                   static_cast<int>(sizeof(std::uint32_t) * keys_.size())) != 1) {
      std::fprintf(stderr, "loadgen: RAND_bytes failed\n");
      std::abort();  // no safe fallback: predictable keys would break §5.3
    }
    next_ = 0;
  }

  std::array<std::uint32_t, 4096> keys_{};
  std::size_t next_ = 4096;
};

}  // namespace duplex::bench
