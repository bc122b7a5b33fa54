#include "redis/envelope.h"

#include <charconv>
#include <cstdint>

#include "hub/channel_name.h"

namespace duplex::redis {
namespace {

constexpr std::size_t max_decimal_digits = 19;  // 10^19 - 1 > INT64_MAX: checked below

void put_str(std::string& out, std::string_view s) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, s.size());
  out.append(digits, end);
  out.push_back(':');
  out.append(s);
}

void put_num(std::string& out, std::uint64_t n) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  put_str(out, std::string_view(digits, static_cast<std::size_t>(end - digits)));
}

void put_client(std::string& out, const hub::client_info& c) {
  put_str(out, c.client_id);
  put_str(out, c.user_id);
  put_str(out, c.conn_info.view());
  put_str(out, c.chan_info.view());
}

// Cursor over untrusted bytes; every read checks what is left.
class reader {
 public:
  explicit reader(std::string_view in) : in_(in) {}

  bool done() const noexcept { return pos_ == in_.size(); }
  std::size_t left() const noexcept { return in_.size() - pos_; }

  envelope_error byte(char& c) {
    if (done()) return envelope_error::truncated;
    c = in_[pos_++];
    return envelope_error::ok;
  }

  // `digits` as a canonical decimal no larger than INT64_MAX.
  envelope_error decimal(std::string_view digits, std::uint64_t& v) const {
    if (digits.empty() || digits.size() > max_decimal_digits) return envelope_error::bad_number;
    if (digits.size() > 1 && digits[0] == '0') return envelope_error::bad_number;
    std::uint64_t n = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return envelope_error::bad_number;
      n = n * 10 + static_cast<std::uint64_t>(c - '0');  // 19 digits cannot overflow uint64
    }
    if (n > static_cast<std::uint64_t>(INT64_MAX)) return envelope_error::bad_number;
    v = n;
    return envelope_error::ok;
  }

  envelope_error str(std::string_view& s) {
    // Look for the ':' only as far as a length can reach, so garbage is never scanned whole.
    std::size_t colon = pos_;
    while (colon < in_.size() && colon - pos_ <= max_decimal_digits && in_[colon] >= '0' &&
           in_[colon] <= '9') {
      ++colon;
    }
    if (colon == in_.size()) return envelope_error::truncated;
    if (in_[colon] != ':') return envelope_error::bad_number;
    std::uint64_t len = 0;
    if (auto e = decimal(in_.substr(pos_, colon - pos_), len); e != envelope_error::ok) return e;
    pos_ = colon + 1;
    if (len > left()) return envelope_error::truncated;
    s = in_.substr(pos_, static_cast<std::size_t>(len));
    pos_ += static_cast<std::size_t>(len);
    return envelope_error::ok;
  }

  envelope_error num(std::uint64_t& v) {
    std::string_view digits;
    if (auto e = str(digits); e != envelope_error::ok) return e;
    return decimal(digits, v);
  }

  envelope_error string(std::string& out) {
    std::string_view s;
    if (auto e = str(s); e != envelope_error::ok) return e;
    out.assign(s);
    return envelope_error::ok;
  }

  envelope_error payload(shared_payload& out) {
    std::string_view s;
    if (auto e = str(s); e != envelope_error::ok) return e;
    out = s.empty() ? shared_payload() : shared_payload::copy_of(s);
    return envelope_error::ok;
  }

  envelope_error client(hub::client_info& c) {
    if (auto e = string(c.client_id); e != envelope_error::ok) return e;
    if (auto e = string(c.user_id); e != envelope_error::ok) return e;
    if (auto e = payload(c.conn_info); e != envelope_error::ok) return e;
    return payload(c.chan_info);
  }

  envelope_error channel(std::string& out) {
    std::string_view s;
    if (auto e = str(s); e != envelope_error::ok) return e;
    if (hub::parse_channel(s).err != hub::channel_error::ok) return envelope_error::bad_channel;
    out.assign(s);
    return envelope_error::ok;
  }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
};

envelope_error decode_publication(reader& r, hub::publication& pub) {
  if (auto e = r.num(pub.offset); e != envelope_error::ok) return e;
  if (auto e = r.string(pub.epoch); e != envelope_error::ok) return e;
  if (auto e = r.channel(pub.channel); e != envelope_error::ok) return e;
  if (auto e = r.payload(pub.data); e != envelope_error::ok) return e;
  char marker = 0;
  if (auto e = r.byte(marker); e != envelope_error::ok) return e;
  if (marker == '+') {
    pub.info.emplace();
    if (auto e = r.client(*pub.info); e != envelope_error::ok) return e;
  } else if (marker == '-') {
    pub.info.reset();
  } else {
    return envelope_error::bad_marker;
  }
  std::uint64_t count = 0;
  if (auto e = r.num(count); e != envelope_error::ok) return e;
  // Each tag needs at least "0:0:" (4 bytes): refuse counts the input cannot hold before
  // reserving anything (STYLE.md rule 13).
  if (count > r.left() / 4) return envelope_error::too_many_tags;
  pub.tags.clear();
  pub.tags.reserve(static_cast<std::size_t>(count));
  for (std::uint64_t i = 0; i < count; ++i) {
    auto& [k, v] = pub.tags.emplace_back();
    if (auto e = r.string(k); e != envelope_error::ok) return e;
    if (auto e = r.string(v); e != envelope_error::ok) return e;
  }
  pub.published_us = 0;
  return envelope_error::ok;
}

}  // namespace

