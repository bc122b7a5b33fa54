#include "http/method.h"

namespace duplex::http {

method method_from_string(std::string_view n) noexcept {
  switch (n.size()) {
    case 3:
      if (n == "GET") return method::get;
      if (n == "PUT") return method::put;
      break;
    case 4:
      if (n == "HEAD") return method::head;
      if (n == "POST") return method::post;
      break;
    case 5:
      if (n == "PATCH") return method::patch;
      if (n == "TRACE") return method::trace;
      break;
    case 6:
      if (n == "DELETE") return method::del;
      break;
    case 7:
      if (n == "OPTIONS") return method::options;
      if (n == "CONNECT") return method::connect;
      break;
    default:
      break;
  }
  return method::other;
}

std::string_view to_string(method m) noexcept {
  switch (m) {
    case method::get: return "GET";
    case method::head: return "HEAD";
    case method::post: return "POST";
    case method::put: return "PUT";
    case method::del: return "DELETE";
    case method::options: return "OPTIONS";
    case method::patch: return "PATCH";
    case method::connect: return "CONNECT";
    case method::trace: return "TRACE";
    case method::other: break;
  }
  return {};
}

}  // namespace duplex::http
