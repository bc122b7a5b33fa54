#include "connections_scenario.h"

#include <algorithm>
#include <cstdio>

#include "proc_sampler.h"
#include "sio_session.h"

namespace duplex::bench {
namespace {

// Keeps connections idle; when subscribing, sends connect + subscribe on open (centrifuge),
// counts subscribe replies and answers the protocol's pings.
class idle_handler final : public connection_handler {
 public:
  explicit idle_handler(const connections_options& o) : o_(o) {}
  void attach(client_pool& pool) { pool_ = &pool; }

  void on_open(client_connection& c) override {
    if (o_.subscribe.empty() || o_.proto == dialect::raw) return;
    scratch_.clear();
    append_connect_command(scratch_);
    c.queue_text(scratch_);
    scratch_.clear();
    append_subscribe_command(scratch_, o_.subscribe);
    c.queue_text(scratch_);
    c.flush(pool_->events());
  }
  void on_echo(client_connection&, std::uint64_t) override {}
  void on_failed(client_connection&, const char* why) override {
    if (first_error.empty()) first_error = why;
  }
  void on_message(client_connection& c, std::string_view text, std::uint64_t now) override {
    if (o_.sio) return on_sio_message(c, text, now);
    bool ping = false;
    for_each_line(text, [&](std::string_view line) {
      line_info li = classify_line(line);
      if (li.what == line_info::kind::ping) ping = true;
      if (li.what == line_info::kind::reply && li.id == subscribe_id) {
        ++subscribed;
        last_subscribed_ns = now;
      }
      if (li.what == line_info::kind::error_reply) {
        ++errors;
        if (first_error.empty()) first_error = "error reply: " + std::string(line.substr(0, 160));
      }
    });
    if (ping) {
      c.queue_text("{}");
      c.flush(pool_->events());
    }
  }

  std::string first_error;
  std::size_t subscribed = 0, errors = 0;
  std::uint64_t last_subscribed_ns = 0;

 private:
  void on_sio_message(client_connection& c, std::string_view text, std::uint64_t now) {
    sio_info info = sio_on_message(c, text, pool_->events());
    switch (info.what) {
      case sio_info::kind::open:
      case sio_info::kind::ping:
      case sio_info::kind::noop:
        return;
      case sio_info::kind::connected:
        ++subscribed;
        last_subscribed_ns = now;
        return;
      default:
        ++errors;
        if (first_error.empty())
          first_error = "unexpected Socket.IO packet: " + std::string(text.substr(0, 160));
        return;
    }
  }

