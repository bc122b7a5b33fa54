// ws::protocol, receive side: frame parsing, the rules of RFC 6455 §5 and RFC 7692 §6, and
// message assembly. The send side is in protocol_send.cc.
#include "ws/protocol.h"

#include <algorithm>
#include <cstring>

#include "ws/deflater.h"
#include "ws/inflater.h"

namespace duplex::ws {

protocol::deflate_state::deflate_state() = default;
protocol::deflate_state::~deflate_state() = default;

protocol::protocol(const protocol_options& options, protocol_handler& handler)
    : handler_(handler),
      max_message_size_(options.max_message_size),
      // More than 2^32 fragments cannot arrive below any sane size limit; clamp, not wrap.
      max_fragments_(static_cast<std::uint32_t>(
          std::min<std::size_t>(options.max_fragments, UINT32_MAX))),
      role_(options.role), validate_utf8_(options.validate_utf8) {
  if (options.deflate) {
    enable_deflate(*options.deflate, options.compression_level, options.compression_mem_level,
                   options.stats);
  }
}

protocol::~protocol() = default;

void protocol::enable_deflate(const deflate_params& params, int level, int mem_level,
                              websocket_stats* stats) {
  dfl_ = std::make_unique<deflate_state>();
  dfl_->params = params;
  dfl_->level = level;
  dfl_->mem_level = mem_level;
  dfl_->stats = stats;
}

std::size_t protocol::buffered_bytes() const noexcept {
  std::size_t n = 0;
  if (rx_) n += rx_->header_len + rx_->message.capacity() + rx_->control.capacity();
  if (dfl_) n += dfl_->scratch.capacity();
  return n;
}

inflater& protocol::get_inflater() {
  if (!dfl_->inf) {
    // We inflate what the peer compressed: its window and its context takeover rule.
    const deflate_params& p = dfl_->params;
    const bool server = role_ == role::server;
    dfl_->inf = std::make_unique<inflater>(
        server ? p.client_max_window_bits : p.server_max_window_bits,
        server ? p.client_no_context_takeover : p.server_no_context_takeover);
  }
  return *dfl_->inf;
}

// The state of an unfinished frame or message lives in rx_ between feeds; during a feed that
// starts idle it lives on the stack, and moves to the heap only if the feed ends mid-frame or
// mid-message. Common traffic (whole frames per read) therefore allocates nothing, and an idle
// connection keeps no receive state at all.
std::size_t protocol::feed(std::span<std::byte> data) {
  if (rx_) {
    const std::size_t n = feed_frames(*rx_, data);
    if (rx_->idle()) rx_.reset();
    return n;
  }
  rx_state local;
  const std::size_t n = feed_frames(local, data);
  if (!local.idle() && (state_ == protocol_state::open || state_ == protocol_state::closing))
    rx_ = std::make_unique<rx_state>(std::move(local));
  return n;
}

std::size_t protocol::feed_frames(rx_state& rx, std::span<std::byte> data) {
  std::size_t pos = 0;
  const std::size_t n = data.size();
  while (state_ == protocol_state::open || state_ == protocol_state::closing) {
    if (!rx.in_frame) {
      if (pos == n) break;
      header_parse_result r;
      if (rx.header_len == 0) {
        r = parse_frame_header(data.subspan(pos), rx.frame);
        if (r.status == parse_status::need_more) {
          // Keep the split header (at most 13 bytes) for the next feed.
          rx.header_len = static_cast<std::uint8_t>(n - pos);
          std::memcpy(rx.header_buf.data(), data.data() + pos, n - pos);
          return n;
        }
        pos += r.consumed;
      } else {
        const std::size_t take = std::min(n - pos, rx.header_buf.size() - rx.header_len);
        std::memcpy(rx.header_buf.data() + rx.header_len, data.data() + pos, take);
        r = parse_frame_header(std::span<const std::byte>(rx.header_buf.data(), rx.header_len + take),
                               rx.frame);
        if (r.status == parse_status::need_more) {
          rx.header_len = static_cast<std::uint8_t>(rx.header_len + take);
          return n;
        }
        if (r.status == parse_status::done) pos += r.consumed - rx.header_len;
        rx.header_len = 0;
      }
      if (r.status == parse_status::failed) {
        fail(rx, r.err);
        return pos;
      }
      if (!on_header(rx)) return pos;
      rx.in_frame = true;
      rx.frame_offset = 0;
    }
    // Payload: what this buffer holds of the current frame (possibly nothing).
    const std::uint64_t remaining = rx.frame.payload_length - rx.frame_offset;
    const std::size_t avail =
        static_cast<std::size_t>(std::min<std::uint64_t>(remaining, n - pos));
    if (avail == 0 && remaining != 0) break;
    std::span<std::byte> chunk = data.subspan(pos, avail);
    // RFC 6455 §5.3: unmask in place, continuing the key rotation across chunks.
    if (rx.frame.masked) apply_mask(chunk, rx.frame.mask_key, static_cast<std::size_t>(rx.frame_offset));
    pos += avail;
    const bool done = avail == remaining;
    on_payload(rx, chunk, done);
    rx.frame_offset += avail;
    if (done) rx.in_frame = false;
  }
  return pos;
}

// Context-dependent checks on a parsed header; false after failing the connection.
bool protocol::on_header(rx_state& rx) {
  const frame_header& f = rx.frame;
  // RFC 6455 §5.2: RSV2/RSV3 have no negotiated meaning; RSV1 only with permessage-deflate,
  // and RFC 7692 §6.1 only on the first frame of a data message.
  if (f.rsv2 || f.rsv3 || (f.rsv1 && !dfl_)) {
    fail(rx, error::reserved_bits);
    return false;
  }
  // §5.1: a server MUST close on an unmasked frame; a client on a masked one.
  if (role_ == role::server && !f.masked) {
    fail(rx, error::unmasked_frame);
    return false;
  }
  if (role_ == role::client && f.masked) {
    fail(rx, error::masked_frame);
    return false;
  }
  if (is_control(f.op)) {
    if (f.rsv1) {
      fail(rx, error::control_compressed);  // RFC 7692 §6.1
      return false;
    }
    return true;  // FIN and length checked by parse_frame_header (§5.5)
  }
  if (f.op == opcode::continuation) {
    if (!rx.msg_open) {
      fail(rx, error::unexpected_continuation);  // §5.4
      return false;
    }
    if (f.rsv1) {
      fail(rx, error::continuation_compressed);  // RFC 7692 §6.1
      return false;
    }
    if (++rx.msg_fragments > max_fragments_) {
      fail(rx, error::too_many_fragments);
      return false;
    }
  } else {
    if (rx.msg_open) {
      fail(rx, error::expected_continuation);  // §5.4: fragments of one message are not interleaved
      return false;
    }
    rx.msg_open = true;
    rx.msg_op = f.op;
    rx.msg_compressed = f.rsv1;
    if (f.rsv1 && dfl_->stats) ++dfl_->stats->compressed_frames_in;
    rx.msg_fragments = 1;
    rx.msg_wire_size = 0;
    rx.utf8.reset();
  }
  // Checked on the declared length, before buffering anything. Compressed bytes may exceed
  // their inflated size a little (stored blocks: 5 bytes per 64 KiB), hence the slack; the
  // inflated size is capped exactly by the inflater.
  const std::uint64_t limit =
      max_message_size_ + (rx.msg_compressed ? max_message_size_ / 1024 + 64 : 0);
  rx.msg_wire_size += f.payload_length;
  if (f.payload_length > limit || rx.msg_wire_size > limit) {
    fail(rx, error::message_too_big);
    return false;
  }
  return true;
}

void protocol::on_payload(rx_state& rx, std::span<std::byte> chunk, bool frame_done) {
  if (!is_control(rx.frame.op)) {
    on_data_chunk(rx, chunk, frame_done);
    return;
  }
  if (frame_done && rx.control.empty()) {
    on_control(rx, chunk);  // whole control frame in this buffer: no copy
    return;
  }
  rx.control.insert(rx.control.end(), chunk.begin(), chunk.end());
  if (frame_done) {
    std::vector<std::byte> payload;
    payload.swap(rx.control);  // releases the buffer, even if the handler re-enters send()
    on_control(rx, payload);
  }
}

void protocol::on_data_chunk(rx_state& rx, std::span<std::byte> chunk, bool frame_done) {
  const bool last = frame_done && rx.frame.fin;
  const bool text = rx.msg_op == opcode::text && validate_utf8_;
  if (rx.msg_compressed) {
    inflater& inf = get_inflater();
    const std::size_t before = rx.message.size();
    inflater::status s = inf.inflate(chunk, rx.message, max_message_size_);
    if (s == inflater::status::ok && last) s = inf.finish(rx.message, max_message_size_);
    if (s != inflater::status::ok) {
      inf.reset();
      fail(rx, s == inflater::status::too_big ? error::message_too_big
           : s == inflater::status::corrupt ? error::bad_compressed_data
                                            : error::internal);
      return;
    }
    // Validate inflated text as it is produced, so invalid UTF-8 fails early (§8.1).
    if (text && !rx.utf8.feed(std::span<const std::byte>(rx.message).subspan(before))) {
      fail(rx, error::invalid_utf8);
      return;
    }
    if (last) {
      if (text && !rx.utf8.complete()) {
        fail(rx, error::invalid_utf8);
        return;
      }
      deliver(rx, rx.message);
    }
    return;
  }
  // The fast path: a whole unfragmented message inside the caller's buffer.
  if (last && rx.message.empty() && chunk.size() == rx.frame.payload_length) {
    if (text && !is_valid_utf8(chunk)) {
      fail(rx, error::invalid_utf8);
      return;
    }
    deliver(rx, chunk);
    return;
  }
  // RFC 6455 §8.1 + Autobahn 6.4: fail on the first invalid byte, even mid-frame.
  if (text && !rx.utf8.feed(chunk)) {
    fail(rx, error::invalid_utf8);
    return;
  }
  if (last && rx.message.empty()) {
    // The final frame of a fragmented message whose earlier frames were all empty.
    if (text && !rx.utf8.complete()) {
      fail(rx, error::invalid_utf8);
      return;
    }
    deliver(rx, chunk);
    return;
  }
  if (rx.message.empty() && rx.frame_offset == 0) {
    // Size the buffer once from the declared length (already checked against the limit).
    rx.message.reserve(static_cast<std::size_t>(rx.frame.payload_length));
  }
  rx.message.insert(rx.message.end(), chunk.begin(), chunk.end());
  if (last) {
    if (text && !rx.utf8.complete()) {
      fail(rx, error::invalid_utf8);
      return;
    }
    deliver(rx, rx.message);
  }
}

void protocol::deliver(rx_state& rx, std::span<const std::byte> payload) {
  const opcode op = rx.msg_op;
  // Reset the message state first: the handler may send, and the next frame starts fresh.
  rx.msg_open = false;
  if (payload.data() == rx.message.data() && !rx.message.empty()) {
    std::vector<std::byte> owned;
    owned.swap(rx.message);  // freed after the callback: no buffer kept while idle
    handler_.on_message(op, owned);
    return;
  }
  rx.message.clear();
  handler_.on_message(op, payload);
}

void protocol::end_message(rx_state& rx) noexcept {
  rx.msg_open = false;
  std::vector<std::byte>().swap(rx.message);
  std::vector<std::byte>().swap(rx.control);
}

void protocol::on_control(rx_state& rx, std::span<const std::byte> payload) {
  switch (rx.frame.op) {
    case opcode::ping:
      // §5.5.2: answer with a pong carrying the same payload, unless we are closing.
      if (state_ == protocol_state::open) write_frame(opcode::pong, true, false, payload);
      handler_.on_ping(payload);
      break;
    case opcode::pong:
      handler_.on_pong(payload);  // §5.5.3: unsolicited pongs are allowed
      break;
    case opcode::close:
      on_close_frame(rx, payload);
      break;
    default:
      break;
  }
}

void protocol::on_close_frame(rx_state& rx, std::span<const std::byte> payload) {
  // §5.5.1: the body, if any, starts with a 2-byte code, then a UTF-8 reason.
  if (payload.size() == 1) {
    fail(rx, error::bad_close_payload);
    return;
  }
  std::uint16_t code = close_code::no_status;
  std::string_view reason;
  if (payload.size() >= 2) {
    code = static_cast<std::uint16_t>((std::to_integer<unsigned>(payload[0]) << 8) |
                                      std::to_integer<unsigned>(payload[1]));
    if (!is_valid_close_code(code)) {  // §7.4
      fail(rx, error::bad_close_code);
      return;
    }
    auto r = payload.subspan(2);
    if (validate_utf8_ && !is_valid_utf8(r)) {
      fail(rx, error::invalid_close_reason);
      return;
    }
    reason = std::string_view(reinterpret_cast<const char*>(r.data()), r.size());
  }
  // §5.5.1: answer a close we did not start by echoing its code.
  if (state_ == protocol_state::open) write_close(code, {});
  state_ = protocol_state::closed;
  end_message(rx);
  handler_.on_close(code, reason);
}

void protocol::fail(rx_state& rx, error e) {
  const std::uint16_t code = close_code_of(e);
  // §7.1.7: _Fail the WebSocket Connection_: send a close (if we have not) and stop reading.
  if (state_ == protocol_state::open) write_close(code, {});
  state_ = protocol_state::failed;
  rx.in_frame = false;
  rx.header_len = 0;
  end_message(rx);
  handler_.on_fail(e, code);
}

}  // namespace duplex::ws
