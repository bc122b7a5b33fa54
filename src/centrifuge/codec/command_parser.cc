#include "centrifuge/codec/command_parser.h"

#include <simdjson.h>

#include <charconv>
#include <cstring>
#include <limits>

#include "base/assert.h"

namespace duplex::centrifuge {

static_assert(command_parser::padding == simdjson::SIMDJSON_PADDING);

namespace od = simdjson::ondemand;

namespace {

parse_error from_simdjson(simdjson::error_code e) noexcept {
  switch (e) {
    case simdjson::SUCCESS: return parse_error::none;
    case simdjson::INCORRECT_TYPE: return parse_error::wrong_type;
    case simdjson::NUMBER_OUT_OF_RANGE: return parse_error::number_out_of_range;
    case simdjson::DEPTH_ERROR: return parse_error::too_deep;
    case simdjson::CAPACITY: return parse_error::command_too_large;
    default: return parse_error::malformed_json;
  }
}

bool is_ws(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// State shared by the field readers of one line.
struct line_ctx {
  od::document* doc;
  std::string* arena;  // unescaped strings; reserved to the frame size, so it never moves
  const parse_limits* limits;
};

// Reads a JSON string. An escape-free string (the common case) is a view into the input; a
// string with escapes is unescaped by simdjson and copied into the arena, since simdjson's own
// string buffer is reused by the next line.
parse_error read_string(line_ctx& c, od::value v, std::string_view& out) {
  std::string_view tok = v.raw_json_token();
  while (!tok.empty() && is_ws(tok.back())) tok.remove_suffix(1);
  if (tok.size() >= 2 && tok.front() == '"' && tok.back() == '"' &&
      std::memchr(tok.data() + 1, '\\', tok.size() - 2) == nullptr) {
    od::raw_json_string raw;
    if (auto e = v.get_raw_json_string().get(raw)) return from_simdjson(e);
    out = tok.substr(1, tok.size() - 2);
    return parse_error::none;
  }
  std::string_view s;
  if (auto e = v.get_string().get(s)) return from_simdjson(e);
  DUPLEX_ASSERT(c.arena->size() + s.size() <= c.arena->capacity());
  const std::size_t at = c.arena->size();
  c.arena->append(s);
  out = std::string_view(c.arena->data() + at, s.size());
  return parse_error::none;
}

parse_error read_bool(od::value v, bool& out) { return from_simdjson(v.get_bool().get(out)); }

parse_error read_u32(od::value v, std::uint32_t& out) {
  std::uint64_t n = 0;
  if (auto e = v.get_uint64().get(n)) return from_simdjson(e);
  if (n > std::numeric_limits<std::uint32_t>::max()) return parse_error::number_out_of_range;
  out = static_cast<std::uint32_t>(n);
  return parse_error::none;
}

parse_error read_i32(od::value v, std::int32_t& out) {
  std::int64_t n = 0;
  if (auto e = v.get_int64().get(n)) return from_simdjson(e);
  if (n < std::numeric_limits<std::int32_t>::min() || n > std::numeric_limits<std::int32_t>::max())
    return parse_error::number_out_of_range;
  out = static_cast<std::int32_t>(n);
  return parse_error::none;
}

// uint64 as a JSON number, or as a string of decimal digits (the proto3 JSON mapping of
// uint64 allows both; centrifuge-js sends numbers).
parse_error read_u64(line_ctx& c, od::value v, std::uint64_t& out) {
  od::json_type t;
  if (auto e = v.type().get(t)) return from_simdjson(e);
  if (t != od::json_type::string) return from_simdjson(v.get_uint64().get(out));
  std::string_view s;
  if (auto e = read_string(c, v, s); e != parse_error::none) return e;
  if (s.empty()) return parse_error::wrong_type;
  for (char ch : s)
    if (ch < '0' || ch > '9') return parse_error::wrong_type;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc() || p != s.data() + s.size()) return parse_error::number_out_of_range;
  return parse_error::none;
}

// Fully validates any JSON value (simdjson On Demand checks only what is read).
parse_error validate(od::value v, std::size_t depth, std::size_t max_depth) {
  if (depth > max_depth) return parse_error::too_deep;
  od::json_type t;
  if (auto e = v.type().get(t)) return from_simdjson(e);
  switch (t) {
    case od::json_type::object: {
      od::object o;
      if (auto e = v.get_object().get(o)) return from_simdjson(e);
      for (auto f : o) {
        od::field fld;
        if (std::move(f).get(fld)) return parse_error::malformed_json;
        std::string_view k;
        if (fld.unescaped_key().get(k)) return parse_error::malformed_json;
        if (auto e = validate(fld.value(), depth + 1, max_depth); e != parse_error::none) return e;
      }
      return parse_error::none;
    }
    case od::json_type::array: {
      od::array a;
      if (auto e = v.get_array().get(a)) return from_simdjson(e);
      for (auto el : a) {
        od::value x;
        if (std::move(el).get(x)) return parse_error::malformed_json;
        if (auto e = validate(x, depth + 1, max_depth); e != parse_error::none) return e;
      }
      return parse_error::none;
    }
    case od::json_type::string: {
      std::string_view s;
      return v.get_string().get(s) ? parse_error::malformed_json : parse_error::none;
    }
    case od::json_type::number: {
      // get_double() checks the number's syntax and consumes it (get_number() in simdjson
      // 3.0.1 does not advance, which would break read_raw's end position).
      double n;
      return v.get_double().get(n) ? parse_error::malformed_json : parse_error::none;
    }
    case od::json_type::boolean: {
      bool b;
      return v.get_bool().get(b) ? parse_error::malformed_json : parse_error::none;
    }
    case od::json_type::null: {
      bool n = false;
      if (v.is_null().get(n) || !n) return parse_error::malformed_json;
      return parse_error::none;
    }
  }
  return parse_error::malformed_json;
}

// A `data` field: any JSON value, validated, kept as its raw text so that it is embedded in
// replies and pushes as-is. The text runs from the value's first token to the next token
// after it (a ',' or '}' of the enclosing object), trailing whitespace trimmed.
parse_error read_raw(line_ctx& c, od::value v, std::size_t depth, std::string_view& out) {
  const std::string_view first = v.raw_json_token();
  if (auto e = validate(v, depth, c.limits->max_depth); e != parse_error::none) return e;
  const char* end = nullptr;
  if (c.doc->current_location().get(end)) return parse_error::malformed_json;
  const char* begin = first.data();
  if (end <= begin) return parse_error::malformed_json;
  while (end > begin && is_ws(end[-1])) --end;
  out = std::string_view(begin, static_cast<std::size_t>(end - begin));
  return parse_error::none;
}

bool is_null(od::value& v) {
  od::json_type t;
  if (v.type().get(t) || t != od::json_type::null) return false;
  bool n = false;
  return !v.is_null().get(n) && n;
}

// Calls fn(key, value) for each field of the object `v`; fn must consume the value.
template <class Fn>
parse_error each_field(od::value v, Fn&& fn) {
  od::object o;
  if (auto e = v.get_object().get(o)) return from_simdjson(e);
  for (auto f : o) {
    od::field fld;
    if (std::move(f).get(fld)) return parse_error::malformed_json;
    std::string_view k;
    if (fld.unescaped_key().get(k)) return parse_error::malformed_json;
    if (auto e = fn(k, fld.value()); e != parse_error::none) return e;
  }
  return parse_error::none;
}

// Fields of SubscribeRequest (depth: nesting of the request object).
parse_error subscribe_field(line_ctx& c, std::size_t depth, subscribe_request& r,
                            std::string_view k, od::value v) {
  if (is_null(v)) return parse_error::none;
  if (k == "channel") return read_string(c, v, r.channel);
  if (k == "token") return read_string(c, v, r.token);
  if (k == "recover") return read_bool(v, r.recover);
  if (k == "epoch") return read_string(c, v, r.epoch);
  if (k == "offset") return read_u64(c, v, r.offset);
  if (k == "data") return read_raw(c, v, depth + 1, r.data);
  if (k == "positioned") return read_bool(v, r.positioned);
  if (k == "recoverable") return read_bool(v, r.recoverable);
  if (k == "join_leave") return read_bool(v, r.join_leave);
  if (k == "delta") return read_string(c, v, r.delta);
  if (k == "flag") return read_u64(c, v, r.flag);
  return validate(v, depth + 1, c.limits->max_depth);
}

// Reads the request object `v` named `name` into cmd.body. Depth 2: line object, request.
parse_error read_request(line_ctx& c, std::string_view name, od::value v, command& cmd) {
  constexpr std::size_t d = 2;
  const std::size_t max_depth = c.limits->max_depth;
  auto other = [&](od::value x) { return validate(x, d + 1, max_depth); };
  if (name == "subscribe") {
    auto& r = cmd.body.emplace<subscribe_request>();
    return each_field(v, [&](std::string_view k, od::value x) { return subscribe_field(c, d, r, k, x); });
  }
  if (name == "publish") {
    auto& r = cmd.body.emplace<publish_request>();
    return each_field(v, [&](std::string_view k, od::value x) -> parse_error {
      if (is_null(x)) return parse_error::none;
      if (k == "channel") return read_string(c, x, r.channel);
      if (k == "data") return read_raw(c, x, d + 1, r.data);
      return other(x);
    });
  }
  if (name == "unsubscribe" || name == "presence" || name == "presence_stats") {
    std::string_view channel;
    auto e = each_field(v, [&](std::string_view k, od::value x) -> parse_error {
      if (is_null(x)) return parse_error::none;
      if (k == "channel") return read_string(c, x, channel);
      return other(x);
    });
    if (name == "unsubscribe") cmd.body.emplace<unsubscribe_request>().channel = channel;
    else if (name == "presence") cmd.body.emplace<presence_request>().channel = channel;
    else cmd.body.emplace<presence_stats_request>().channel = channel;
    return e;
  }
  if (name == "history") {
    auto& r = cmd.body.emplace<history_request>();
    return each_field(v, [&](std::string_view k, od::value x) -> parse_error {
      if (is_null(x)) return parse_error::none;
      if (k == "channel") return read_string(c, x, r.channel);
      if (k == "limit") return read_i32(x, r.limit);
      if (k == "reverse") return read_bool(x, r.reverse);
      if (k == "since") {
        r.has_since = true;
        return each_field(x, [&](std::string_view sk, od::value sx) -> parse_error {
          if (is_null(sx)) return parse_error::none;
          if (sk == "offset") return read_u64(c, sx, r.since.offset);
          if (sk == "epoch") return read_string(c, sx, r.since.epoch);
          return validate(sx, d + 2, max_depth);
        });
      }
      return other(x);
    });
  }
  if (name == "connect") {
    auto& r = cmd.body.emplace<connect_request>();
    return each_field(v, [&](std::string_view k, od::value x) -> parse_error {
      if (is_null(x)) return parse_error::none;
      if (k == "token") return read_string(c, x, r.token);
      if (k == "data") return read_raw(c, x, d + 1, r.data);
      if (k == "name") return read_string(c, x, r.name);
      if (k == "version") return read_string(c, x, r.version);
      if (k != "subs") return other(x);
      od::object subs;
      if (auto e = x.get_object().get(subs)) return from_simdjson(e);
      for (auto f : subs) {
        od::field fld;
        if (std::move(f).get(fld)) return parse_error::malformed_json;
        if (r.subs.size() >= c.limits->max_connect_subs) return parse_error::too_many_subs;
        subscribe_request& s = r.subs.emplace_back();
        // The key is the channel; keys rarely hold escapes, but unescape them like values.
        std::string_view key;
        if (fld.unescaped_key().get(key)) return parse_error::malformed_json;
        DUPLEX_ASSERT(c.arena->size() + key.size() <= c.arena->capacity());
        const std::size_t at = c.arena->size();
        c.arena->append(key);
        s.channel = std::string_view(c.arena->data() + at, key.size());
        od::value sv = fld.value();
        if (is_null(sv)) continue;
        if (auto e = each_field(sv, [&](std::string_view sk, od::value sx) {
              std::string_view keep = s.channel;
              parse_error pe = subscribe_field(c, d + 2, s, sk, sx);
              s.channel = keep;  // the map key names the channel
              return pe;
            });
            e != parse_error::none)
          return e;
      }
      return parse_error::none;
    });
  }
  if (name == "ping") {
    cmd.body.emplace<ping_request>();
    return each_field(v, [&](std::string_view, od::value x) { return other(x); });
  }
  if (name == "send") {
    auto& r = cmd.body.emplace<send_request>();
    return each_field(v, [&](std::string_view k, od::value x) -> parse_error {
      if (is_null(x)) return parse_error::none;
      if (k == "data") return read_raw(c, x, d + 1, r.data);
      return other(x);
    });
  }
  if (name == "rpc") {
    auto& r = cmd.body.emplace<rpc_request>();
    return each_field(v, [&](std::string_view k, od::value x) -> parse_error {
      if (is_null(x)) return parse_error::none;
      if (k == "method") return read_string(c, x, r.method);
      if (k == "data") return read_raw(c, x, d + 1, r.data);
      return other(x);
    });
  }
  if (name == "refresh") {
    auto& r = cmd.body.emplace<refresh_request>();
    return each_field(v, [&](std::string_view k, od::value x) -> parse_error {
      if (is_null(x)) return parse_error::none;
      if (k == "token") return read_string(c, x, r.token);
      return other(x);
    });
  }
  DUPLEX_ASSERT(name == "sub_refresh");
  auto& r = cmd.body.emplace<sub_refresh_request>();
  return each_field(v, [&](std::string_view k, od::value x) -> parse_error {
    if (is_null(x)) return parse_error::none;
    if (k == "channel") return read_string(c, x, r.channel);
    if (k == "token") return read_string(c, x, r.token);
    return other(x);
  });
}

bool is_request_name(std::string_view k) noexcept {
  static constexpr std::string_view names[] = {
      "connect", "subscribe", "unsubscribe", "publish", "presence", "presence_stats",
      "history", "ping",      "send",        "rpc",     "refresh",  "sub_refresh"};
  for (auto n : names)
    if (n == k) return true;
  return false;
}

// Required fields (client.proto comments and Centrifugo's handlers): a command lacking one is
// answered with error 107 instead of being run.
struct missing_field_visitor {
  const char* operator()(const subscribe_request& r) const { return r.channel.empty() ? "channel required" : nullptr; }
  const char* operator()(const unsubscribe_request& r) const { return r.channel.empty() ? "channel required" : nullptr; }
  const char* operator()(const publish_request& r) const {
    if (r.channel.empty()) return "channel required";
    return r.data.empty() ? "data required" : nullptr;
  }
  const char* operator()(const presence_request& r) const { return r.channel.empty() ? "channel required" : nullptr; }
  const char* operator()(const presence_stats_request& r) const { return r.channel.empty() ? "channel required" : nullptr; }
  const char* operator()(const history_request& r) const { return r.channel.empty() ? "channel required" : nullptr; }
  const char* operator()(const refresh_request& r) const { return r.token.empty() ? "token required" : nullptr; }
  const char* operator()(const sub_refresh_request& r) const {
    if (r.channel.empty()) return "channel required";
    return r.token.empty() ? "token required" : nullptr;
  }
  const char* operator()(const connect_request& r) const {
    for (const auto& s : r.subs)
      if (s.channel.empty()) return "channel required";
    return nullptr;
  }
  template <class Other>
  const char* operator()(const Other&) const { return nullptr; }
};

const char* missing_field(const request& body) noexcept { return std::visit(missing_field_visitor{}, body); }

}  // namespace

struct command_parser::impl {
  parse_limits limits;
  od::parser json;
  std::unique_ptr<char[]> scratch;
  std::size_t scratch_size = 0;
  std::string arena;

