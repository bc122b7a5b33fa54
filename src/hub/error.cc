#include "hub/error.h"

namespace duplex::hub {

std::string_view to_string(error e) noexcept {
  switch (e) {
    case error::ok: return "ok";
    case error::bad_channel: return "bad_channel";
    case error::unknown_namespace: return "unknown_namespace";
    case error::permission_denied: return "permission_denied";
    case error::already_subscribed: return "already_subscribed";
    case error::not_subscribed: return "not_subscribed";
    case error::too_many_subscribers: return "too_many_subscribers";
    case error::not_available: return "not_available";
    case error::unrecoverable_position: return "unrecoverable_position";
    case error::broker_unavailable: return "broker_unavailable";
  }
  return "unknown";
}

}  // namespace duplex::hub
