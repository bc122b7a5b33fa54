#include "centrifuge/codec/codes.h"

namespace duplex::centrifuge {

std::string_view error_message(error_code c) noexcept {
  switch (c) {
    case error_code::internal: return "internal server error";
    case error_code::unauthorized: return "unauthorized";
    case error_code::unknown_channel: return "unknown channel";
    case error_code::permission_denied: return "permission denied";
    case error_code::method_not_found: return "method not found";
    case error_code::already_subscribed: return "already subscribed";
    case error_code::limit_exceeded: return "limit exceeded";
    case error_code::bad_request: return "bad request";
    case error_code::not_available: return "not available";
    case error_code::token_expired: return "token expired";
    case error_code::expired: return "expired";
    case error_code::too_many_requests: return "too many requests";
    case error_code::unrecoverable_position: return "unrecoverable position";
  }
  return "unknown error";
}

bool error_temporary(error_code c) noexcept {
  return c == error_code::internal || c == error_code::too_many_requests;
}

std::string_view unsubscribe_reason(unsubscribe_code c) noexcept {
  switch (c) {
    case unsubscribe_code::server: return "server unsubscribe";
    case unsubscribe_code::insufficient_state: return "insufficient state";
    case unsubscribe_code::expired: return "subscription expired";
  }
  return "unsubscribed";
}

}  // namespace duplex::centrifuge