  parse_error parse_line(const char* p, std::size_t len, std::size_t allocated, command& cmd) {
    od::document doc;
    if (auto e = json.iterate(p, len, allocated).get(doc)) return from_simdjson(e);
    line_ctx c{&doc, &arena, &limits};
    od::object obj;
    {
      od::json_type t;
      if (auto e = doc.type().get(t)) return from_simdjson(e);
      if (t != od::json_type::object) return parse_error::not_an_object;
      if (auto e = doc.get_object().get(obj)) return from_simdjson(e);
    }
    bool have_request = false;
    bool have_other = false;
    for (auto f : obj) {
      od::field fld;
      if (std::move(f).get(fld)) return parse_error::malformed_json;
      std::string_view k;
      if (fld.unescaped_key().get(k)) return parse_error::malformed_json;
      od::value v = fld.value();
      if (k == "id") {
        if (is_null(v)) continue;
        if (auto e = read_u32(v, cmd.id); e != parse_error::none) return e;
      } else if (is_request_name(k)) {
        if (is_null(v)) continue;
        if (have_request) return parse_error::multiple_requests;
        have_request = true;
        if (auto e = read_request(c, k, v, cmd); e != parse_error::none) return e;
      } else {
        have_other = true;
        if (auto e = validate(v, 2, limits.max_depth); e != parse_error::none) return e;
      }
    }
    // Anything after the object (`{} {}` on one line) is an error: current_location() fails
    // with OUT_OF_BOUNDS exactly when the document was consumed to its end.
    {
      const char* rest = nullptr;
      if (!doc.current_location().get(rest)) return parse_error::malformed_json;
    }
    if (!have_request) {
      if (cmd.id != 0 || have_other) return parse_error::unknown_command;
      cmd.body.emplace<pong>();
      cmd.requested = method::pong;
      return parse_error::none;
    }
    cmd.requested = cmd.type();
    if (cmd.id == 0 && cmd.requested != method::send) return parse_error::missing_id;
    if (const char* why = missing_field(cmd.body)) {
      if (cmd.id == 0) return parse_error::missing_id;  // a send has no required field
      cmd.body.emplace<invalid_request>(invalid_request{error_code::bad_request, why});
    }
    return parse_error::none;
  }

