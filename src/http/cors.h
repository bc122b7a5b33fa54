// CORS (the Fetch standard's "CORS protocol") for endpoints that browsers reach from other
// origins: the Centrifugo HTTP transports and /emulation, /events, and Engine.IO's polling.
//
// A request with an Origin the policy allows gets Access-Control-Allow-Origin echoing that
// origin (never "*", so that credentials can be allowed), "Vary: Origin" so caches keep the
// answers apart, and Access-Control-Allow-Credentials when the policy says so. A preflight
// (OPTIONS with Access-Control-Request-Method) gets 204 with the methods the endpoint takes,
// the request headers the browser asked for (when they are plain header names) and a max age.
// A refused origin gets none of these: the browser then blocks the response itself; endpoints
// that act on a request (not only read) also answer 403 so that nothing happens.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace duplex::http {

struct cors_policy {
  std::vector<std::string> allowed_origins;  // exact origins; empty, or "*" listed: any origin
  bool credentials = false;                  // add Access-Control-Allow-Credentials: true
  std::string methods = "GET, POST, OPTIONS";
  int max_age_seconds = 600;
};

using header_list = std::vector<std::pair<std::string, std::string>>;

// True when `origin` may use the endpoint.
bool cors_origin_allowed(const cors_policy& p, std::string_view origin);

// Appends the fields for a response to an allowed cross-origin request.
void append_cors_headers(const cors_policy& p, std::string_view origin, header_list& out);

// Appends the fields for a preflight answer (204) to an allowed origin: the above, plus
// Allow-Methods, Allow-Headers (`request_headers`, the Access-Control-Request-Headers value,
// echoed when it is a comma-separated list of header names; else only Content-Type) and Max-Age.
void append_preflight_headers(const cors_policy& p, std::string_view origin,
                              std::optional<std::string_view> request_headers, header_list& out);

// The whole answer to an OPTIONS request: 204 with the preflight fields for an allowed origin
// asking with Access-Control-Request-Method; 204 with "Allow: <methods>" for a plain OPTIONS
// (no Origin or no request method); 403 with a reason for a refused origin.
struct options_answer {
  int status = 204;
  header_list headers;
  std::string body;  // the reason, for 403
};
options_answer answer_options(const cors_policy& p, std::optional<std::string_view> origin,
                              std::optional<std::string_view> request_method,
                              std::optional<std::string_view> request_headers);

}  // namespace duplex::http
