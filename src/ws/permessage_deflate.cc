#include "ws/permessage_deflate.h"

#include <algorithm>

#include "ws/header_tokens.h"

namespace duplex::ws {
namespace {

// RFC 7692 §7.1.2.1: window bits are 1*DIGIT in 8..15, possibly as a quoted-string.
std::optional<std::uint8_t> parse_bits(std::string_view v) noexcept {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.empty() || v.size() > 2) return std::nullopt;
  unsigned n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<unsigned>(c - '0');
  }
  if (v.size() == 2 && v[0] == '0') return std::nullopt;  // no leading zero
  if (n < 8 || n > 15) return std::nullopt;
  return static_cast<std::uint8_t>(n);
}

std::uint8_t clamp_bits(std::uint8_t b) noexcept { return std::clamp<std::uint8_t>(b, 8, 15); }

}  // namespace

std::optional<deflate_offer> parse_deflate_params(std::string_view params) noexcept {
  deflate_offer o;
  bool seen_smwb = false;
  bool seen_snct = false;
  bool seen_cnct = false;
  while (!params.empty()) {
    std::string_view item = detail::next_item(params, ';');
    if (item.empty()) return std::nullopt;
    std::string_view name = item;
    std::optional<std::string_view> value;
    if (auto eq = item.find('='); eq != std::string_view::npos) {
      name = detail::trim(item.substr(0, eq));
      value = detail::trim(item.substr(eq + 1));
    }
    // RFC 7692 §7.1: a parameter given twice, an unknown one, or a bad value declines the offer.
    if (detail::iequals(name, "server_no_context_takeover")) {
      if (seen_snct || value) return std::nullopt;
      seen_snct = o.server_no_context_takeover = true;
    } else if (detail::iequals(name, "client_no_context_takeover")) {
      if (seen_cnct || value) return std::nullopt;
      seen_cnct = o.client_no_context_takeover = true;
    } else if (detail::iequals(name, "server_max_window_bits")) {
      if (seen_smwb || !value) return std::nullopt;  // §7.1.2.1: value required
      seen_smwb = true;
      o.server_max_window_bits = parse_bits(*value);
      if (!o.server_max_window_bits) return std::nullopt;
    } else if (detail::iequals(name, "client_max_window_bits")) {
      if (o.client_max_window_bits_present) return std::nullopt;
      o.client_max_window_bits_present = true;
      if (value) {  // §7.1.2.2: the value is optional in an offer
        o.client_max_window_bits = parse_bits(*value);
        if (!o.client_max_window_bits) return std::nullopt;
      }
    } else {
      return std::nullopt;
    }
  }
  return o;
}

std::optional<deflate_agreement> negotiate_deflate(std::string_view header_value,
                                                   const deflate_config& config) {
  if (!config.enabled) return std::nullopt;
  while (!header_value.empty()) {
    std::string_view element = detail::next_item(header_value, ',');
    std::string_view name = detail::next_item(element, ';');
    if (!detail::iequals(name, permessage_deflate_name)) continue;
    auto offer = parse_deflate_params(element);
    if (!offer) continue;  // declined (RFC 7692 §5.1), try the next offer

    deflate_agreement a;
    deflate_params& p = a.params;
    std::string& r = a.response;
    r = permessage_deflate_name;
    // §7.1.1.1: the server may always choose not to take over its own context.
    p.server_no_context_takeover = offer->server_no_context_takeover ||
                                   config.server_no_context_takeover;
    // §7.1.1.2: the server may ask the client not to take over context even if not offered.
    p.client_no_context_takeover = offer->client_no_context_takeover ||
                                   config.client_no_context_takeover;
    // §7.1.2.1: answer with the offered value or smaller. Without an offer we announce
    // nothing (some browsers fail on an unrequested parameter) and may still compress with a
    // smaller window: a smaller compressor window is always readable by a larger inflater.
    std::uint8_t smwb = clamp_bits(config.server_max_window_bits);
    if (offer->server_max_window_bits) smwb = std::min(smwb, *offer->server_max_window_bits);
    p.server_max_window_bits = smwb;
    // §7.1.2.2: client_max_window_bits may be answered only when the client offered it.
    p.client_max_window_bits = 15;
    const std::uint8_t want_cmwb = clamp_bits(config.client_max_window_bits);
    if (offer->client_max_window_bits_present) {
      std::uint8_t c = offer->client_max_window_bits.value_or(15);
      c = std::min(c, want_cmwb);
      p.client_max_window_bits = c;
    } else if (want_cmwb < 15) {
      // We need a smaller client window than the client can promise: decline this offer.
      continue;
    }
    if (p.server_no_context_takeover) r += "; server_no_context_takeover";
    if (p.client_no_context_takeover) r += "; client_no_context_takeover";
    if (offer->server_max_window_bits) {
      r += "; server_max_window_bits=" + std::to_string(p.server_max_window_bits);
    }
    if (offer->client_max_window_bits_present && p.client_max_window_bits < 15) {
      r += "; client_max_window_bits=" + std::to_string(p.client_max_window_bits);
    }
    return a;
  }
  return std::nullopt;
}

std::string format_deflate_offer(const deflate_config& config) {
  std::string s(permessage_deflate_name);
  if (config.server_no_context_takeover) s += "; server_no_context_takeover";
  if (config.client_no_context_takeover) s += "; client_no_context_takeover";
  const std::uint8_t smwb = clamp_bits(config.server_max_window_bits);
  if (smwb < 15) s += "; server_max_window_bits=" + std::to_string(smwb);
  const std::uint8_t cmwb = clamp_bits(config.client_max_window_bits);
  // We always allow the server to shrink our window (we compress with whatever it answers).
  if (cmwb < 15) {
    s += "; client_max_window_bits=" + std::to_string(cmwb);
  } else {
    s += "; client_max_window_bits";
  }
  return s;
}

std::optional<deflate_params> accept_deflate_response(std::string_view params,
                                                      const deflate_config& offered) noexcept {
  auto r = parse_deflate_params(params);
  if (!r) return std::nullopt;
  deflate_params p;
  p.server_no_context_takeover = r->server_no_context_takeover;
  // §7.1.1.2: the server may add client_no_context_takeover even when we did not offer it.
  p.client_no_context_takeover = r->client_no_context_takeover;
  const std::uint8_t offered_smwb = clamp_bits(offered.server_max_window_bits);
  if (r->server_max_window_bits) {
    // §7.1.2.1: not larger than what we asked for (when we asked).
    if (*r->server_max_window_bits > offered_smwb) return std::nullopt;
    p.server_max_window_bits = *r->server_max_window_bits;
  } else if (offered_smwb < 15) {
    return std::nullopt;  // we asked for a limit and the server did not accept it
  } else {
    p.server_max_window_bits = 15;
  }
  if (r->client_max_window_bits_present) {
    // §7.1.2.2: in a response the value is required and at most what we offered.
    if (!r->client_max_window_bits) return std::nullopt;
    if (*r->client_max_window_bits > clamp_bits(offered.client_max_window_bits)) {
      return std::nullopt;
    }
    p.client_max_window_bits = *r->client_max_window_bits;
  } else {
    p.client_max_window_bits = clamp_bits(offered.client_max_window_bits);
  }
  if (offered.server_no_context_takeover && !p.server_no_context_takeover) return std::nullopt;
  return p;
}

}  // namespace duplex::ws
