// Errors of the hub's public operations (subscribe, publish, presence, history, recovery).
//
// Each value maps to one reaction in the protocol layers (a Centrifugo error code, a Socket.IO
// connect_error, an HTTP API status); the mapping lives with each protocol, not here, so the
// hub stays protocol-agnostic. These are expected outcomes of untrusted requests, never
// exceptions (STYLE.md rule 12).
#pragma once

#include <cstdint>
#include <string_view>

namespace duplex::hub {

enum class error : std::uint8_t {
  ok = 0,
  bad_channel,             // the name fails channel_name validation (see channel_error)
  unknown_namespace,       // "ns:rest" where ns is not configured
  permission_denied,       // the namespace's access rule refuses this credential
  already_subscribed,      // this subscriber already holds the channel
  not_subscribed,          // unsubscribe of a channel the subscriber does not hold
  too_many_subscribers,    // the namespace's max_subscribers is reached
  not_available,           // presence/history asked on a namespace that has it off
  unrecoverable_position,  // history `since` names another epoch
  broker_unavailable,      // the broker could not complete (network, Redis down)
};

// Stable lower_snake name for logs and metrics labels.
std::string_view to_string(error e) noexcept;

}  // namespace duplex::hub
