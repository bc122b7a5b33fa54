#include "fanout_scenario.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "hs256_token.h"
#include "latency_histogram.h"
#include "proc_sampler.h"
#include "sio_session.h"

namespace duplex::bench {
namespace {

std::uint64_t seconds_ns(double s) { return static_cast<std::uint64_t>(s * 1e9); }

// Connection 0 is the publisher; connection i >= 1 is subscriber i - 1, on channel (i - 1) % K.
class fanout_driver final : public connection_handler {
 public:
  explicit fanout_driver(const fanout_options& o)
      : o_(o), channels_(std::max<std::size_t>(o.channels, 1)), names_(channels_),
        subs_in_(channels_), published_(channels_), next_seq_(o.subscribers + 1),
        stream_ready_(o.transport == sub_transport::ws ? 0 : o.subscribers + 1) {
    for (std::size_t k = 0; k < channels_; ++k)
      names_[k] = channels_ == 1 ? o.channel_prefix : o.channel_prefix + std::to_string(k);
    for (std::size_t j = 0; j < o.subscribers; ++j) ++subs_in_[j % channels_];
    const std::uint64_t w = std::max<std::uint32_t>(o.window, 1);
    in_flight_ = o.in_flight ? o.in_flight : w * channels_;
    max_lag_ = o.max_lag ? o.max_lag : w * o.subscribers;
  }

  void attach(client_pool& pool) { pool_ = &pool; }
  const std::string& channel_name(std::size_t k) const { return names_[k]; }
  std::size_t channel_of(std::uint32_t index) const { return (index - 1) % channels_; }

  void on_open(client_connection& c) override {
    if (o_.proto == dialect::socketio) return;  // the server speaks first (Engine.IO open)
    if (o_.proto == dialect::raw) {  // the URL names the channel; the peer says when subscribed
      if (c.index() == 0) publisher_ready_ = true;
      return;
    }
    if (c.index() != 0 && o_.transport != sub_transport::ws) return;  // streams send nothing
    scratch_.clear();
    append_connect_command(scratch_);
    c.queue_text(scratch_);
    if (c.index() != 0) {
      scratch_.clear();
      append_subscribe_command(scratch_, names_[channel_of(c.index())]);
      c.queue_text(scratch_);
    }
    c.flush(pool_->events());
  }

  void on_echo(client_connection&, std::uint64_t) override {}

  void on_failed(client_connection& c, const char* why) override {
    if (first_error_.empty())
      first_error_ = std::string(c.index() == 0 ? "publisher: " : "subscriber: ") + why;
    if (c.index() == 0) publisher_failed_ = true;
  }

  void on_message(client_connection& c, std::string_view text, std::uint64_t) override {
    const std::uint64_t now = now_ns();  // per message: the poll's batch time is too coarse
    if (o_.proto == dialect::socketio) return on_sio_message(c, text, now);
    bool ping = false;
    for_each_line(text, [&](std::string_view line) {
      line_info li = classify_line(line);
      switch (li.what) {
        case line_info::kind::publication:
          on_publication(c.index(), li, now);
          break;
        case line_info::kind::ping:
          ping = true;
          break;
        case line_info::kind::reply:
          on_reply(c.index(), li.id, now);
          break;
        case line_info::kind::error_reply:
          on_error_reply(c.index(), li.id, line);
          break;
        case line_info::kind::subscribed:  // streams only (classify_line never says so)
        case line_info::kind::other:
          ++other_lines_;
          break;
      }
    });
    if (ping) {  // the Centrifugo protocol's application-level pong
      c.queue_text("{}");
      c.flush(pool_->events());
    }
  }

  // An event of a streaming subscriber (sse or http_stream).
  void on_stream_event(client_connection& c, std::string_view name, std::string_view data,
                       std::uint64_t) override {
    const std::uint64_t now = now_ns();
    const bool sse = o_.transport == sub_transport::sse;
    const line_info li = sse ? classify_sse_event(name, data) : classify_uni_line(data);
    switch (li.what) {
      case line_info::kind::publication:
        // SSE names the channel twice (event type and "c"): both must agree.
        if (sse && li.channel < channels_ && name != names_[li.channel]) {
          ++misrouted_;
          break;
        }
        on_publication(c.index(), li, now);
        break;
      case line_info::kind::subscribed:
        on_stream_subscribed(c.index(), data, now);
        break;
      case line_info::kind::ping:  // uni streams: the server's {} (no pong expected)
        break;
      case line_info::kind::error_reply:
        on_error_reply(c.index(), 0, std::string(name) + " " + std::string(data));
        break;
      case line_info::kind::reply:
      case line_info::kind::other:
        ++other_lines_;
        break;
    }
  }

