// inflater: decompresses permessage-deflate messages (RFC 7692 §7.2.2) with a hard cap on the
// output size, so that a decompression bomb fails as soon as its output would pass the cap,
// without ever allocating more than the cap (STYLE.md rule 13).
//
// Memory: the zlib stream (about 7 KiB + 2^window bytes) is allocated when the first
// compressed message arrives. Not thread-safe; one per connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace duplex::ws {

class inflater {
 public:
  enum class status : std::uint8_t {
    ok,
    too_big,  // the output would exceed max_size; the message must be rejected (1009)
    corrupt,  // not valid deflate data (1002)
    internal, // zlib could not allocate (1011)
  };

  // window_bits: the peer's agreed max window (8..15). no_context_takeover: the peer resets
  // its window per message, so we reset ours after each message too.
  inflater(std::uint8_t window_bits, bool no_context_takeover);
  ~inflater();
  inflater(inflater&&) noexcept;
  inflater& operator=(inflater&&) noexcept;

  // Inflates the next piece of one message's compressed payload, appending to `out`. After
  // any status other than ok the message is dead: call reset() before the next one.
  // Postcondition: out.size() <= max_size.
  status inflate(std::span<const std::byte> in, std::vector<std::byte>& out,
                 std::size_t max_size);

  // Ends the message: inflates the 00 00 ff ff tail that the sender stripped (§7.2.2) and,
  // with no_context_takeover, resets the window for the next message.
  status finish(std::vector<std::byte>& out, std::size_t max_size);

  // Drops the current message's state (after an error), keeping the allocation.
  void reset() noexcept;

 private:
  struct stream;  // zlib's z_stream; kept out of this header
  bool ensure_stream() noexcept;
  status run(std::span<const std::byte> in, std::vector<std::byte>& out, std::size_t max_size);

  std::unique_ptr<stream> z_;
  std::uint8_t window_bits_;
  bool no_context_takeover_;
  bool ended_ = false;
  bool fed_ = false;  // this message had compressed bytes  // the peer sent a BFINAL block: ignore the rest of this message's tail
};

}  // namespace duplex::ws
