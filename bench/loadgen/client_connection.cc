#include "client_connection.h"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace duplex::bench {

client_connection::~client_connection() { close(); }

void client_connection::close() noexcept {
  if (fd_ >= 0) ::close(fd_);  // also removes it from the epoll set
  fd_ = -1;
  if (state_ != state::failed) state_ = state::closed;
  hs_.reset();
  out_.release();
  std::string().swap(partial_);
}

bool client_connection::open_socket(int epfd, const sockaddr_in& source,
                                    const sockaddr_in& target, std::string& err) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    err = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  int one = 1;
  // Echo traffic is request/response: Nagle would hold each small frame for a delayed ACK.
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // Let connect() pick the source port per destination 4-tuple instead of bind() reserving a
  // port per address: the range is then ~28k per (source, destination) pair.
  ::setsockopt(fd_, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
  if (::bind(fd_, reinterpret_cast<const sockaddr*>(&source), sizeof source) != 0) {
    err = std::string("bind: ") + std::strerror(errno);
    return false;
  }
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&target), sizeof target) != 0 &&
      errno != EINPROGRESS) {
    err = std::string("connect: ") + std::strerror(errno);
    return false;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u32 = index_;
  if (::epoll_ctl(epfd, EPOLL_CTL_ADD, fd_, &ev) != 0) {
    err = std::string("epoll_ctl: ") + std::strerror(errno);
    return false;
  }
  state_ = state::connecting;
  return true;
}

bool client_connection::start(int epfd, const sockaddr_in& source, const sockaddr_in& target,
                              const ws::client_options& options, std::string& err) {
  if (!open_socket(epfd, source, target, err)) return false;
  hs_ = std::make_unique<handshake_state>();
  hs_->options = options;
  auto req = ws::make_client_request(options);
  hs_->request = std::move(req.bytes);
  hs_->key = std::move(req.key);
  return true;
}

bool client_connection::start_http(int epfd, const sockaddr_in& source,
                                   const sockaddr_in& target, std::string request,
                                   stream_format format, std::string& err) {
  if (!open_socket(epfd, source, target, err)) return false;
  hs_ = std::make_unique<handshake_state>();
  hs_->request = std::move(request);
  stream_ = std::make_unique<stream_reader>(format);
  return true;
}

void client_connection::fail(connection_handler& h, const char* why) {
  if (state_ == state::failed || state_ == state::closed) return;
  state_ = state::failed;
  h.on_failed(*this, why);
}

void client_connection::on_events(std::uint32_t events, std::span<std::byte> rx,
                                  connection_handler& h, std::uint64_t now) {
  if (fd_ < 0) return;
  if (state_ == state::connecting) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int soerr = 0;
    socklen_t len = sizeof soerr;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &soerr, &len);
    if (soerr != 0) return fail(h, "connect failed");
    state_ = state::handshaking;
    on_connected(h);
    if (state_ == state::failed) return;
  }
  if (events & EPOLLOUT) {
    want_write_ = false;
    if (state_ == state::handshaking && hs_ && hs_->request_sent < hs_->request.size())
      on_connected(h);
    else if (!out_.empty())
      flush(h);
    if (state_ == state::failed) return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    // Edge-triggered: read until a short read. A short read means the socket was drained at
    // that moment; bytes arriving later raise a new edge.
    for (;;) {
      ssize_t n = ::recv(fd_, rx.data(), rx.size(), 0);
      if (n > 0) {
        auto got = rx.first(static_cast<std::size_t>(n));
        if (stream_)
          read_stream(got, h, now);
        else if (state_ == state::handshaking)
          read_handshake(got, h, now);
        else
          read_frames(got, h, now);
        if (state_ == state::failed) return;
        if (static_cast<std::size_t>(n) < rx.size()) break;
        continue;
      }
      if (n == 0) return fail(h, "server closed the connection");
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return fail(h, "recv error");
    }
  }
}

