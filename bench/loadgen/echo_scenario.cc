#include "echo_scenario.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "fanout_protocol.h"
#include "latency_histogram.h"
#include "proc_sampler.h"
#include "sio_session.h"

namespace duplex::bench {
namespace {

class echo_driver final : public connection_handler {
 public:
  explicit echo_driver(const echo_options& o)
      : o_(o), sent_at_(o.connections * o.in_flight), stamped_(o.connections),
        tx_(o.connections), rx_(o.connections), dirty_flag_(o.connections),
        sio_pattern_(o.sio ? o.pool.message_size : 0, true) {}

  void attach(client_pool& pool) { pool_ = &pool; }

  void on_open(client_connection&) override {}

  // WebSocket dialect: the connection checked the echo against the message sent.
  void on_echo(client_connection& c, std::uint64_t now) override { complete(c, now); }

  // Socket.IO dialect: the handshake, pings, and the acks of the echo events.
  void on_message(client_connection& c, std::string_view text, std::uint64_t now) override {
    sio_info info = sio_on_message(c, text, pool_->events());
    const std::uint32_t i = c.index();
    switch (info.what) {
      case sio_info::kind::open:
      case sio_info::kind::ping:
      case sio_info::kind::noop:
        return;
      case sio_info::kind::connected:
        if (ready_flag_.empty()) ready_flag_.resize(o_.connections);
        if (ready_flag_[i]) return c.abort(pool_->events(), "CONNECT accepted twice");
        ready_flag_[i] = 1;
        ++ready_;
        return;
      case sio_info::kind::ack: {
        // The ack of the oldest echo in flight, carrying its payload back: 43<seq>["<payload>"].
        const std::uint64_t seq = rx_[i];
        const std::string_view want = sio_pattern_.text(seq);
        const std::string_view got = info.rest;
        if (seq >= tx_[i] || info.id != seq)
          return c.abort(pool_->events(), "ack of an echo not sent, or out of order");
        if (got.size() != want.size() + 4 || !got.starts_with("[\"") || !got.ends_with("\"]") ||
            got.substr(2, want.size()) != want)
          return c.abort(pool_->events(), "ack arguments differ from the echo sent");
        complete(c, now);
        return;
      }
      default:
        return c.abort(pool_->events(), "unexpected Socket.IO packet (close, disconnect, error)");
    }
  }

  void on_failed(client_connection&, const char* why) override {
    if (first_error_.empty()) first_error_ = why;
  }

  // Queues the connection's next message; it is stamped and sent by flush_dirty().
  void queue(client_connection& c) {
    const std::uint32_t i = c.index();
    if (o_.sio) {
      scratch_.clear();
      append_sio_echo(scratch_, tx_[i], sio_pattern_.text(tx_[i]));
      c.queue_text(scratch_);
    } else {
      c.queue_message();
    }
    ++tx_[i];
    if (!dirty_flag_[i]) {
      dirty_flag_[i] = 1;
      dirty_.push_back(i);
    }
  }

  std::uint64_t in_flight(std::uint32_t i) const noexcept { return tx_[i] - rx_[i]; }

  // One send per connection per loop turn; all messages of the batch get the same stamp.
  void flush_dirty(client_pool& pool) {
    if (dirty_.empty()) return;
    std::uint64_t now = now_ns();
    auto& conns = pool.connections();
    for (auto idx : dirty_) {
      auto& c = *conns[idx];
      dirty_flag_[idx] = 0;
      for (std::uint64_t s = stamped_[idx]; s < tx_[idx]; ++s) sent_at_[slot(idx, s)] = now;
      stamped_[idx] = tx_[idx];
      if (c.current() == client_connection::state::open) c.flush(pool.events());
    }
    dirty_.clear();
  }

  // Fixed rate: sends what is due by `now`, `burst` messages to one connection at a time,
  // connections in turn; a connection is skipped while its window has no room for a burst.
  void pace(client_pool& pool, std::uint64_t now) {
    auto due = static_cast<std::uint64_t>(static_cast<double>(now - start_) * o_.rate / 1e9);
    auto& conns = pool.connections();
    std::size_t n = conns.size(), misses = 0;
    while (offered_ + burst_ <= due) {
      auto& c = *conns[cursor_];
      cursor_ = (cursor_ + 1) % n;
      if (c.current() == client_connection::state::open &&
          in_flight(c.index()) + burst_ <= o_.in_flight) {
        for (std::uint32_t i = 0; i < burst_; ++i) queue(c);
        offered_ += burst_;
        misses = 0;
      } else if (++misses == n) {  // every window is full: the server is behind
        if (measuring_) skipped_ += due - offered_;
        offered_ = due;
      }
    }
  }
  std::uint64_t next_due_ns() const {
    return start_ +
           static_cast<std::uint64_t>(static_cast<double>(offered_ + burst_) * 1e9 / o_.rate);
  }