  parse_result run(const char* base, std::size_t size, std::vector<command>& out) {
    parse_result res;
    std::size_t pos = 0;
    std::size_t lines = 0;
    while (pos < size) {
      const char* nl = static_cast<const char*>(std::memchr(base + pos, '\n', size - pos));
      const std::size_t end = nl ? static_cast<std::size_t>(nl - base) : size;
      std::size_t first = pos;
      while (first < end && is_ws(base[first])) ++first;
      if (first == end) {  // blank line
        pos = end + 1;
        continue;
      }
      const std::size_t len = end - pos;
      if (++lines > limits.max_commands) {
        res.error = parse_error::too_many_commands;
        res.error_offset = pos;
        return res;
      }
      if (len > limits.max_command_bytes) {
        res.error = parse_error::command_too_large;
        res.error_offset = pos;
        return res;
      }
      command& cmd = out.emplace_back();
      const parse_error e = parse_line(base + pos, len, size + simdjson::SIMDJSON_PADDING - pos, cmd);
      if (e != parse_error::none) {
        res.error = e;
        res.error_offset = pos;
        res.error_id = cmd.id;
        out.pop_back();
        return res;
      }
      ++res.commands;
      pos = end + 1;
    }
    if (lines == 0) res.error = parse_error::empty_frame;
    return res;
  }

