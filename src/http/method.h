// Method names <-> http::method (RFC 9110 §9). Method names are case-sensitive (§9.1).
#pragma once

#include <string_view>

#include "http/message.h"

namespace duplex::http {

// method::other for any name that is not one of the enum's standard methods.
method method_from_string(std::string_view name) noexcept;
// "GET", "HEAD", ...; "" for method::other.
std::string_view to_string(method m) noexcept;

}  // namespace duplex::http