  std::size_t slot(std::uint32_t conn, std::uint64_t seq) const {
    return std::size_t{conn} * o_.in_flight + seq % o_.in_flight;
  }

  const echo_options& o_;
  client_pool* pool_ = nullptr;
  std::vector<std::uint64_t> sent_at_;
  std::vector<std::uint64_t> stamped_;
  std::vector<std::uint64_t> tx_, rx_;  // per connection: messages sent, echoes completed
  std::vector<char> dirty_flag_;
  std::vector<std::uint32_t> dirty_;
  std::vector<char> ready_flag_;  // Socket.IO: CONNECT accepted, per connection
  std::size_t ready_ = 0;
  payload_pattern sio_pattern_;   // Socket.IO payloads (JSON-string safe)
  std::string scratch_;
  latency_histogram hist_;
  bool measuring_ = false, sending_ = false;
  std::uint64_t window_messages_ = 0, offered_ = 0, skipped_ = 0, start_ = 0;
  std::size_t cursor_ = 0;
  std::uint32_t burst_ = std::clamp<std::uint32_t>(o_.burst, 1, o_.in_flight);
  std::string first_error_;

 private:
  // The oldest message in flight on `c` came back.
  void complete(client_connection& c, std::uint64_t now) {
    const std::uint32_t i = c.index();
    const std::uint64_t sent = sent_at_[slot(i, rx_[i]++)];
    if (measuring_) {
      hist_.record(now - sent);
      ++window_messages_;
    }
    if (sending_ && o_.rate == 0) queue(c);
  }
};

std::uint64_t seconds_ns(double s) { return static_cast<std::uint64_t>(s * 1e9); }

}  // namespace

echo_report run_echo(const echo_options& o) {
  echo_report r;
  echo_driver d(o);
  pool_options po = o.pool;
  if (o.sio) po.mode = receive_mode::messages;
  client_pool pool(po, d);
  d.attach(pool);
  auto opened = pool.open(o.connections, 256, seconds_ns(10));
  r.connections_open = opened.opened;
  if (opened.failed) {
    r.failures = opened.failed;
    r.first_error = opened.first_error;
    return r;
  }
  if (o.sio) {  // every socket CONNECTed to "/" before the first echo
    const std::uint64_t deadline = now_ns() + seconds_ns(10);
    while (d.ready_ < o.connections && pool.failures() == 0 && now_ns() < deadline)
      pool.poll(10'000'000);
    if (d.ready_ < o.connections) {
      r.failures = std::max<std::size_t>(pool.failures(), o.connections - d.ready_);
      r.first_error = d.first_error_.empty() ? "Socket.IO CONNECT not accepted in 10 s"
                                             : d.first_error_;
      return r;
    }
  }

  d.sending_ = true;
  d.start_ = now_ns();
  if (o.rate == 0) {  // max rate: fill every window now; each echo refills it
    for (auto& c : pool.connections())
      for (std::uint32_t i = 0; i < o.in_flight; ++i) d.queue(*c);
  }
  d.flush_dirty(pool);

  const std::uint64_t window_start = d.start_ + seconds_ns(o.warmup_seconds);
  const std::uint64_t window_end = window_start + seconds_ns(o.seconds);
  std::uint64_t cpu0 = 0, self0 = 0, t0 = 0;
  std::optional<process_sample> srv0;
  for (;;) {
    std::uint64_t now = now_ns();
    if (!d.measuring_ && now >= window_start && now < window_end) {
      if (o.server_pid) srv0 = sample_process(o.server_pid);
      self0 = self_cpu_ns();
      t0 = now_ns();
      cpu0 = self0;
      d.measuring_ = true;
    }
    if (now >= window_end) break;
    if (pool.failures() > 0 && pool.failures() >= o.connections) break;
    std::uint64_t timeout = (d.measuring_ ? window_end : window_start) - now;
    if (o.rate > 0) {
      d.pace(pool, now);
      std::uint64_t next = d.next_due_ns();
      std::uint64_t wait = next > now ? next - now : 0;
      timeout = std::min(timeout, std::max(wait, o.tick_ns));
    }
    d.flush_dirty(pool);
    pool.poll(timeout);
    d.flush_dirty(pool);
  }
  // Window end: sample first, then account.
  std::uint64_t t1 = now_ns();
  std::optional<process_sample> srv1;
  if (o.server_pid) srv1 = sample_process(o.server_pid);
  std::uint64_t self1 = self_cpu_ns();
  d.measuring_ = false;
  d.sending_ = false;

  r.messages = d.window_messages_;
  r.window_s = static_cast<double>(t1 - t0) / 1e9;
  r.msgs_per_s = r.window_s > 0 ? static_cast<double>(r.messages) / r.window_s : 0;
  r.mb_per_s = r.msgs_per_s * static_cast<double>(o.pool.message_size) / 1e6;
  r.p50_us = static_cast<double>(d.hist_.quantile(0.50)) / 1e3;
  r.p99_us = static_cast<double>(d.hist_.quantile(0.99)) / 1e3;
  r.p999_us = static_cast<double>(d.hist_.quantile(0.999)) / 1e3;
  r.gen_cpu_percent = r.window_s > 0 ? static_cast<double>(self1 - cpu0) / 1e7 / r.window_s : 0;
  r.offered_rate = o.rate;
  r.skipped = d.skipped_;
  if (srv0 && srv1 && r.messages) {
    double m = static_cast<double>(r.messages);
    r.server_cpu_us_per_msg = static_cast<double>(srv1->cpu_ns - srv0->cpu_ns) / 1e3 / m;
    r.server_stat_cpu_us_per_msg =
        static_cast<double>(srv1->stat_cpu_ns - srv0->stat_cpu_ns) / 1e3 / m;
    r.server_cpu_percent = static_cast<double>(srv1->cpu_ns - srv0->cpu_ns) / 1e7 / r.window_s;
  }

  // Drain what is still in flight (bounded) so the server is not measured mid-burst next.
  std::uint64_t drain_end = now_ns() + 1'000'000'000;
  auto in_flight = [&] {
    std::uint64_t n = 0;
    for (auto& c : pool.connections())
      if (c->current() == client_connection::state::open) n += d.in_flight(c->index());
    return n;
  };
  while (in_flight() > 0 && now_ns() < drain_end) pool.poll(10'000'000);

  r.failures = pool.failures();
  r.first_error = d.first_error_;
  (void)self0;
  return r;
}

void print_echo_report(const echo_options& o, const echo_report& r) {
  std::fprintf(stderr,
               "%s: %zu conns x %u in flight, %zu-byte %s, %s: %.0f msgs/s, %.2f MB/s, "
               "latency p50 %.1f us p99 %.1f us p99.9 %.1f us, generator CPU %.0f%%",
               o.sio ? "sio echo (event + ack)" : "echo", r.connections_open, o.in_flight,
               o.pool.message_size, o.pool.binary ? "binary" : "text",
               o.rate > 0 ? "fixed rate" : "max rate",
               r.msgs_per_s, r.mb_per_s, r.p50_us, r.p99_us, r.p999_us, r.gen_cpu_percent);
  if (r.server_cpu_us_per_msg >= 0)
    std::fprintf(stderr, ", server CPU %.3f us/msg (%.0f%% of a core)", r.server_cpu_us_per_msg,
                 r.server_cpu_percent);
  if (r.skipped) std::fprintf(stderr, ", %llu offered messages skipped (server behind)",
                              static_cast<unsigned long long>(r.skipped));
  if (r.failures)
    std::fprintf(stderr, ", %zu FAILED connections (first: %s)", r.failures,
                 r.first_error.c_str());
  std::fprintf(stderr, "\n");
  std::printf(
      "{\"scenario\":\"echo\",\"dialect\":\"%s\",\"connections\":%zu,\"in_flight\":%u,"
      "\"size\":%zu,\"binary\":%s,"
      "\"offered_rate\":%.0f,\"window_s\":%.3f,\"messages\":%llu,\"msgs_per_s\":%.1f,"
      "\"mb_per_s\":%.3f,\"p50_us\":%.2f,\"p99_us\":%.2f,\"p999_us\":%.2f,"
      "\"gen_cpu_percent\":%.1f,\"skipped\":%llu,\"server_cpu_us_per_msg\":%.4f,"
      "\"server_stat_cpu_us_per_msg\":%.4f,\"server_cpu_percent\":%.1f,\"failures\":%zu,"
      "\"first_error\":\"%s\"}\n",
      o.sio ? "socketio" : "websocket", r.connections_open, o.in_flight, o.pool.message_size,
      o.pool.binary ? "true" : "false",
      o.rate, r.window_s, static_cast<unsigned long long>(r.messages), r.msgs_per_s, r.mb_per_s,
      r.p50_us, r.p99_us, r.p999_us, r.gen_cpu_percent,
      static_cast<unsigned long long>(r.skipped), r.server_cpu_us_per_msg,
      r.server_stat_cpu_us_per_msg, r.server_cpu_percent, r.failures,
      json_escape(r.first_error).c_str());
  std::fflush(stdout);
}

}  // namespace duplex::bench