void client_connection::on_connected(connection_handler& h) {
  auto& req = hs_->request;
  while (hs_->request_sent < req.size()) {
    ssize_t n = ::send(fd_, req.data() + hs_->request_sent, req.size() - hs_->request_sent,
                       MSG_NOSIGNAL);
    if (n > 0) {
      hs_->request_sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;  // EPOLLOUT resumes
    return fail(h, "send of the handshake failed");
  }
}

void client_connection::read_handshake(std::span<std::byte> rx, connection_handler& h,
                                       std::uint64_t now) {
  hs_->received.append(reinterpret_cast<const char*>(rx.data()), rx.size());
  for (;;) {
    auto r = hs_->parser.feed(std::string_view(hs_->received));
    if (r.status == http::parse_status::error) return fail(h, "malformed handshake response");
    if (r.status == http::parse_status::need_more) {
      hs_->received.erase(0, r.consumed);
      if (hs_->received.size() > 16384) return fail(h, "handshake response too large");
      return;
    }
    if (r.status != http::parse_status::head_done) return fail(h, "unexpected response body");
    // RFC 6455 §4.1: status 101, Upgrade/Connection, Sec-WebSocket-Accept for our key, and no
    // extension or subprotocol we did not offer; anything else fails the connection.
    auto v = ws::validate_response(hs_->parser.head(), hs_->key, hs_->options);
    if (!v.ok()) {
      static thread_local std::string reason;
      reason = "handshake rejected: " + std::string(ws::name_of(v.err));
      return fail(h, reason.c_str());
    }
    // Bytes after the head already belong to the WebSocket stream.
    std::string rest = hs_->received.substr(r.consumed);
    hs_.reset();
    state_ = state::open;
    opened_ = true;
    h.on_open(*this);
    if (!rest.empty() && state_ == state::open)
      read_frames(std::as_bytes(std::span(rest.data(), rest.size())), h, now);
    return;
  }
}

void client_connection::read_stream(std::span<const std::byte> in, connection_handler& h,
                                    std::uint64_t now) {
  // Forwards the reader's findings to the handler; stops the reader once the connection failed.
  struct forward final : stream_sink {
    client_connection& c;
    connection_handler& h;
    std::uint64_t now;
    forward(client_connection& c, connection_handler& h, std::uint64_t now)
        : c(c), h(h), now(now) {}
    bool on_stream_open() override {
      c.hs_.reset();
      c.state_ = state::open;
      c.opened_ = true;
      h.on_open(c);
      return c.state_ == state::open;
    }
    bool on_stream_event(std::string_view name, std::string_view data) override {
      ++c.rx_seq_;
      h.on_stream_event(c, name, data, now);
      return c.state_ == state::open;
    }
  } sink(*this, h, now);
  if (!stream_->feed(std::string_view(reinterpret_cast<const char*>(in.data()), in.size()), sink))
    fail(h, stream_->error().c_str());
}

void client_connection::read_frames(std::span<const std::byte> in, connection_handler& h,
                                    std::uint64_t now) {
  while (!in.empty() && state_ == state::open) {
    if (!in_payload_) {
      ws::header_parse_result r;
      std::size_t used;
      if (hdr_len_ == 0) {
        r = ws::parse_frame_header(in, frame_);
        if (r.status == ws::parse_status::need_more) {
          std::memcpy(hdr_.data(), in.data(), in.size());  // < 14 bytes
          hdr_len_ = static_cast<std::uint8_t>(in.size());
          return;
        }
        used = r.consumed;
      } else {
        std::size_t take = std::min(hdr_.size() - hdr_len_, in.size());
        std::memcpy(hdr_.data() + hdr_len_, in.data(), take);
        std::size_t had = hdr_len_;
        r = ws::parse_frame_header(std::span(hdr_.data(), had + take), frame_);
        if (r.status == ws::parse_status::need_more) {
          hdr_len_ = static_cast<std::uint8_t>(had + take);
          return;
        }
        used = r.consumed - had;  // the header started in hdr_ and ends inside `in`
        hdr_len_ = 0;
      }
      if (r.status == ws::parse_status::failed) return fail(h, "bad frame header from server");
      in = in.subspan(used);
      // RFC 6455 §5.1: a client MUST close the connection if it receives a masked frame.
      if (frame_.masked) return fail(h, "server frame is masked");
      // §5.2: no extension was negotiated, so RSV bits must be 0.
      if (frame_.rsv1 || frame_.rsv2 || frame_.rsv3) return fail(h, "server frame has RSV bits");
      if (!ws::is_control(frame_.op)) {
        // §5.4: continuation only inside a message, a new message only outside one.
        if ((frame_.op == ws::opcode::continuation) != in_message_)
          return fail(h, "bad fragmentation from server");
        if (mode_ == receive_mode::echo) {
          if (frame_.op != ws::opcode::continuation &&
              frame_.op != (binary_ ? ws::opcode::binary : ws::opcode::text))
            return fail(h, "echo has the wrong opcode");
          if (message_off_ + frame_.payload_length > pattern_->message_size())
            return fail(h, "echo longer than the message sent");
        } else {
          if (frame_.op == ws::opcode::binary) return fail(h, "binary message from server");
          if (message_off_ + frame_.payload_length > max_message_bytes)
            return fail(h, "message from server too large");
          // The common case: an unfragmented message wholly inside this read is handed over
          // in place, without a copy into partial_.
          if (frame_.fin && !in_message_ && frame_.payload_length <= in.size()) {
            auto len = static_cast<std::size_t>(frame_.payload_length);
            std::string_view text(reinterpret_cast<const char*>(in.data()), len);
            in = in.subspan(len);
            ++rx_seq_;
            h.on_message(*this, text, now);
            continue;
          }
        }
        in_message_ = true;
      }
      control_len_ = 0;
      frame_left_ = frame_.payload_length;
      in_payload_ = true;
    }
    std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(frame_left_, in.size()));
    if (take && !take_payload(in.first(take), h)) return;
    in = in.subspan(take);
    frame_left_ -= take;
    if (frame_left_ == 0) {
      in_payload_ = false;
      finish_frame(h, now);
    }
  }
}

