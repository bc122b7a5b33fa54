// permessage-deflate negotiation (RFC 7692 §5, §7.1): parsing and formatting the
// Sec-WebSocket-Extensions offer and response. The compressors are ws/deflater.h and
// ws/inflater.h; ws::protocol drives them with the agreed deflate_params.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace duplex::ws {

inline constexpr std::string_view permessage_deflate_name = "permessage-deflate";

// The agreed parameters (RFC 7692 §7.1), identical on both ends once negotiated.
struct deflate_params {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  std::uint8_t server_max_window_bits = 15;  // 8..15; the server's compressor window
  std::uint8_t client_max_window_bits = 15;  // 8..15; the client's compressor window
  friend bool operator==(const deflate_params&, const deflate_params&) = default;
};

// What this endpoint wants. Server: how to answer offers. Client: what to offer.
struct deflate_config {
  bool enabled = true;
  // Server: always answer server_no_context_takeover (each message compressed alone; lets the
  // server reset its compressor per message and share compressed broadcast frames).
  // Client: request it in the offer.
  bool server_no_context_takeover = false;
  // Server: ask the client to compress each message alone (saves the server's inflate window
  // between messages). Client: offer it.
  bool client_no_context_takeover = false;
  // Server: the largest window our compressor uses (answered only when the client offered
  // server_max_window_bits; used silently otherwise).
  // Client: offered as server_max_window_bits when below 15.
  std::uint8_t server_max_window_bits = 15;
  // Server: the window we ask the client to use, if it offered client_max_window_bits.
  // Client: offered as client_max_window_bits (no value when 15).
  std::uint8_t client_max_window_bits = 15;
  int compression_level = 1;  // zlib level; 1 is the usual speed/ratio choice for messaging
  int mem_level = 8;          // zlib memLevel (1..9): compressor memory vs ratio
};

// The parameters of one extension element after its name, e.g. for
// "permessage-deflate; client_max_window_bits; server_max_window_bits=10" the text
// "client_max_window_bits; server_max_window_bits=10".
struct deflate_offer {
  bool server_no_context_takeover = false;
  bool client_no_context_takeover = false;
  std::optional<std::uint8_t> server_max_window_bits;
  bool client_max_window_bits_present = false;       // the parameter, with or without a value
  std::optional<std::uint8_t> client_max_window_bits;  // its value, when given
};

// Parses parameters (RFC 7692 §7.1): known names only, none twice, window bits 8..15 written
// as 1*DIGIT (a quoted-string value is unquoted first, §7.1). nullopt when invalid.
std::optional<deflate_offer> parse_deflate_params(std::string_view params) noexcept;

struct deflate_agreement {
  deflate_params params;
  std::string response;  // the Sec-WebSocket-Extensions element to send back
};

// Server side. `header_value` is one Sec-WebSocket-Extensions value (a comma-separated list of
// offers, in the client's preference order). Returns the agreement for the first
// permessage-deflate offer we can accept; offers we cannot accept are declined, never failed
// (RFC 7692 §5.1): e.g. invalid parameters, or client_max_window_bits we require but the client
// did not allow. nullopt when compression is disabled or nothing is acceptable.
std::optional<deflate_agreement> negotiate_deflate(std::string_view header_value,
                                                   const deflate_config& config);

// Client side: the offer element to send, e.g. "permessage-deflate; client_max_window_bits".
std::string format_deflate_offer(const deflate_config& config);

// Client side: validates the server's response parameters against what we offered
// (RFC 7692 §7.1.1.1-§7.1.2.2). nullopt means the client must fail the connection.
std::optional<deflate_params> accept_deflate_response(std::string_view params,
                                                      const deflate_config& offered) noexcept;

}  // namespace duplex::ws