  // Deliveries neither received nor found lost yet.
  double lag() const noexcept {
    return static_cast<double>(expected_) - static_cast<double>(delivered_ + lost_);
  }

  // Sends what flow control and (at a fixed rate) the schedule allow.
  void pump(std::uint64_t now) {
    if (!sending_ || !publisher_ready_ || publisher_failed_) return;
    auto& pub = *pool_->connections()[0];
    if (pub.current() != client_connection::state::open) return;
    bool queued = false;
    if (o_.rate == 0) {
      while (can_publish()) {
        publish(pub, now);
        queued = true;
      }
    } else {
      auto due = static_cast<std::uint64_t>(static_cast<double>(now - start_) * o_.rate / 1e9);
      while (offered_ < due) {
        if (!can_publish()) {  // the system is behind the offered rate
          if (measuring_) skipped_ += due - offered_;
          offered_ = due;
          break;
        }
        publish(pub, now);
        ++offered_;
        queued = true;
      }
    }
    if (queued) pub.flush(pool_->events());
  }

  std::uint64_t next_due_ns() const {
    return start_ + static_cast<std::uint64_t>(static_cast<double>(offered_ + 1) * 1e9 / o_.rate);
  }

  // After the drain: what each subscriber still misses is lost.
  void count_tail_losses() {
    for (std::uint32_t i = 1; i <= o_.subscribers; ++i) {
      std::uint64_t want = published_[channel_of(i)];
      if (next_seq_[i] < want) lost_ += want - next_seq_[i];
    }
  }

  const fanout_options& o_;
  client_pool* pool_ = nullptr;
  std::size_t channels_;
  std::vector<std::string> names_;
  std::vector<std::uint64_t> subs_in_;    // subscribers per channel
  std::vector<std::uint64_t> published_;  // publications sent per channel
  std::vector<std::uint64_t> next_seq_;   // per connection index: next sequence expected
  std::vector<std::uint8_t> stream_ready_;  // streams, per connection index: subscribed
  std::uint64_t in_flight_ = 0, max_lag_ = 0;
  latency_histogram hist_;
  std::string scratch_, data_;

  bool publisher_ready_ = false, publisher_failed_ = false;
  bool sending_ = false, measuring_ = false;
  std::size_t ready_ = 0, setup_errors_ = 0;
  std::uint64_t last_ready_ns_ = 0;
  std::uint64_t start_ = 0, epoch_ = now_ns();
  std::uint64_t offered_ = 0, skipped_ = 0, pub_cursor_ = 0, next_id_ = first_publish_id;
  std::uint64_t outstanding_ = 0;  // publish commands without a reply
  std::uint64_t expected_ = 0, delivered_ = 0, lost_ = 0, reordered_ = 0, misrouted_ = 0;
  std::uint64_t publish_errors_ = 0, other_lines_ = 0, total_published_ = 0;
  std::uint64_t window_pubs_ = 0, window_deliveries_ = 0;
  std::string first_error_;

 private:
  bool can_publish() const noexcept {
    return outstanding_ < in_flight_ &&
           lag() + static_cast<double>(subs_in_[pub_cursor_ % channels_]) <=
               static_cast<double>(max_lag_);
  }

  void publish(client_connection& pub, std::uint64_t now) {
    const std::size_t ch = pub_cursor_++ % channels_;
    const bool sio = o_.proto == dialect::socketio;
    data_.clear();
    append_bench_data(data_, static_cast<std::uint32_t>(ch), published_[ch]++, now - epoch_,
                      o_.size, sio ? 'x' : 'p');
    scratch_.clear();
    if (sio)
      append_sio_to_room(scratch_, next_id_++, names_[ch], data_);
    else
      append_publish_command(scratch_, o_.proto, next_id_++, names_[ch], data_);
    pub.queue_text(scratch_);
    ++outstanding_;
    ++total_published_;
    expected_ += subs_in_[ch];
    if (measuring_) ++window_pubs_;
  }

