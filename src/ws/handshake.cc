#include "ws/handshake.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdint>

#include "base/assert.h"
#include "ws/header_tokens.h"

namespace duplex::ws {
namespace {

constexpr std::string_view accept_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";  // §1.3

std::string base64(const unsigned char* data, int n) {
  std::string out(static_cast<std::size_t>(4 * ((n + 2) / 3)), '\0');
  const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, n);
  out.resize(static_cast<std::size_t>(len));
  return out;
}

// Calls fn(value) for every header named `name`, in order.
template <class Fn>
void for_each_header(const http::headers& h, std::string_view name, Fn&& fn) {
  for (const auto& f : h.list) {
    if (detail::iequals(f.name, name)) fn(f.value);
  }
}

const http::header* find_header(const http::headers& h, std::string_view name) noexcept {
  for (const auto& f : h.list) {
    if (detail::iequals(f.name, name)) return &f;
  }
  return nullptr;
}

std::size_t count_header(const http::headers& h, std::string_view name) noexcept {
  std::size_t n = 0;
  for_each_header(h, name, [&](std::string_view) { ++n; });
  return n;
}

bool any_header_has_token(const http::headers& h, std::string_view name, std::string_view token) {
  bool found = false;
  for_each_header(h, name, [&](std::string_view v) { found = found || detail::list_has_token(v, token); });
  return found;
}

}  // namespace

std::string compute_accept_key(std::string_view client_key) {
  // The key is at most a few dozen bytes; hash key + GUID without building a string.
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx, EVP_sha1(), nullptr) == 1 &&
            EVP_DigestUpdate(ctx, client_key.data(), client_key.size()) == 1 &&
            EVP_DigestUpdate(ctx, accept_guid.data(), accept_guid.size()) == 1 &&
            EVP_DigestFinal_ex(ctx, md, &md_len) == 1;
  EVP_MD_CTX_free(ctx);
  DUPLEX_ASSERT(ok && md_len == 20);  // SHA-1 is always available in OpenSSL 3's default provider
  return base64(md, 20);
}

bool is_valid_client_key(std::string_view key) noexcept {
  // 16 bytes encode to 22 significant characters + "==" (RFC 4648 §4).
  if (key.size() != 24 || key[22] != '=' || key[23] != '=') return false;
  unsigned char out[18];
  const int n = EVP_DecodeBlock(out, reinterpret_cast<const unsigned char*>(key.data()), 24);
  return n == 18;  // EVP_DecodeBlock counts the two padding bytes; -1 on a bad character
}

upgrade_result validate_upgrade(const http::request_head& req, const handshake_options& opt) {
  upgrade_result r;
  const auto& h = req.fields;
  // RFC 6455 §4.2.1 #1: "An HTTP/1.1 or higher GET request".
  if (req.verb != http::method::get) return {error::handshake_bad_method, {}};
  if (req.version_minor < 1) return {error::handshake_bad_http_version, {}};
  // §4.2.1 #2: a Host header field.
  if (find_header(h, "Host") == nullptr) return {error::handshake_missing_host, {}};
  // §4.2.1 #3, #4: Upgrade contains "websocket", Connection contains "Upgrade" (both
  // case-insensitive tokens in comma lists).
  if (!any_header_has_token(h, "Upgrade", "websocket")) return {error::handshake_missing_upgrade, {}};
  if (!any_header_has_token(h, "Connection", "upgrade")) {
    return {error::handshake_missing_connection_upgrade, {}};
  }
  // §4.2.1 #6, §4.2.2: version 13, else 426 with the version we speak.
  const http::header* version = find_header(h, "Sec-WebSocket-Version");
  if (version == nullptr || count_header(h, "Sec-WebSocket-Version") != 1 ||
      detail::trim(version->value) != "13") {
    return {error::handshake_bad_version, {}};
  }
  // §4.2.1 #5: base64 of a 16-byte nonce; §11.3.1: must not appear more than once.
  const http::header* key = find_header(h, "Sec-WebSocket-Key");
  if (key == nullptr || count_header(h, "Sec-WebSocket-Key") != 1 ||
      !is_valid_client_key(detail::trim(key->value))) {
    return {error::handshake_bad_key, {}};
  }
  // §10.2: the server may reject origins it does not trust, with 403.
  if (!opt.allowed_origins.empty()) {
    const http::header* origin = find_header(h, "Origin");
    if (origin == nullptr) {
      if (opt.require_origin) return {error::handshake_origin_forbidden, {}};
    } else {
      bool allowed = false;
      for (const auto& o : opt.allowed_origins) allowed = allowed || detail::iequals(o, origin->value);
      if (!allowed) return {error::handshake_origin_forbidden, {}};
    }
  }

  r.accepted.accept_key = compute_accept_key(detail::trim(key->value));
  // §4.2.2 /subprotocol/: the first of the client's list that we support.
  if (!opt.subprotocols.empty()) {
    for_each_header(h, "Sec-WebSocket-Protocol", [&](std::string_view v) {
      while (!v.empty() && r.accepted.subprotocol.empty()) {
        std::string_view p = detail::next_item(v, ',');
        for (const auto& ours : opt.subprotocols) {
          if (p == ours) {  // subprotocol names are case-sensitive (§11.3.4)
            r.accepted.subprotocol = ours;
            break;
          }
        }
      }
    });
  }
  if (opt.deflate.enabled) {
    for_each_header(h, "Sec-WebSocket-Extensions", [&](std::string_view v) {
      if (r.accepted.deflate) return;
      if (auto a = negotiate_deflate(v, opt.deflate)) {
        r.accepted.deflate = a->params;
        r.accepted.extensions = std::move(a->response);
      }
    });
  }
  return r;
}

