#include "http/error.h"

#include <array>
#include <string>

namespace duplex::http {
namespace {

struct row {
  error e;
  error_info info;
};

// The one table (STYLE.md rule 11). Rows are in enum order; a static_assert below keeps it so.
constexpr std::array rows = {
    row{no_error, {200, "OK", "ok"}},
    row{error::bad_request, {400, "Bad Request", "malformed request"}},
    row{error::bad_method, {400, "Bad Request", "invalid method"}},
    row{error::bad_target, {400, "Bad Request", "invalid request target"}},
    row{error::bad_line_ending, {400, "Bad Request", "bare CR or LF in message head"}},
    row{error::bad_header, {400, "Bad Request", "malformed header field"}},
    row{error::obs_fold, {400, "Bad Request", "obsolete line folding is not accepted"}},
    row{error::bad_content_length, {400, "Bad Request", "invalid Content-Length"}},
    row{error::bad_transfer_encoding, {400, "Bad Request", "invalid Transfer-Encoding"}},
    row{error::conflicting_framing,
        {400, "Bad Request", "both Content-Length and Transfer-Encoding"}},
    row{error::bad_chunk, {400, "Bad Request", "malformed chunked body"}},
    row{error::bad_host, {400, "Bad Request", "missing or repeated Host"}},
    row{error::incomplete_message, {400, "Bad Request", "connection closed mid-message"}},
    row{error::uri_too_long, {414, "URI Too Long", "request line too long"}},
    row{error::headers_too_large,
        {431, "Request Header Fields Too Large", "header section too large"}},
    row{error::too_many_headers, {431, "Request Header Fields Too Large", "too many header fields"}},
    row{error::body_too_large, {413, "Content Too Large", "request body too large"}},
    row{error::bad_version, {505, "HTTP Version Not Supported", "unsupported HTTP version"}},
    row{error::unsupported_transfer_coding,
        {501, "Not Implemented", "unsupported transfer coding"}},
    row{error::forbidden, {403, "Forbidden", "forbidden"}},
    row{error::not_found, {404, "Not Found", "not found"}},
    row{error::method_not_allowed, {405, "Method Not Allowed", "method not allowed"}},
    row{error::request_timeout, {408, "Request Timeout", "request timeout"}},
    row{error::upgrade_required, {426, "Upgrade Required", "upgrade required"}},
    row{error::not_implemented, {501, "Not Implemented", "not implemented"}},
    row{error::internal_error, {500, "Internal Server Error", "internal server error"}},
    row{error::service_unavailable, {503, "Service Unavailable", "service unavailable"}},
    row{error::bad_status, {502, "Bad Gateway", "malformed status line"}},
};

constexpr bool rows_in_order() {
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (static_cast<std::size_t>(rows[i].e) != i) return false;
  }
  return true;
}
static_assert(rows_in_order(), "error table rows must follow the enum order");
static_assert(static_cast<std::size_t>(error::bad_status) + 1 == rows.size(),
              "every http::error needs a row");

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "duplex.http"; }
  std::string message(int ev) const override {
    return std::string(info(static_cast<error>(ev)).detail);
  }
};

}  // namespace

const error_info& info(error e) noexcept {
  const auto i = static_cast<std::size_t>(e);
  if (i >= rows.size()) return rows[static_cast<std::size_t>(error::internal_error)].info;
  return rows[i].info;
}

const std::error_category& http_category() noexcept {
  static const category c;
  return c;
}

}  // namespace duplex::http
