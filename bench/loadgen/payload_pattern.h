// payload_pattern: the bytes of the n-th message a connection sends, so the echo can be checked
// as it streams in without keeping a copy of what was sent.
//
// Message n is pattern[(n % period) ...][0, size): consecutive messages differ (a reordered,
// dropped or corrupted echo is detected), and any byte range of any message is one memcmp
// against the pattern. Bytes are printable ASCII, hence valid UTF-8 for text frames; with
// `json_safe` neither '"' nor '\\' occurs either, so a message is also the body of a JSON
// string as written (the Socket.IO echo sends it as an event argument).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace duplex::bench {

class payload_pattern {
 public:
  static constexpr std::size_t period = 251;  // prime: shifts of a message never line up

  explicit payload_pattern(std::size_t message_size, bool json_safe = false)
      : size_(message_size) {
    bytes_.resize(message_size + period);
    for (std::size_t i = 0; i < bytes_.size(); ++i) {
      char ch = static_cast<char>(0x21 + (i % period) % 94);  // '!'..'~'
      if (json_safe && (ch == '"' || ch == '\\')) ch = '_';
      bytes_[i] = static_cast<std::byte>(ch);
    }
  }
  std::size_t message_size() const noexcept { return size_; }
  // The bytes of message `seq` (of this connection).
  std::span<const std::byte> message(std::uint64_t seq) const noexcept {
    return {bytes_.data() + seq % period, size_};
  }
  std::string_view text(std::uint64_t seq) const noexcept {
    return {reinterpret_cast<const char*>(bytes_.data() + seq % period), size_};
  }

 private:
  std::size_t size_;
  std::vector<std::byte> bytes_;
};

}  // namespace duplex::bench
