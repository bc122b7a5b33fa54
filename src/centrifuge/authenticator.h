// authenticator: how a Centrifugo session checks connection and subscription tokens without
// knowing JWT. The server layer implements it over service::jwt_verifier (rank 5 may use rank
// 4, not the other way round); tests use a fake.
//
// Thread safety: verify_* and now_unix() are called from every loop thread at once; an
// implementation must be safe for that (const, no shared mutable state).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace duplex::centrifuge {

enum class auth_status : std::uint8_t {
  ok,
  expired,  // well-formed and correctly signed, but past its expiry: the SDK refreshes it
  invalid,  // anything else (malformed, bad signature, wrong channel or user...)
};

// What a valid connection token grants.
struct connect_identity {
  std::string user;                         // "" = anonymous user with a token
  std::string info_json;                    // raw JSON of the `info` claim, "" when absent
  std::vector<std::string> channels;        // server-side subscriptions
  std::optional<std::int64_t> expire_at;    // UNIX seconds; none = never expires
};

// What a valid subscription token grants.
struct subscribe_grant {
  std::string info_json;
  std::optional<std::int64_t> expire_at;
};

class authenticator {
 public:
  virtual ~authenticator() = default;
  virtual auth_status verify_connect(std::string_view token, connect_identity& out) const = 0;
  virtual auth_status verify_subscribe(std::string_view token, std::string_view channel,
                                       std::string_view user, subscribe_grant& out) const = 0;
  // Wall-clock UNIX seconds, the clock the tokens' expiry is measured on.
  virtual std::int64_t now_unix() const = 0;
};

}  // namespace duplex::centrifuge
