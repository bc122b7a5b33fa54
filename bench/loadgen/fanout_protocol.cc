#include "fanout_protocol.h"

#include <charconv>

namespace duplex::bench {
namespace {

void append_u64(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// If `s` starts with `prefix`, drops it and returns true.
bool eat(std::string_view& s, std::string_view prefix) noexcept {
  if (!s.starts_with(prefix)) return false;
  s.remove_prefix(prefix.size());
  return true;
}

// Parses a JSON unsigned integer (no sign, no leading zero unless it is 0) at the front of `s`.
bool eat_u64(std::string_view& s, std::uint64_t& v) noexcept {
  if (s.empty() || s[0] < '0' || s[0] > '9') return false;
  if (s[0] == '0' && s.size() > 1 && s[1] >= '0' && s[1] <= '9') return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc{}) return false;
  s.remove_prefix(static_cast<std::size_t>(r.ptr - s.data()));
  return true;
}

}  // namespace

// {"c":<c>,"s":<s>,"t":<t>,"<pad_key>":" (the padding itself is not read).
bool parse_bench_data(std::string_view& s, line_info& li, char pad_key) noexcept {
  std::uint64_t c = 0, seq = 0, sent = 0;
  const char pad[] = {',', '"', pad_key, '"', ':', '"'};
  if (!eat(s, R"({"c":)") || !eat_u64(s, c) || c > UINT32_MAX || !eat(s, R"(,"s":)") ||
      !eat_u64(s, seq) || !eat(s, R"(,"t":)") || !eat_u64(s, sent) ||
      !eat(s, std::string_view(pad, sizeof pad)))
    return false;
  li.channel = static_cast<std::uint32_t>(c);
  li.seq = seq;
  li.sent_ns = sent;
  return true;
}

void append_connect_command(std::string& out) { out += R"({"id":1,"connect":{}})"; }

void append_subscribe_command(std::string& out, std::string_view channel) {
  out += R"({"id":2,"subscribe":{"channel":")";
  out += channel;
  out += R"("}})";
}

void append_publish_command(std::string& out, dialect d, std::uint64_t id,
                            std::string_view channel, std::string_view data) {
  out += R"({"id":)";
  append_u64(out, id);
  out += d == dialect::centrifuge ? R"(,"publish":{"channel":")" : R"(,"channel":")";
  out += channel;
  out += R"(","data":)";
  out += data;
  out += d == dialect::centrifuge ? "}}" : "}";
}

void append_bench_data(std::string& out, std::uint32_t channel, std::uint64_t seq,
                       std::uint64_t sent_ns, std::size_t size, char pad_key) {
  const std::size_t start = out.size();
  out += R"({"c":)";
  append_u64(out, channel);
  out += R"(,"s":)";
  append_u64(out, seq);
  out += R"(,"t":)";
  append_u64(out, sent_ns);
  out += R"(,")";
  out += pad_key;
  out += R"(":")";
  const std::size_t used = out.size() - start + 2;  // the closing "}
  if (used < size) out.append(size - used, 'x');
  out += R"("})";
}

line_info classify_line(std::string_view line) noexcept {
  line_info li;
  if (line == "{}") {
    li.what = line_info::kind::ping;
    return li;
  }
  std::string_view s = line;
  if (eat(s, R"({"id":)")) {
    if (!eat_u64(s, li.id)) return li;
    li.what = s.starts_with(R"(,"error":)") ? line_info::kind::error_reply : line_info::kind::reply;
    return li;
  }
  if (!eat(s, R"({"push":{"channel":")")) return li;
  // The channel name is [A-Za-z0-9...] (no quote, no escape); then the pub's data, which both
  // servers write first and verbatim.
  auto q = s.find('"');
  if (q == std::string_view::npos) return li;
  s.remove_prefix(q + 1);
  if (!eat(s, R"(,"pub":{"data":)") || !parse_bench_data(s, li)) return li;
  li.what = line_info::kind::publication;
  return li;
}

line_info classify_sse_event(std::string_view name, std::string_view data) noexcept {
  line_info li;
  if (name == ":subscribed") {
    li.what = line_info::kind::subscribed;
  } else if (name == ":gap" || name == ":error") {
    li.what = line_info::kind::error_reply;
  } else if (!name.starts_with(':') && parse_bench_data(data, li)) {
    li.what = line_info::kind::publication;
  }
  return li;
}

line_info classify_uni_line(std::string_view line) noexcept {
  line_info li;
  std::string_view s = line;
  if (line == "{}") {
    li.what = line_info::kind::ping;
  } else if (line.starts_with(R"({"connect":{)")) {
    li.what = line_info::kind::subscribed;
  } else if (line.starts_with(R"({"disconnect":)")) {
    li.what = line_info::kind::error_reply;
  } else if (eat(s, R"({"channel":")")) {
    auto q = s.find('"');
    if (q == std::string_view::npos) return li;
    s.remove_prefix(q + 1);
    if (eat(s, R"(,"pub":{"data":)") && parse_bench_data(s, li))
      li.what = line_info::kind::publication;
  }
  return li;
}

void append_sse_request(std::string& out, std::string_view host, std::string_view path,
                        std::string_view channel) {
  out += "GET ";
  out += path;
  out += "?channel=";
  out += channel;
  out += " HTTP/1.1\r\nHost: ";
  out += host;
  out += "\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n";
}

void append_uni_stream_request(std::string& out, std::string_view host, std::string_view path,
                               std::string_view token) {
  const std::size_t body = token.size() + 12;  // {"token":"<token>"}
  out += "POST ";
  out += path;
  out += " HTTP/1.1\r\nHost: ";
  out += host;
  out += "\r\nContent-Type: application/json\r\nContent-Length: ";
  append_u64(out, body);
  out += "\r\n\r\n{\"token\":\"";
  out += token;
  out += "\"}";
}

std::string json_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    if (ch == '"' || ch == '\\') out += '\\';
    if (static_cast<unsigned char>(ch) >= 0x20) out += ch;
  }
  return out;
}

}  // namespace duplex::bench
