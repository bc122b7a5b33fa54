// Query strings (application/x-www-form-urlencoded): the one decoder every endpoint uses for
// parameters such as `channel`, `token`, `cf_connect` and `lastEventId`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace duplex::http {

// Decodes one name or value: '+' is a space, %XX a byte. False on a broken escape ("%", "%4",
// "%zz") or a decoded NUL (never wanted in a parameter; it would also cut JSON parsers short).
bool form_decode(std::string_view in, std::string& out);

// The decoded value of the first `key` in `query` ("a=1&b=2"; "b" alone is an empty value).
// nullopt when the key is absent or its value does not decode.
std::optional<std::string> query_value(std::string_view query, std::string_view key);

}  // namespace duplex::http