std::string format_accept_response(const accept_result& a, std::string_view extra_headers) {
  std::string s;
  s.reserve(160 + a.subprotocol.size() + a.extensions.size() + extra_headers.size());
  s += "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Accept: ";
  s += a.accept_key;
  s += "\r\n";
  if (!a.subprotocol.empty()) {
    s += "Sec-WebSocket-Protocol: ";
    s += a.subprotocol;
    s += "\r\n";
  }
  if (!a.extensions.empty()) {
    s += "Sec-WebSocket-Extensions: ";
    s += a.extensions;
    s += "\r\n";
  }
  s += extra_headers;
  s += "\r\n";
  return s;
}

std::string format_reject_response(error e) {
  const int status = http_status_of(e) != 0 ? http_status_of(e) : 400;
  std::string s = "HTTP/1.1 ";
  switch (status) {
    case 403: s += "403 Forbidden\r\n"; break;
    case 426: s += "426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n"; break;
    default: s += "400 Bad Request\r\n"; break;
  }
  s += "Connection: close\r\nContent-Length: 0\r\n\r\n";
  return s;
}

client_request make_client_request(const client_options& opt) {
  unsigned char nonce[16];
  // RAND_bytes fails only when the CSPRNG cannot seed: nothing sane to do but stop.
  DUPLEX_ASSERT(RAND_bytes(nonce, sizeof nonce) == 1);
  client_request r;
  r.key = base64(nonce, sizeof nonce);
  std::string& s = r.bytes;
  s.reserve(256);
  s += "GET ";
  s += opt.target.empty() ? std::string_view("/") : std::string_view(opt.target);
  s += " HTTP/1.1\r\nHost: ";
  s += opt.host;
  s += "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ";
  s += r.key;
  s += "\r\nSec-WebSocket-Version: 13\r\n";
  if (opt.origin) {
    s += "Origin: ";
    s += *opt.origin;
    s += "\r\n";
  }
  if (!opt.subprotocols.empty()) {
    s += "Sec-WebSocket-Protocol: ";
    for (std::size_t i = 0; i < opt.subprotocols.size(); ++i) {
      if (i) s += ", ";
      s += opt.subprotocols[i];
    }
    s += "\r\n";
  }
  if (opt.deflate.enabled) {
    s += "Sec-WebSocket-Extensions: ";
    s += format_deflate_offer(opt.deflate);
    s += "\r\n";
  }
  for (const auto& [name, value] : opt.extra_headers) {
    s += name;
    s += ": ";
    s += value;
    s += "\r\n";
  }
  s += "\r\n";
  return r;
}

response_result validate_response(const http::response_head& resp, std::string_view key,
                                  const client_options& opt) {
  response_result r;
  const auto& h = resp.fields;
  // RFC 6455 §4.1, "If the status code received from the server is not 101 ..."
  if (resp.status != 101) return {error::handshake_bad_status, {}};
  if (!any_header_has_token(h, "Upgrade", "websocket")) return {error::handshake_missing_upgrade, {}};
  if (!any_header_has_token(h, "Connection", "upgrade")) {
    return {error::handshake_missing_connection_upgrade, {}};
  }
  const http::header* accept = find_header(h, "Sec-WebSocket-Accept");
  if (accept == nullptr || count_header(h, "Sec-WebSocket-Accept") != 1 ||
      detail::trim(accept->value) != compute_accept_key(key)) {
    return {error::handshake_bad_accept, {}};
  }
  // §4.1: a subprotocol that was not in our request fails the connection.
  if (const http::header* proto = find_header(h, "Sec-WebSocket-Protocol")) {
    const std::string_view chosen = detail::trim(proto->value);
    bool offered = false;
    for (const auto& p : opt.subprotocols) offered = offered || p == chosen;
    if (!offered || count_header(h, "Sec-WebSocket-Protocol") != 1) {
      return {error::handshake_bad_subprotocol, {}};
    }
    r.accepted.subprotocol = std::string(chosen);
  }
  // §4.1: an extension not requested by the client fails the connection.
  bool bad = false;
  for_each_header(h, "Sec-WebSocket-Extensions", [&](std::string_view v) {
    while (!v.empty() && !bad) {
      std::string_view element = detail::next_item(v, ',');
      if (element.empty()) continue;
      std::string_view name = detail::next_item(element, ';');
      if (!opt.deflate.enabled || !detail::iequals(name, permessage_deflate_name) ||
          r.accepted.deflate) {
        bad = true;
        break;
      }
      r.accepted.deflate = accept_deflate_response(element, opt.deflate);
      if (!r.accepted.deflate) bad = true;
    }
  });
  if (bad) return {error::handshake_bad_extension, {}};
  return r;
}

}  // namespace duplex::ws
