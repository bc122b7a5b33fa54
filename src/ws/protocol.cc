// ws::protocol, receive side: frame parsing, the rules of RFC 6455 §5 and RFC 7692 §6, and
// message assembly. The send side is in protocol_send.cc.
#include "ws/protocol.h"

#include <algorithm>
#include <cstring>

#include "ws/deflater.h"
#include "ws/inflater.h"

namespace duplex::ws {

protocol::protocol(const protocol_options& options, protocol_handler& handler,
                   output_sink& sink)
    : options_(options), handler_(handler), sink_(sink) {}

protocol::~protocol() = default;

std::size_t protocol::buffered_bytes() const noexcept {
  return header_len_ + message_.capacity() + control_.capacity() + scratch_.capacity();
}

inflater& protocol::get_inflater() {
  if (!inflater_) {
    // We inflate what the peer compressed: its window and its context takeover rule.
    const deflate_params& p = *options_.deflate;
    const bool server = options_.role == role::server;
    inflater_ = std::make_unique<inflater>(
        server ? p.client_max_window_bits : p.server_max_window_bits,
        server ? p.client_no_context_takeover : p.server_no_context_takeover);
  }
  return *inflater_;
}

std::size_t protocol::feed(std::span<std::byte> data) {
  std::size_t pos = 0;
  const std::size_t n = data.size();
  while (state_ == protocol_state::open || state_ == protocol_state::closing) {
    if (!in_frame_) {
      if (pos == n) break;
      header_parse_result r;
      if (header_len_ == 0) {
        r = parse_frame_header(data.subspan(pos), frame_);
        if (r.status == parse_status::need_more) {
          // Keep the split header (at most 13 bytes) for the next feed.
          header_len_ = static_cast<std::uint8_t>(n - pos);
          std::memcpy(header_buf_.data(), data.data() + pos, n - pos);
          return n;
        }
        pos += r.consumed;
      } else {
        const std::size_t take = std::min(n - pos, header_buf_.size() - header_len_);
        std::memcpy(header_buf_.data() + header_len_, data.data() + pos, take);
        r = parse_frame_header(std::span<const std::byte>(header_buf_.data(), header_len_ + take),
                               frame_);
        if (r.status == parse_status::need_more) {
          header_len_ = static_cast<std::uint8_t>(header_len_ + take);
          return n;
        }
        if (r.status == parse_status::done) pos += r.consumed - header_len_;
        header_len_ = 0;
      }
      if (r.status == parse_status::failed) {
        fail(r.err);
        return pos;
      }
      if (!on_header()) return pos;
      in_frame_ = true;
      frame_offset_ = 0;
    }
    // Payload: what this buffer holds of the current frame (possibly nothing).
    const std::uint64_t remaining = frame_.payload_length - frame_offset_;
    const std::size_t avail =
        static_cast<std::size_t>(std::min<std::uint64_t>(remaining, n - pos));
    if (avail == 0 && remaining != 0) break;
    std::span<std::byte> chunk = data.subspan(pos, avail);
    // RFC 6455 §5.3: unmask in place, continuing the key rotation across chunks.
    if (frame_.masked) apply_mask(chunk, frame_.mask_key, static_cast<std::size_t>(frame_offset_));
    pos += avail;
    const bool done = avail == remaining;
    on_payload(chunk, done);
    frame_offset_ += avail;
    if (done) in_frame_ = false;
  }
  return pos;
}

// Context-dependent checks on a parsed header; false after failing the connection.
bool protocol::on_header() {
  const frame_header& f = frame_;
  // RFC 6455 §5.2: RSV2/RSV3 have no negotiated meaning; RSV1 only with permessage-deflate,
  // and RFC 7692 §6.1 only on the first frame of a data message.
  if (f.rsv2 || f.rsv3 || (f.rsv1 && !options_.deflate)) {
    fail(error::reserved_bits);
    return false;
  }
  // §5.1: a server MUST close on an unmasked frame; a client on a masked one.
  if (options_.role == role::server && !f.masked) {
    fail(error::unmasked_frame);
    return false;
  }
  if (options_.role == role::client && f.masked) {
    fail(error::masked_frame);
    return false;
  }
  if (is_control(f.op)) {
    if (f.rsv1) {
      fail(error::control_compressed);  // RFC 7692 §6.1
      return false;
    }
    return true;  // FIN and length checked by parse_frame_header (§5.5)
  }
  if (f.op == opcode::continuation) {
    if (!msg_open_) {
      fail(error::unexpected_continuation);  // §5.4
      return false;
    }
    if (f.rsv1) {
      fail(error::continuation_compressed);  // RFC 7692 §6.1
      return false;
    }
    if (++msg_fragments_ > options_.max_fragments) {
      fail(error::too_many_fragments);
      return false;
    }
  } else {
    if (msg_open_) {
      fail(error::expected_continuation);  // §5.4: fragments of one message are not interleaved
      return false;
    }
    msg_open_ = true;
    msg_op_ = f.op;
    msg_compressed_ = f.rsv1;
    if (f.rsv1 && options_.stats) ++options_.stats->compressed_frames_in;
    msg_fragments_ = 1;
    msg_wire_size_ = 0;
    utf8_.reset();
  }
  // Checked on the declared length, before buffering anything. Compressed bytes may exceed
  // their inflated size a little (stored blocks: 5 bytes per 64 KiB), hence the slack; the
  // inflated size is capped exactly by the inflater.
  const std::uint64_t limit =
      options_.max_message_size + (msg_compressed_ ? options_.max_message_size / 1024 + 64 : 0);
  msg_wire_size_ += f.payload_length;
  if (f.payload_length > limit || msg_wire_size_ > limit) {
    fail(error::message_too_big);
    return false;
  }
  return true;
}

void protocol::on_payload(std::span<std::byte> chunk, bool frame_done) {
  if (!is_control(frame_.op)) {
    on_data_chunk(chunk, frame_done);
    return;
  }
  if (frame_done && control_.empty()) {
    on_control(chunk);  // whole control frame in this buffer: no copy
    return;
  }
  control_.insert(control_.end(), chunk.begin(), chunk.end());
  if (frame_done) {
    std::vector<std::byte> payload;
    payload.swap(control_);  // releases the buffer, even if the handler re-enters send()
    on_control(payload);
  }
}

void protocol::on_data_chunk(std::span<std::byte> chunk, bool frame_done) {
  const bool last = frame_done && frame_.fin;
  const bool text = msg_op_ == opcode::text && options_.validate_utf8;
  if (msg_compressed_) {
    inflater& inf = get_inflater();
    const std::size_t before = message_.size();
    inflater::status s = inf.inflate(chunk, message_, options_.max_message_size);
    if (s == inflater::status::ok && last) s = inf.finish(message_, options_.max_message_size);
    if (s != inflater::status::ok) {
      inf.reset();
      fail(s == inflater::status::too_big ? error::message_too_big
           : s == inflater::status::corrupt ? error::bad_compressed_data
                                            : error::internal);
      return;
    }
    // Validate inflated text as it is produced, so invalid UTF-8 fails early (§8.1).
    if (text && !utf8_.feed(std::span<const std::byte>(message_).subspan(before))) {
      fail(error::invalid_utf8);
      return;
    }
    if (last) {
      if (text && !utf8_.complete()) {
        fail(error::invalid_utf8);
        return;
      }
      deliver(message_);
    }
    return;
  }
  // The fast path: a whole unfragmented message inside the caller's buffer.
  if (last && message_.empty() && chunk.size() == frame_.payload_length) {
    if (text && !is_valid_utf8(chunk)) {
      fail(error::invalid_utf8);
      return;
    }
    deliver(chunk);
    return;
  }
  // RFC 6455 §8.1 + Autobahn 6.4: fail on the first invalid byte, even mid-frame.
  if (text && !utf8_.feed(chunk)) {
    fail(error::invalid_utf8);
    return;
  }
  if (last && message_.empty()) {
    // The final frame of a fragmented message whose earlier frames were all empty.
    if (text && !utf8_.complete()) {
      fail(error::invalid_utf8);
      return;
    }
    deliver(chunk);
    return;
  }
  if (message_.empty() && frame_offset_ == 0) {
    // Size the buffer once from the declared length (already checked against the limit).
    message_.reserve(static_cast<std::size_t>(frame_.payload_length));
  }
  message_.insert(message_.end(), chunk.begin(), chunk.end());
  if (last) {
    if (text && !utf8_.complete()) {
      fail(error::invalid_utf8);
      return;
    }
    deliver(message_);
  }
}

void protocol::deliver(std::span<const std::byte> payload) {
  const opcode op = msg_op_;
  // Reset the message state first: the handler may send, and the next frame starts fresh.
  msg_open_ = false;
  if (payload.data() == message_.data() && !message_.empty()) {
    std::vector<std::byte> owned;
    owned.swap(message_);  // freed after the callback: no buffer kept while idle
    handler_.on_message(op, owned);
    return;
  }
  message_.clear();
  handler_.on_message(op, payload);
}

void protocol::end_message() noexcept {
  msg_open_ = false;
  std::vector<std::byte>().swap(message_);
  std::vector<std::byte>().swap(control_);
}

void protocol::on_control(std::span<const std::byte> payload) {
  switch (frame_.op) {
    case opcode::ping:
      // §5.5.2: answer with a pong carrying the same payload, unless we are closing.
      if (state_ == protocol_state::open) write_frame(opcode::pong, true, false, payload);
      handler_.on_ping(payload);
      break;
    case opcode::pong:
      handler_.on_pong(payload);  // §5.5.3: unsolicited pongs are allowed
      break;
    case opcode::close:
      on_close_frame(payload);
      break;
    default:
      break;
  }
}

void protocol::on_close_frame(std::span<const std::byte> payload) {
  // §5.5.1: the body, if any, starts with a 2-byte code, then a UTF-8 reason.
  if (payload.size() == 1) {
    fail(error::bad_close_payload);
    return;
  }
  std::uint16_t code = close_code::no_status;
  std::string_view reason;
  if (payload.size() >= 2) {
    code = static_cast<std::uint16_t>((std::to_integer<unsigned>(payload[0]) << 8) |
                                      std::to_integer<unsigned>(payload[1]));
    if (!is_valid_close_code(code)) {  // §7.4
      fail(error::bad_close_code);
      return;
    }
    auto r = payload.subspan(2);
    if (options_.validate_utf8 && !is_valid_utf8(r)) {
      fail(error::invalid_close_reason);
      return;
    }
    reason = std::string_view(reinterpret_cast<const char*>(r.data()), r.size());
  }
  // §5.5.1: answer a close we did not start by echoing its code.
  if (state_ == protocol_state::open) write_close(code, {});
  state_ = protocol_state::closed;
  end_message();
  handler_.on_close(code, reason);
}

void protocol::fail(error e) {
  const std::uint16_t code = close_code_of(e);
  // §7.1.7: _Fail the WebSocket Connection_: send a close (if we have not) and stop reading.
  if (state_ == protocol_state::open) write_close(code, {});
  state_ = protocol_state::failed;
  in_frame_ = false;
  header_len_ = 0;
  end_message();
  handler_.on_fail(e, code);
}

}  // namespace duplex::ws