std::string_view to_string(envelope_error e) noexcept {
  switch (e) {
    case envelope_error::ok: return "ok";
    case envelope_error::bad_magic: return "bad_magic";
    case envelope_error::truncated: return "truncated";
    case envelope_error::bad_number: return "bad_number";
    case envelope_error::bad_channel: return "bad_channel";
    case envelope_error::bad_marker: return "bad_marker";
    case envelope_error::too_many_tags: return "too_many_tags";
    case envelope_error::trailing: return "trailing";
  }
  return "unknown";
}

envelope_error decode(std::string_view bytes, envelope& out) {
  if (bytes.size() < 3 || bytes[0] != 'D' || bytes[1] != '1') return envelope_error::bad_magic;
  reader r(bytes.substr(3));
  envelope_error e = envelope_error::ok;
  switch (bytes[2]) {
    case 'p':
      out.kind = envelope_kind::publication;
      e = decode_publication(r, out.pub);
      break;
    case 'j':
    case 'l':
      out.kind = bytes[2] == 'j' ? envelope_kind::join : envelope_kind::leave;
      e = r.channel(out.channel);
      if (e == envelope_error::ok) e = r.client(out.who);
      break;
    case 'c':
      out.kind = envelope_kind::client;
      e = r.client(out.who);
      break;
    case 'f':
      out.kind = envelope_kind::request;
      e = r.string(out.fwd.from);
      if (e == envelope_error::ok) e = r.num(out.fwd.id);
      if (e == envelope_error::ok) e = r.string(out.fwd.service);
      if (e == envelope_error::ok) e = r.string(out.fwd.session);
      if (e == envelope_error::ok) e = r.string(out.fwd.body);
      break;
    case 'r':
      out.kind = envelope_kind::response;
      e = r.num(out.fwd.id);
      if (e == envelope_error::ok) e = r.num(out.fwd.status);
      if (e == envelope_error::ok && out.fwd.status > 999) e = envelope_error::bad_number;
      if (e == envelope_error::ok) e = r.string(out.fwd.content_type);
      if (e == envelope_error::ok) e = r.string(out.fwd.body);
      break;
    default:
      return envelope_error::bad_magic;
  }
  if (e != envelope_error::ok) return e;
  return r.done() ? envelope_error::ok : envelope_error::trailing;
}

void encode_publication_body(const hub::publication& pub, std::string& out) {
  put_str(out, pub.channel);
  put_str(out, pub.data.view());
  if (pub.info) {
    out.push_back('+');
    put_client(out, *pub.info);
  } else {
    out.push_back('-');
  }
  put_num(out, pub.tags.size());
  for (const auto& [k, v] : pub.tags) {
    put_str(out, k);
    put_str(out, v);
  }
}

std::string encode_publication_head(std::uint64_t offset, std::string_view epoch) {
  std::string out = "D1p";
  put_num(out, offset);
  put_str(out, epoch);
  return out;
}

std::string encode_publication(const hub::publication& pub) {
  std::string out = encode_publication_head(pub.offset, pub.epoch);
  encode_publication_body(pub, out);
  return out;
}

std::string encode_join(std::string_view channel, const hub::client_info& who) {
  std::string out = "D1j";
  put_str(out, channel);
  put_client(out, who);
  return out;
}

std::string encode_leave(std::string_view channel, const hub::client_info& who) {
  std::string out = "D1l";
  put_str(out, channel);
  put_client(out, who);
  return out;
}

std::string encode_client(const hub::client_info& who) {
  std::string out = "D1c";
  put_client(out, who);
  return out;
}

std::string encode_request(const forwarded& f) {
  std::string out = "D1f";
  put_str(out, f.from);
  put_num(out, f.id);
  put_str(out, f.service);
  put_str(out, f.session);
  put_str(out, f.body);
  return out;
}

std::string encode_response(const forwarded& f) {
  std::string out = "D1r";
  put_num(out, f.id);
  put_num(out, f.status);
  put_str(out, f.content_type);
  put_str(out, f.body);
  return out;
}

}  // namespace duplex::redis
