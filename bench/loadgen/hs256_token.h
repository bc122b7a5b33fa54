// hs256_token: connection tokens for the Centrifugo unidirectional transports, signed by the
// generator itself. A uni client sends no subscribe command: its subscriptions are the token's
// `channels` claim (server-side subscriptions), so each subscriber's token names its channel.
//
// The token is an RFC 7519 JWT in RFC 7515 compact form with HS256 (RFC 7518 §3.2):
// BASE64URL(header) "." BASE64URL(claims) "." BASE64URL(HMAC-SHA256(secret, first two)),
// base64url without padding (RFC 7515 §2). The server checks it with its
// auth.token_hmac_secret (`duplex serve --token-secret S`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace duplex::bench {

// Base64url of `bytes`, no padding (RFC 4648 §5).
std::string base64url(std::string_view bytes);

// header {"alg":"HS256","typ":"JWT"}, claims {"sub":"<user>","channels":["<channel>"],
// "exp":<exp>}. `user` and `channel` need no JSON escaping (checked by the caller: the
// generator's own names). `exp` is UNIX seconds.
std::string make_hs256_token(std::string_view secret, std::string_view user,
                             std::string_view channel, std::int64_t exp);

}  // namespace duplex::bench