  // Socket.IO: the handshake and pings (sio_session), join and publish acks, room-msg events.
  void on_sio_message(client_connection& c, std::string_view text, std::uint64_t now) {
    const sio_info info = sio_on_message(c, text, pool_->events());
    const std::uint32_t index = c.index();
    switch (info.what) {
      case sio_info::kind::open:
      case sio_info::kind::ping:
      case sio_info::kind::noop:
        return;
      case sio_info::kind::connected:
        if (index == 0) {
          publisher_ready_ = true;
          return;
        }
        scratch_.clear();
        scratch_ += ",\"";
        scratch_ += names_[channel_of(index)];
        scratch_ += '"';
        data_.clear();
        append_sio_emit(data_, subscribe_id, "join", scratch_);
        c.queue_text(data_);
        c.flush(pool_->events());
        return;
      case sio_info::kind::ack:
        // Both handlers ack with true: anything else is a refusal.
        if (info.rest != "[true]") return on_error_reply(index, info.id, text);
        if (index == 0 && info.id < first_publish_id) break;  // the publisher asked nothing else
        return on_reply(index, info.id, now);
      case sio_info::kind::event: {
        line_info li;
        const std::string_view room = parse_room_msg(info, li);
        if (room.empty()) break;
        if (index == 0 || li.channel >= channels_ || room != names_[li.channel]) {
          ++misrouted_;
          return;
        }
        return on_publication(index, li, now);
      }
      case sio_info::kind::close:
      case sio_info::kind::disconnect:
      case sio_info::kind::connect_error:
        return on_error_reply(index, 0, text);
      case sio_info::kind::other:
        break;
    }
    ++other_lines_;
  }

  void on_publication(std::uint32_t index, const line_info& li, std::uint64_t now) {
    if (index == 0 || li.channel != channel_of(index)) {
      ++misrouted_;
      return;
    }
    std::uint64_t& next = next_seq_[index];
    if (li.seq < next) {
      ++reordered_;
      return;
    }
    if (li.seq > next) lost_ += li.seq - next;
    next = li.seq + 1;
    ++delivered_;
    if (measuring_) {
      const std::uint64_t sent = epoch_ + li.sent_ns;
      hist_.record(now > sent ? now - sent : 0);
      ++window_deliveries_;
    }
  }

  void on_reply(std::uint32_t index, std::uint64_t id, std::uint64_t now) {
    if (index == 0) {
      if (id == connect_id) publisher_ready_ = true;
      else if (id >= first_publish_id && outstanding_ > 0) --outstanding_;
      return;
    }
    if (id == subscribe_id) {
      ++ready_;
      last_ready_ns_ = now;
    }
  }

  // The stream's subscription is live: sse {"channel":"C",...}; http_stream the connect push,
  // whose "subs" must hold C (a failed server-side subscription is left out of it).
  void on_stream_subscribed(std::uint32_t index, std::string_view data, std::uint64_t now) {
    const std::string& name = names_[channel_of(index)];
    bool ok = false;
    if (o_.transport == sub_transport::sse) {
      ok = data.find("\"channel\":\"" + name + "\"") != std::string_view::npos;
    } else if (auto subs = data.find(R"("subs":{)"); subs != std::string_view::npos) {
      ok = data.find("\"" + name + "\":{", subs) != std::string_view::npos;
    }
    if (!ok || stream_ready_[index]) {
      ++setup_errors_;
      if (first_error_.empty())
        first_error_ = (ok ? "subscribed twice: " : "not subscribed to " + name + ": ") +
                       std::string(data.substr(0, 160));
      return;
    }
    stream_ready_[index] = 1;
    ++ready_;
    last_ready_ns_ = now;
  }

