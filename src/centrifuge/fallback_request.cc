#include "centrifuge/fallback_request.h"

#include <nlohmann/json.hpp>

#include "centrifuge/stream_formats.h"
#include "http/query.h"

namespace duplex::centrifuge {

namespace {

bool is_blank(std::string_view s) noexcept {
  return s.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

template <class Fn>
void for_each_line(std::string_view lines, Fn&& fn) {
  std::size_t start = 0;
  while (start < lines.size()) {
    std::size_t end = lines.find('\n', start);
    if (end == std::string_view::npos) end = lines.size();
    fn(lines.substr(start, end - start));
    start = end + 1;
  }
}

// nlohmann's lexer takes a NUL byte for the end of input: "{}\0anything" would parse as {}.
// Untrusted text with a NUL is never JSON here.
bool has_nul(std::string_view text) { return text.find('\0') != std::string_view::npos; }

bool is_json_object(std::string_view text) {
  if (has_nul(text)) return false;
  nlohmann::json v = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return v.is_object();
}

}  // namespace

std::optional<std::string> query_param(std::string_view query, std::string_view key) {
  return http::query_value(query, key);
}

bool is_command_frame(std::string_view frame) {
  bool any = false;
  bool ok = true;
  for_each_line(frame, [&](std::string_view line) {
    if (!ok || is_blank(line)) return;
    any = true;
    ok = is_json_object(line);
  });
  return ok && any;
}

std::optional<std::string> uni_connect_frame(std::string_view request) {
  if (is_blank(request)) return std::string(R"({"id":1,"connect":{}})");
  if (!is_json_object(request)) return std::nullopt;
  std::string frame = R"({"id":1,"connect":)";
  frame += request;
  frame += '}';
  // One command per line: line breaks inside the object are whitespace (see stream_formats.h).
  for (char& c : frame) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  return frame;
}

std::optional<emulation_request> parse_emulation_request(std::string_view body, std::string& why) {
  if (has_nul(body)) {
    why = "body contains a NUL byte";
    return std::nullopt;
  }
  nlohmann::json v = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!v.is_object()) {
    why = "body is not a JSON object";
    return std::nullopt;
  }
  emulation_request r;
  auto str = [&](const char* name, std::string& out, bool required) {
    auto it = v.find(name);
    if (it == v.end() || it->is_null()) {
      if (required) why = std::string(name) + " is required";
      return !required;
    }
    if (!it->is_string()) {
      why = std::string(name) + " must be a string";
      return false;
    }
    out = it->get<std::string>();
    return true;
  };
  if (!str("session", r.session, true) || !str("node", r.node, false) ||
      !str("data", r.data, true)) {
    return std::nullopt;
  }
  if (r.session.empty()) {
    why = "session is empty";
    return std::nullopt;
  }
  return r;
}

disconnect disconnect_for_connect_error(std::uint32_t code) noexcept {
  switch (static_cast<error_code>(code)) {
    case error_code::token_expired:
    case error_code::expired: return disconnects::expired;
    case error_code::unauthorized: return disconnects::invalid_token;
    case error_code::permission_denied: return disconnects::permission_denied;
    case error_code::limit_exceeded: return disconnects::connection_limit;
    case error_code::too_many_requests: return disconnects::too_many_requests;
    case error_code::internal: return disconnects::server_error;
    default: break;
  }
  return disconnects::bad_request;
}

uni_output to_unidirectional(std::string_view lines) {
  uni_output out;
  constexpr std::string_view id_prefix = "{\"id\":";
  for_each_line(lines, [&](std::string_view line) {
    if (line.empty() || out.refused) return;
    std::string_view text;
    if (line.starts_with(id_prefix)) {
      std::size_t i = id_prefix.size();
      while (i < line.size() && line[i] >= '0' && line[i] <= '9') ++i;
      const std::string_view rest = line.substr(i);
      if (rest.starts_with(",\"connect\":")) {
        if (!out.lines.empty()) out.lines += '\n';
        out.lines += '{';
        out.lines += rest.substr(1);
        return;
      }
      if (rest.starts_with(",\"error\":")) {
        nlohmann::json v = nlohmann::json::parse(line, nullptr, false);
        std::uint32_t code = 0;
        if (v.is_object() && v.contains("error") && v["error"].is_object() &&
            v["error"].contains("code") && v["error"]["code"].is_number_unsigned()) {
          code = v["error"]["code"].get<std::uint32_t>();
        }
        out.refused = disconnect_for_connect_error(code);
      }
      return;  // other replies: a uni client sent no other command
    }
    text = unwrap_push(line);
    if (!out.lines.empty()) out.lines += '\n';
    out.lines += text;
  });
  return out;
}

}  // namespace duplex::centrifuge
