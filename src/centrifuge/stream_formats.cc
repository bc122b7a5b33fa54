#include "centrifuge/stream_formats.h"

#include <vector>

#include "centrifuge/codec/push_encoder.h"
#include "centrifuge/node.h"
#include "sse/event_stream.h"
#include "ws/frame.h"
#include "ws/protocol.h"

namespace duplex::centrifuge {

namespace {

constexpr std::string_view push_prefix = "{\"push\":";

// Appends `json` with CR and LF replaced by spaces (see the header: one message, one line).
void append_one_line(std::string& out, std::string_view json) {
  const std::size_t at = out.size();
  out += json;
  for (std::size_t i = at; i < out.size(); ++i) {
    if (out[i] == '\r' || out[i] == '\n') out[i] = ' ';
  }
}

// Calls fn(line) for each non-empty '\n'-separated line of `lines`.
template <class Fn>
void for_each_line(std::string_view lines, Fn&& fn) {
  std::size_t start = 0;
  while (start < lines.size()) {
    std::size_t end = lines.find('\n', start);
    if (end == std::string_view::npos) end = lines.size();
    if (end > start) fn(lines.substr(start, end - start));
    start = end + 1;
  }
}

enum class uni : bool { no, yes };

// One push framed for `f`, in the bidirectional or unidirectional form.
shared_payload frame_push(stream_framing f, uni u, hub::push_kind kind, const hub::publication& p) {
  const shared_payload push = encode_push_json(kind, p);
  std::string_view json = push.view();
  if (u == uni::yes) json = unwrap_push(json);
  std::string line;
  line.reserve(json.size() + 1);
  append_one_line(line, json);
  if (f == stream_framing::websocket) {
    return ws::protocol::make_frame(
        ws::opcode::text, std::as_bytes(std::span<const char>(line.data(), line.size())));
  }
  std::string out;
  out.reserve(line.size() + 16);
  append_framed(out, f, line);
  return shared_payload::copy_of(out);
}

}  // namespace

std::string_view unwrap_push(std::string_view json) noexcept {
  if (json.size() > push_prefix.size() + 1 && json.starts_with(push_prefix) && json.back() == '}') {
    return json.substr(push_prefix.size(), json.size() - push_prefix.size() - 1);
  }
  return json;
}

void append_framed(std::string& out, stream_framing f, std::string_view lines) {
  switch (f) {
    case stream_framing::http_stream: {
      std::string body;
      body.reserve(lines.size() + 1);
      for_each_line(lines, [&](std::string_view line) {
        append_one_line(body, line);
        body += '\n';
      });
      sse::append_chunk(out, body);
      return;
    }
    case stream_framing::sse: {
      std::string data;
      data.reserve(lines.size());
      for_each_line(lines, [&](std::string_view line) {
        if (!data.empty()) data += '\n';
        append_one_line(data, line);
      });
      if (!data.empty()) sse::append_event(out, data);
      return;
    }
    case stream_framing::websocket:
      break;
  }
  out += lines;  // websocket: the caller frames
}

shared_payload encode_push_json(hub::push_kind kind, const hub::publication& p) {
  client_info who;
  if (p.info) {
    who = {p.info->user_id, p.info->client_id, p.info->conn_info.view(), p.info->chan_info.view()};
  }
  if (kind == hub::push_kind::publication) {
    std::vector<tag> tags;
    tags.reserve(p.tags.size());
    for (const auto& [k, v] : p.tags) tags.push_back({k, v});
    publication pub;
    pub.data = p.data.view();
    pub.offset = p.offset;
    pub.info = p.info ? &who : nullptr;
    pub.tags = tags;
    return make_publication_push(p.channel, pub);
  }
  std::string json;
  if (kind == hub::push_kind::join) encode_join_push(json, p.channel, who);
  else encode_leave_push(json, p.channel, who);
  return shared_payload::copy_of(json);
}

void register_stream_formats(hub::format_registry& registry, formats& f) {
  f.http_stream_json = registry.add(
      "centrifuge-json/http_stream", [](hub::push_kind k, const hub::publication& p) {
        return frame_push(stream_framing::http_stream, uni::no, k, p);
      });
  f.sse_json = registry.add("centrifuge-json/sse", [](hub::push_kind k, const hub::publication& p) {
    return frame_push(stream_framing::sse, uni::no, k, p);
  });
  f.uni_websocket_json = registry.add(
      "centrifuge-json/uni_websocket", [](hub::push_kind k, const hub::publication& p) {
        return frame_push(stream_framing::websocket, uni::yes, k, p);
      });
  f.uni_sse_json = registry.add(
      "centrifuge-json/uni_sse", [](hub::push_kind k, const hub::publication& p) {
        return frame_push(stream_framing::sse, uni::yes, k, p);
      });
  f.uni_http_stream_json = registry.add(
      "centrifuge-json/uni_http_stream", [](hub::push_kind k, const hub::publication& p) {
        return frame_push(stream_framing::http_stream, uni::yes, k, p);
      });
}

}  // namespace duplex::centrifuge