  parse_result start(std::string_view frame, std::vector<command>& out, bool padded) {
    out.clear();
    arena.clear();
    if (frame.size() > limits.max_frame_bytes) return parse_result{parse_error::frame_too_large};
    // Unescaping never lengthens a string, so the arena holds every string of the frame.
    arena.reserve(frame.size());
    if (padded) return run(frame.data(), frame.size(), out);
    if (!scratch || scratch_size < frame.size()) {
      scratch = std::make_unique<char[]>(frame.size() + simdjson::SIMDJSON_PADDING);
      scratch_size = frame.size();
    }
    if (!frame.empty()) std::memcpy(scratch.get(), frame.data(), frame.size());
    std::memset(scratch.get() + frame.size(), 0, simdjson::SIMDJSON_PADDING);
    return run(scratch.get(), frame.size(), out);
  }
};

command_parser::command_parser(parse_limits limits) : impl_(std::make_unique<impl>()) {
  impl_->limits = limits;
}
command_parser::~command_parser() = default;
command_parser::command_parser(command_parser&&) noexcept = default;
command_parser& command_parser::operator=(command_parser&&) noexcept = default;

parse_result command_parser::parse(std::string_view frame, std::vector<command>& out) {
  return impl_->start(frame, out, false);
}
parse_result command_parser::parse_padded(std::string_view frame, std::vector<command>& out) {
  return impl_->start(frame, out, true);
}
const parse_limits& command_parser::limits() const noexcept { return impl_->limits; }
void command_parser::set_limits(const parse_limits& limits) noexcept { impl_->limits = limits; }

parse_result parse_commands(std::string_view frame, const parse_limits& limits,
                            std::vector<command>& out) {
  thread_local command_parser parser;
  parser.set_limits(limits);
  return parser.parse(frame, out);
}

std::string_view to_string(parse_error e) noexcept {
  switch (e) {
    case parse_error::none: return "none";
    case parse_error::empty_frame: return "empty frame";
    case parse_error::frame_too_large: return "frame too large";
    case parse_error::command_too_large: return "command too large";
    case parse_error::too_many_commands: return "too many commands in frame";
    case parse_error::too_many_subs: return "too many subs in connect";
    case parse_error::too_deep: return "JSON nested too deep";
    case parse_error::malformed_json: return "malformed JSON";
    case parse_error::not_an_object: return "command is not a JSON object";
    case parse_error::wrong_type: return "field has the wrong type";
    case parse_error::number_out_of_range: return "number out of range";
    case parse_error::missing_id: return "command without id";
    case parse_error::unknown_command: return "unknown command";
    case parse_error::multiple_requests: return "more than one request in a command";
  }
  return "unknown parse error";
}

disconnect reaction(parse_error) noexcept { return disconnects::bad_request; }

std::string_view to_string(method m) noexcept {
  switch (m) {
    case method::connect: return "connect";
    case method::subscribe: return "subscribe";
    case method::unsubscribe: return "unsubscribe";
    case method::publish: return "publish";
    case method::presence: return "presence";
    case method::presence_stats: return "presence_stats";
    case method::history: return "history";
    case method::ping: return "ping";
    case method::send: return "send";
    case method::rpc: return "rpc";
    case method::refresh: return "refresh";
    case method::sub_refresh: return "sub_refresh";
    case method::pong: return "pong";
    case method::invalid: return "invalid";
  }
  return "unknown";
}

}  // namespace duplex::centrifuge
