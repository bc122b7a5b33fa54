// centrifuge::authenticator over server::jwt_verifier: connection and subscription tokens as
// Centrifugo defines them. `expire_at` (when present) overrides `exp` for the connection's
// lifetime, as in Centrifugo; an expired token maps to auth_status::expired so that the SDK
// refreshes it, any other failure to invalid (logged with its reason at debug level).
#pragma once

#include <functional>
#include <memory>

#include "centrifuge/authenticator.h"
#include "server/jwt.h"

namespace duplex::service {

class jwt_authenticator final : public centrifuge::authenticator {
 public:
  // `verifier` may be null: every token is then invalid (anonymous connects only).
  explicit jwt_authenticator(jwt_verifier_ptr verifier,
                             std::function<std::int64_t()> now_unix = nullptr);

  centrifuge::auth_status verify_connect(std::string_view token,
                                         centrifuge::connect_identity& out) const override;
  centrifuge::auth_status verify_subscribe(std::string_view token, std::string_view channel,
                                           std::string_view user,
                                           centrifuge::subscribe_grant& out) const override;
  std::int64_t now_unix() const override;

 private:
  jwt_verifier_ptr verifier_;
  std::function<std::int64_t()> now_;
};

}  // namespace duplex::service