  const connections_options& o_;
  client_pool* pool_ = nullptr;
  std::string scratch_;
};

}  // namespace

connections_report run_connections(const connections_options& o) {
  connections_report r;
  idle_handler h(o);
  pool_options po = o.pool;
  // Subscribing, or CONNECTing Socket.IO sockets: a connection counts once confirmed.
  const bool subscribing = !o.subscribe.empty() || o.sio;
  if (subscribing) {
    po.mode = receive_mode::messages;
    if (o.proto == dialect::raw && !o.sio) po.path = "/sub?channel=" + o.subscribe;
  }
  client_pool pool(po, h);
  h.attach(pool);
  // When subscribing, a connection counts once its subscribe reply is in.
  auto wait_subscribed = [&](std::size_t n) {
    std::uint64_t deadline = now_ns() + 60'000'000'000ull;
    while (subscribing && h.subscribed < n && h.errors == 0 && now_ns() < deadline)
      pool.poll(10'000'000);
  };

  std::size_t warm = std::min(o.warm, o.connections / 2);
  if (warm) {
    auto w = pool.open(warm, o.concurrency, 30'000'000'000ull);
    wait_subscribed(warm);
    if (w.failed || (subscribing && h.subscribed < warm)) {
      r.failed = w.failed ? w.failed : warm - h.subscribed;
      std::string why = w.failed ? w.first_error : h.first_error;
      if (why.empty())
        why = o.sio ? "no Socket.IO CONNECT accepted in 60 s" : "no subscribe reply in 60 s";
      r.first_error = "warm-up: " + why;
      return r;
    }
    std::uint64_t end = now_ns() + 100'000'000;  // let the server finish with them
    for (std::uint64_t now = now_ns(); now < end; now = now_ns()) pool.poll(end - now);
  }
  r.measured = o.connections - warm;

  std::optional<process_sample> srv0;
  if (o.server_pid) srv0 = sample_process(o.server_pid);
  std::uint64_t self0 = self_cpu_ns();
  const std::uint64_t open_start = now_ns();
  auto rep = pool.open(r.measured, o.concurrency, 60'000'000'000ull);
  wait_subscribed(o.connections);
  if (subscribing && h.last_subscribed_ns > open_start)
    rep.elapsed_ns = h.last_subscribed_ns - open_start;
  std::uint64_t self1 = self_cpu_ns();
  std::optional<process_sample> srv_cpu;
  if (o.server_pid) srv_cpu = sample_process(o.server_pid);

  r.opened = rep.opened;
  r.failed = rep.failed;
  r.first_error = rep.first_error;
  r.subscribed = h.subscribed;
  if (subscribing && h.subscribed < o.connections) {
    // A connection that opened but never got its subscription confirmed does not count.
    r.failed = std::max(r.failed, o.connections - h.subscribed);
    if (r.first_error.empty())
      r.first_error = !h.first_error.empty() ? h.first_error
                      : o.sio             ? "Socket.IO CONNECT replies missing"
                                          : "subscribe replies missing";
  }
  r.elapsed_s = static_cast<double>(rep.elapsed_ns) / 1e9;
  r.handshakes_per_s = r.elapsed_s > 0 ? static_cast<double>(r.opened) / r.elapsed_s : 0;
  r.gen_cpu_percent =
      r.elapsed_s > 0 ? static_cast<double>(self1 - self0) / 1e7 / r.elapsed_s : 0;

  // Let the server finish whatever follows a handshake (it may free parse buffers) before
  // reading its RSS; server-initiated closes during the wait are counted.
  std::size_t failures_before = pool.failures();
  auto wait = [&](double seconds) {
    std::uint64_t end = now_ns() + static_cast<std::uint64_t>(seconds * 1e9);
    for (std::uint64_t now = now_ns(); now < end; now = now_ns()) pool.poll(end - now);
  };
  wait(o.settle_seconds);
  if (o.server_pid) {
    auto srv1 = sample_process(o.server_pid);
    if (srv0 && srv1 && srv_cpu && r.opened) {
      double n = static_cast<double>(r.opened);
      r.server_cpu_us_per_handshake = static_cast<double>(srv_cpu->cpu_ns - srv0->cpu_ns) / 1e3 / n;
      r.server_rss_before = srv0->rss_bytes;
      r.server_rss_after = srv1->rss_bytes;
      r.server_rss_bytes_per_conn =
          (static_cast<double>(srv1->rss_bytes) - static_cast<double>(srv0->rss_bytes)) / n;
    }
  }
  if (o.hold_seconds > 0) wait(o.hold_seconds);
  r.dropped_while_idle = pool.failures() - failures_before;
  if (r.first_error.empty()) r.first_error = h.first_error;
  return r;
}

void print_connections_report(const connections_options& o, const connections_report& r) {
  std::fprintf(stderr,
               "connections: %zu + %zu measured open, %zu failed, %.3f s, %.0f handshakes/s, "
               "generator CPU %.0f%%",
               o.connections - r.measured, r.opened, r.failed, r.elapsed_s, r.handshakes_per_s,
               r.gen_cpu_percent);
  if (r.server_rss_bytes_per_conn >= 0)
    std::fprintf(stderr, ", server %.2f us CPU/handshake, RSS %.1f MB -> %.1f MB = %.0f B/conn",
                 r.server_cpu_us_per_handshake, static_cast<double>(r.server_rss_before) / 1e6,
                 static_cast<double>(r.server_rss_after) / 1e6, r.server_rss_bytes_per_conn);
  if (o.sio)
    std::fprintf(stderr, ", %zu Socket.IO sockets connected", r.subscribed);
  else if (!o.subscribe.empty())
    std::fprintf(stderr, ", %zu subscribed to %s", r.subscribed, o.subscribe.c_str());
  if (r.dropped_while_idle) std::fprintf(stderr, ", %zu dropped while idle", r.dropped_while_idle);
  if (!r.first_error.empty()) std::fprintf(stderr, " (first error: %s)", r.first_error.c_str());
  std::fprintf(stderr, "\n");
  std::printf(
      "{\"scenario\":\"connections\",\"dialect\":\"%s\",\"connections\":%zu,"
      "\"measured\":%zu,\"opened\":%zu,\"failed\":%zu,"
      "\"elapsed_s\":%.4f,\"handshakes_per_s\":%.1f,\"gen_cpu_percent\":%.1f,"
      "\"server_cpu_us_per_handshake\":%.3f,\"server_rss_bytes_per_conn\":%.1f,"
      "\"server_rss_before\":%llu,\"server_rss_after\":%llu,\"dropped_while_idle\":%zu,"
      "\"subscribe\":\"%s\",\"subscribed\":%zu,\"first_error\":\"%s\"}\n",
      o.sio ? "socketio" : "websocket", o.connections, r.measured, r.opened, r.failed,
      r.elapsed_s, r.handshakes_per_s, r.gen_cpu_percent,
      r.server_cpu_us_per_handshake, r.server_rss_bytes_per_conn,
      static_cast<unsigned long long>(r.server_rss_before),
      static_cast<unsigned long long>(r.server_rss_after), r.dropped_while_idle,
      o.subscribe.c_str(), r.subscribed, json_escape(r.first_error).c_str());
  std::fflush(stdout);
}

}  // namespace duplex::bench