bool client_connection::take_payload(std::span<const std::byte> chunk, connection_handler& h) {
  if (ws::is_control(frame_.op)) {
    std::memcpy(control_.data() + control_len_, chunk.data(), chunk.size());  // <= 125 (§5.5)
    control_len_ = static_cast<std::uint8_t>(control_len_ + chunk.size());
    return true;
  }
  if (mode_ == receive_mode::messages) {
    partial_.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
    message_off_ += chunk.size();
    return true;
  }
  if (rx_seq_ >= tx_seq_) {
    fail(h, "echo of a message never sent");
    return false;
  }
  auto expected = pattern_->message(rx_seq_).subspan(message_off_, chunk.size());
  if (std::memcmp(expected.data(), chunk.data(), chunk.size()) != 0) {
    fail(h, "echo payload differs from the message sent");
    return false;
  }
  message_off_ += chunk.size();
  return true;
}

void client_connection::finish_frame(connection_handler& h, std::uint64_t now) {
  switch (frame_.op) {
    case ws::opcode::ping:  // §5.5.3: answer with a pong carrying the same payload
      queue_frame(ws::opcode::pong, std::span(control_.data(), control_len_));
      flush(h);
      return;
    case ws::opcode::pong:
      return;
    case ws::opcode::close:
      return fail(h, "server sent a close frame");
    default:
      break;
  }
  if (!frame_.fin) return;
  if (mode_ == receive_mode::messages) {
    in_message_ = false;
    message_off_ = 0;
    ++rx_seq_;
    h.on_message(*this, partial_, now);
    // A rare large message should not pin its buffer on an otherwise idle connection.
    if (partial_.capacity() > 64 * 1024)
      std::string().swap(partial_);
    else
      partial_.clear();
    return;
  }
  if (message_off_ != pattern_->message_size()) return fail(h, "echo shorter than the message");
  in_message_ = false;
  message_off_ = 0;
  ++rx_seq_;
  h.on_echo(*this, now);
}

void client_connection::queue_frame(ws::opcode op, std::span<const std::byte> payload) {
  ws::frame_header fh{.fin = true, .op = op, .masked = true, .mask_key = masks_->next(),
                      .payload_length = payload.size()};
  std::array<std::byte, ws::max_frame_header_size> head;
  std::size_t hn = ws::encode_frame_header(fh, head);
  auto dst = out_.append(hn + payload.size());
  std::memcpy(dst.data(), head.data(), hn);
  if (!payload.empty()) std::memcpy(dst.data() + hn, payload.data(), payload.size());
  ws::apply_mask(dst.subspan(hn), fh.mask_key, 0);
}

void client_connection::queue_message() {
  queue_frame(binary_ ? ws::opcode::binary : ws::opcode::text, pattern_->message(tx_seq_));
  ++tx_seq_;
}

void client_connection::queue_text(std::string_view text) {
  queue_frame(ws::opcode::text, std::as_bytes(std::span(text.data(), text.size())));
}

void client_connection::flush(connection_handler& h) {
  while (!out_.empty() && !want_write_) {
    ssize_t n = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
    if (n > 0) {
      out_.consume(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      want_write_ = true;  // EPOLLOUT (edge) clears it and flushes again
      return;
    }
    return fail(h, "send failed");
  }
}

}  // namespace duplex::bench
