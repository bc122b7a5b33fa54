#include "server/jwt_authenticator.h"

#include <chrono>

#include <spdlog/spdlog.h>

namespace duplex::service {

namespace {

centrifuge::auth_status status_of(jwt_error e, std::string_view what) {
  if (e == jwt_error::ok) return centrifuge::auth_status::ok;
  spdlog::debug("{} token refused: {}", what, message(e));
  return e == jwt_error::expired ? centrifuge::auth_status::expired : centrifuge::auth_status::invalid;
}

}  // namespace

jwt_authenticator::jwt_authenticator(jwt_verifier_ptr verifier, std::function<std::int64_t()> now_unix)
    : verifier_(std::move(verifier)), now_(std::move(now_unix)) {}

std::int64_t jwt_authenticator::now_unix() const {
  if (now_) return now_();
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

centrifuge::auth_status jwt_authenticator::verify_connect(std::string_view token,
                                                          centrifuge::connect_identity& out) const {
  if (!verifier_) return centrifuge::auth_status::invalid;
  connection_claims c;
  auto st = status_of(verifier_->verify_connection(token, c), "connection");
  if (st != centrifuge::auth_status::ok) return st;
  out.user = std::move(c.user);
  out.info_json = std::move(c.info);
  out.channels = std::move(c.channels);
  if (c.expire_at) out.expire_at = c.expire_at;
  else if (c.exp) out.expire_at = c.exp;
  return st;
}

centrifuge::auth_status jwt_authenticator::verify_subscribe(std::string_view token,
                                                            std::string_view channel,
                                                            std::string_view user,
                                                            centrifuge::subscribe_grant& out) const {
  if (!verifier_) return centrifuge::auth_status::invalid;
  subscription_claims c;
  auto st = status_of(verifier_->verify_subscription(token, channel, user, c), "subscription");
  if (st != centrifuge::auth_status::ok) return st;
  out.info_json = std::move(c.info);
  if (c.expire_at) out.expire_at = c.expire_at;
  else if (c.exp) out.expire_at = c.exp;
  return st;
}

}  // namespace duplex::service