  void on_error_reply(std::uint32_t index, std::uint64_t id, std::string_view line) {
    if (index == 0 && id >= first_publish_id) {
      ++publish_errors_;
      if (outstanding_ > 0) --outstanding_;
    } else {
      ++setup_errors_;
    }
    if (first_error_.empty())
      first_error_ = "error reply: " + std::string(line.substr(0, 160));
  }
};

}  // namespace

fanout_report run_fanout(const fanout_options& o) {
  fanout_report r;
  fanout_driver d(o);
  pool_options po = o.pool;
  po.mode = receive_mode::messages;
  if (o.proto == dialect::raw) {
    po.path_of = [&d](std::uint32_t index) -> std::string {
      if (index == 0) return "/pub";
      return "/sub?channel=" + d.channel_name(d.channel_of(index));
    };
  }
  std::vector<std::string> tokens;  // http_stream: one per channel
  if (o.proto == dialect::centrifuge && o.transport != sub_transport::ws) {
    const bool sse = o.transport == sub_transport::sse;
    po.http_format = sse ? stream_format::sse : stream_format::ndjson;
    if (!sse) {
      const auto exp = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count() +
                       3600;
      for (std::size_t k = 0; k < d.channels_; ++k)
        tokens.push_back(make_hs256_token(o.hmac_secret, o.token_user, d.channel_name(k), exp));
    }
    po.http_request_of = [&d, &o, &tokens, sse,
                          host = po.host + ":" + std::to_string(po.port)](std::uint32_t index) {
      std::string req;
      if (index == 0) return req;  // the publisher: WebSocket
      const std::size_t k = d.channel_of(index);
      if (sse)
        append_sse_request(req, host, o.sse_path, d.channel_name(k));
      else
        append_uni_stream_request(req, host, o.uni_stream_path, tokens[k]);
      return req;
    };
  }
  client_pool pool(po, d);
  d.attach(pool);
  r.in_flight = d.in_flight_;
  r.max_lag = d.max_lag_;
  r.offered_rate = o.rate;

  auto fail = [&](std::string why) {
    r.failures = std::max<std::size_t>(pool.failures(), 1);
    r.first_error = d.first_error_.empty() ? std::move(why) : why + " (" + d.first_error_ + ")";
    return r;
  };

  // Publisher first (connection 0), then the subscribers.
  const std::uint64_t setup_start = now_ns();
  if (auto p = pool.open(1, 1, seconds_ns(10)); p.failed)
    return fail("publisher did not connect: " + p.first_error);
  if (auto s = pool.open(o.subscribers, o.concurrency, seconds_ns(120)); s.failed)
    return fail(std::to_string(s.failed) + " subscriber connections failed: " + s.first_error);
  const std::uint64_t ready_deadline = now_ns() + seconds_ns(60);
  while ((d.ready_ < o.subscribers || !d.publisher_ready_) && d.setup_errors_ == 0 &&
         pool.failures() == 0 && now_ns() < ready_deadline)
    pool.poll(10'000'000);
  r.subscribers_ready = d.ready_;
  r.setup_s = static_cast<double>(std::max(d.last_ready_ns_, setup_start) - setup_start) / 1e9;
  if (d.ready_ < o.subscribers || !d.publisher_ready_)
    return fail(std::to_string(d.ready_) + " of " + std::to_string(o.subscribers) +
                " subscribed" + (d.publisher_ready_ ? "" : ", publisher not connected"));
  // Whatever arrived during setup (join pushes of the default namespace...) is not ours.
  d.other_lines_ = 0;

  d.sending_ = true;
  d.start_ = now_ns();
  const std::uint64_t window_start = d.start_ + seconds_ns(o.warmup_seconds);
  const std::uint64_t window_end = window_start + seconds_ns(o.seconds);
  std::uint64_t self0 = 0, t0 = 0;
  std::optional<process_sample> srv0;
  std::vector<std::optional<process_sample>> also0(o.also_pids.size());
  for (;;) {
    std::uint64_t now = now_ns();
    if (!d.measuring_ && now >= window_start && now < window_end) {
      if (o.server_pid) srv0 = sample_process(o.server_pid);
      for (std::size_t i = 0; i < o.also_pids.size(); ++i)
        also0[i] = sample_process(o.also_pids[i]);
      self0 = self_cpu_ns();
      t0 = now_ns();
      d.measuring_ = true;
    }
    if (now >= window_end) break;
    if (d.publisher_failed_ || pool.failures() >= o.subscribers) break;
    d.pump(now);
    std::uint64_t timeout = std::min<std::uint64_t>(
        (d.measuring_ ? window_end : window_start) - now, 10'000'000);
    if (o.rate > 0) {
      std::uint64_t next = d.next_due_ns();
      timeout = std::min(timeout, std::max(next > now ? next - now : 0, o.tick_ns));
    }
    pool.poll(timeout);
  }
  const std::uint64_t t1 = now_ns();
  std::optional<process_sample> srv1;
  if (o.server_pid) srv1 = sample_process(o.server_pid);
  std::vector<std::optional<process_sample>> also1(o.also_pids.size());
  for (std::size_t i = 0; i < o.also_pids.size(); ++i) also1[i] = sample_process(o.also_pids[i]);
  const std::uint64_t self1 = self_cpu_ns();
  d.measuring_ = false;
  d.sending_ = false;

  // Let the last publications arrive (a server behind the offered rate has up to a window of
  // them queued: wait while deliveries keep coming), then count what never did.
  {
    const std::uint64_t hard_end = now_ns() + seconds_ns(60);
    std::uint64_t seen = d.delivered_ + d.lost_, last_progress = now_ns();
    for (std::uint64_t now = last_progress;
         d.lag() > 0 && now - last_progress < seconds_ns(o.drain_seconds) && now < hard_end;
         now = now_ns()) {
      pool.poll(10'000'000);
      if (d.delivered_ + d.lost_ != seen) {
        seen = d.delivered_ + d.lost_;
        last_progress = now_ns();
      }
    }
  }
  d.count_tail_losses();

  r.window_s = static_cast<double>(t1 - t0) / 1e9;
  r.publications = d.window_pubs_;
  r.deliveries = d.window_deliveries_;
  if (r.window_s > 0) {
    r.pubs_per_s = static_cast<double>(r.publications) / r.window_s;
    r.deliveries_per_s = static_cast<double>(r.deliveries) / r.window_s;
    r.gen_cpu_percent = static_cast<double>(self1 - self0) / 1e7 / r.window_s;
  }
  r.p50_us = static_cast<double>(d.hist_.quantile(0.50)) / 1e3;
  r.p99_us = static_cast<double>(d.hist_.quantile(0.99)) / 1e3;
  r.p999_us = static_cast<double>(d.hist_.quantile(0.999)) / 1e3;
  r.skipped = d.skipped_;
  r.lost = d.lost_;
  r.reordered = d.reordered_;
  r.misrouted = d.misrouted_;
  r.publish_errors = d.publish_errors_;
  r.other_lines = d.other_lines_;
  r.total_published = d.total_published_;
  r.total_delivered = d.delivered_;
  for (const auto& c : pool.connections()) {
    if (const stream_reader* s = c->stream()) {
      r.heartbeats += s->heartbeats();
      r.ignored_fields += s->ignored_fields();
    }
  }
  if (srv0 && srv1) {
    const double cpu = static_cast<double>(srv1->cpu_ns - srv0->cpu_ns);
    if (r.deliveries) {
      const double n = static_cast<double>(r.deliveries);
      r.server_cpu_us_per_delivery = cpu / 1e3 / n;
      r.server_stat_cpu_us_per_delivery =
          static_cast<double>(srv1->stat_cpu_ns - srv0->stat_cpu_ns) / 1e3 / n;
    }
    if (r.window_s > 0) r.server_cpu_percent = cpu / 1e7 / r.window_s;
    r.server_rss_bytes = srv1->rss_bytes;
  }
  for (std::size_t i = 0; i < o.also_pids.size(); ++i) {
    process_figures f;
    f.pid = o.also_pids[i];
    if (also0[i] && also1[i]) {
      const double cpu = static_cast<double>(also1[i]->cpu_ns - also0[i]->cpu_ns);
      if (r.deliveries) f.cpu_us_per_delivery = cpu / 1e3 / static_cast<double>(r.deliveries);
      if (r.window_s > 0) f.cpu_percent = cpu / 1e7 / r.window_s;
      f.rss_bytes = also1[i]->rss_bytes;
    }
    r.also.push_back(f);
  }
  r.failures = pool.failures();
  r.first_error = d.first_error_;
  if (r.first_error.empty() && (r.lost || r.reordered || r.misrouted || r.publish_errors))
    r.first_error = "deliveries lost, reordered or misrouted, or publishes refused";
  return r;
}

void print_fanout_report(const fanout_options& o, const fanout_report& r) {
  const char* transport = o.proto == dialect::raw                      ? "raw"
                          : o.proto == dialect::socketio              ? "socketio"
                          : o.transport == sub_transport::sse         ? "sse"
                          : o.transport == sub_transport::http_stream ? "http_stream"
                                                                      : "ws";
  std::fprintf(stderr,
               "fanout: %zu %s subscribers on %zu channel(s), %zu-byte data, %s: setup %.2f s, "
               "%.0f pubs/s, %.0f deliveries/s, latency p50 %.1f us p99 %.1f us p99.9 %.1f us, "
               "generator CPU %.0f%%",
               r.subscribers_ready, transport, o.channels, o.size,
               o.rate > 0 ? "fixed rate" : "max rate",
               r.setup_s, r.pubs_per_s, r.deliveries_per_s, r.p50_us, r.p99_us, r.p999_us,
               r.gen_cpu_percent);
  if (r.server_cpu_us_per_delivery >= 0)
    std::fprintf(stderr, ", server CPU %.3f us/delivery (%.0f%% of a core), RSS %.1f MB",
                 r.server_cpu_us_per_delivery, r.server_cpu_percent,
                 static_cast<double>(r.server_rss_bytes) / 1e6);
  if (r.skipped)
    std::fprintf(stderr, ", %llu offered publications skipped (behind)",
                 static_cast<unsigned long long>(r.skipped));
  if (r.lost || r.reordered || r.misrouted)
    std::fprintf(stderr, ", LOST %llu, reordered %llu, misrouted %llu",
                 static_cast<unsigned long long>(r.lost),
                 static_cast<unsigned long long>(r.reordered),
                 static_cast<unsigned long long>(r.misrouted));
  if (r.publish_errors)
    std::fprintf(stderr, ", %llu publishes refused",
                 static_cast<unsigned long long>(r.publish_errors));
  if (r.failures) std::fprintf(stderr, ", %zu FAILED connections", r.failures);
  if (!r.first_error.empty()) std::fprintf(stderr, " (first error: %s)", r.first_error.c_str());
  std::fprintf(stderr, "\n");
  const std::string err = json_escape(r.first_error);  // it may quote a server reply
  std::string also = "[";
  for (const process_figures& f : r.also) {
    char item[200];
    std::snprintf(item, sizeof item,
                  "%s{\"pid\":%d,\"cpu_us_per_delivery\":%.4f,\"cpu_percent\":%.1f,"
                  "\"rss_bytes\":%llu}",
                  also.size() > 1 ? "," : "", static_cast<int>(f.pid), f.cpu_us_per_delivery,
                  f.cpu_percent, static_cast<unsigned long long>(f.rss_bytes));
    also += item;
  }
  also += ']';
  std::printf(
      "{\"scenario\":\"fanout\",\"dialect\":\"%s\",\"sub_transport\":\"%s\","
      "\"subscribers\":%zu,\"channels\":%zu,"
      "\"size\":%zu,\"offered_rate\":%.0f,\"window\":%u,\"in_flight\":%llu,\"max_lag\":%llu,"
      "\"subscribers_ready\":%zu,\"setup_s\":%.3f,\"window_s\":%.3f,\"publications\":%llu,"
      "\"deliveries\":%llu,\"pubs_per_s\":%.1f,\"deliveries_per_s\":%.1f,\"p50_us\":%.2f,"
      "\"p99_us\":%.2f,\"p999_us\":%.2f,\"skipped\":%llu,\"lost\":%llu,\"reordered\":%llu,"
      "\"misrouted\":%llu,\"publish_errors\":%llu,\"other_lines\":%llu,\"heartbeats\":%llu,"
      "\"ignored_fields\":%llu,"
      "\"total_published\":%llu,\"total_delivered\":%llu,\"gen_cpu_percent\":%.1f,"
      "\"server_cpu_us_per_delivery\":%.4f,\"server_stat_cpu_us_per_delivery\":%.4f,"
      "\"server_cpu_percent\":%.1f,\"server_rss_bytes\":%llu,\"also\":%s,\"failures\":%zu,"
      "\"first_error\":\"%s\"}\n",
      o.proto == dialect::raw        ? "raw"
      : o.proto == dialect::socketio ? "socketio"
                                     : "centrifuge",
      transport, o.subscribers, o.channels,
      o.size, o.rate,
      o.window, static_cast<unsigned long long>(r.in_flight),
      static_cast<unsigned long long>(r.max_lag), r.subscribers_ready, r.setup_s, r.window_s,
      static_cast<unsigned long long>(r.publications),
      static_cast<unsigned long long>(r.deliveries), r.pubs_per_s, r.deliveries_per_s, r.p50_us,
      r.p99_us, r.p999_us, static_cast<unsigned long long>(r.skipped),
      static_cast<unsigned long long>(r.lost), static_cast<unsigned long long>(r.reordered),
      static_cast<unsigned long long>(r.misrouted),
      static_cast<unsigned long long>(r.publish_errors),
      static_cast<unsigned long long>(r.other_lines),
      static_cast<unsigned long long>(r.heartbeats),
      static_cast<unsigned long long>(r.ignored_fields),
      static_cast<unsigned long long>(r.total_published),
      static_cast<unsigned long long>(r.total_delivered), r.gen_cpu_percent,
      r.server_cpu_us_per_delivery, r.server_stat_cpu_us_per_delivery, r.server_cpu_percent,
      static_cast<unsigned long long>(r.server_rss_bytes), also.c_str(), r.failures,
      err.c_str());
  std::fflush(stdout);
}

}  // namespace duplex::bench
