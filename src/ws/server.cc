// duplex::server (include/duplex/server.h): N loop threads, each with its own SO_REUSEPORT
// listener, its own copy of the routing table and its own counters, so that no lock is taken
// per request or per message. Graceful stop runs on the thread that called run().
#include "duplex/server.h"

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "http/server_connection.h"
#include "http/static_files.h"
#include "net/listener.h"
#include "net/loop_group.h"
#include "net/tls.h"
#include "ws/connection.h"

namespace duplex {

namespace {

// Handshake of one WebSocket endpoint: validate, answer 101 or the error, hand the stream to a
// ws::connection.
class websocket_route final : public http::route_target {
 public:
  websocket_route(const ws::endpoint_config& cfg, ws::connection_home& home)
      : cfg_(cfg), home_(home) {}

  result handle(const http::request_head& req, std::string_view, net::stream& s,
                std::string& out) override {
    ws::upgrade_result r = ws::validate_upgrade(req, cfg_.handshake);
    if (!r.ok()) {
      spdlog::debug("websocket handshake refused ({}): {}", s.remote_address(), ws::name_of(r.err));
      out = ws::format_reject_response(r.err);
      return {result::kind::reply_and_close};
    }
    s.write(ws::format_accept_response(r.accepted));
    auto* c = ws::connection::accept(s, cfg_, home_, r.accepted, req.target);
    c->start();
    return {result::kind::upgraded, c};
  }

 private:
  const ws::endpoint_config& cfg_;
  ws::connection_home& home_;
};

class static_route final : public http::route_target {
 public:
  static_route(const http::static_files& files, http::server_context& ctx)
      : files_(files), ctx_(ctx) {}
  result handle(const http::request_head& req, std::string_view rest, net::stream&,
                std::string& out) override {
    files_.serve(req, rest, out, ctx_.date());
    return {result::kind::reply};
  }

 private:
  const http::static_files& files_;
  http::server_context& ctx_;
};

class get_route final : public http::route_target {
 public:
  get_route(const std::function<http_reply(std::string_view)>& fn, http::server_context& ctx)
      : fn_(fn), ctx_(ctx) {}
  result handle(const http::request_head& req, std::string_view, net::stream&,
                std::string& out) override {
    http_reply r = fn_(req.target);
    http::response_writer w(out);
    w.status(r.status);
    w.header("Date", ctx_.date());
    w.header("Content-Type", r.content_type);
    if (req.verb == http::method::head) w.body_length(r.body.size());
    else w.body(r.body);
    return {result::kind::reply};
  }

 private:
  const std::function<http_reply(std::string_view)>& fn_;
  http::server_context& ctx_;
};

}  // namespace

struct server::impl {
  struct ws_endpoint {
    std::string path;
    ws::endpoint_config cfg;
  };
  struct static_mount {
    std::string prefix;
    std::unique_ptr<http::static_files> files;
  };
  struct get_endpoint {
    std::string path;
    std::function<http_reply(std::string_view)> fn;
  };
  // Everything one loop thread owns.
  struct loop_state {
    http::site site;
    std::unique_ptr<http::server_context> http;
    std::vector<std::unique_ptr<http::route_target>> targets;
    ws::connection_home ws;  // counters and live connections
    net::listener_ptr listener;
  };

  server_options options;
  std::vector<std::unique_ptr<ws_endpoint>> ws_endpoints;
  std::vector<static_mount> mounts;
  std::vector<std::unique_ptr<get_endpoint>> gets;
  ws_endpoint* any_path = nullptr;  // websocket("*"): every path not routed otherwise

  std::unique_ptr<net::tls_context> tls;
  std::unique_ptr<net::loop_group> group;
  std::vector<std::unique_ptr<loop_state>> loops;
  std::uint16_t port = 0;

  std::mutex mu;
  std::condition_variable cv;
  bool stop_requested = false;
  bool running = false;

  void build_site(loop_state& st);
  void init_loop(net::loop& l, std::size_t index, std::error_code& ec);
  void graceful_stop();
};

void server::impl::build_site(loop_state& st) {
  st.site.limits.max_request_line = options.max_request_line;
  st.site.limits.max_header_bytes = options.max_header_bytes;
  st.site.limits.max_headers = options.max_headers;
  st.site.limits.max_body = options.max_body;
  st.site.request_timeout = options.request_timeout;
  st.site.keepalive_timeout = options.keepalive_timeout;
  st.http = std::make_unique<http::server_context>(st.site);
  auto add_target = [&](std::unique_ptr<http::route_target> t) {
    st.targets.push_back(std::move(t));
    st.site.targets.push_back(st.targets.back().get());
    return static_cast<http::router::handler_id>(st.site.targets.size() - 1);
  };
  for (auto& ep : ws_endpoints) {
    auto id = add_target(std::make_unique<websocket_route>(ep->cfg, st.ws));
    if (ep.get() == any_path) st.site.routes.add_prefix(http::method::get, "/", id);
    else st.site.routes.add(http::method::get, ep->path, id);
  }
  for (auto& g : gets) {
    auto id = add_target(std::make_unique<get_route>(g->fn, *st.http));
    st.site.routes.add(http::method::get, g->path, id);
  }
  for (auto& m : mounts) {
    auto id = add_target(std::make_unique<static_route>(*m.files, *st.http));
    st.site.routes.add_prefix(http::method::get, m.prefix, id);
  }
}

void server::impl::init_loop(net::loop& l, std::size_t index, std::error_code& ec) {
  auto& st = *loops[index];
  net::listen_options lo;
  lo.tls = tls.get();
  http::server_context* ctx = st.http.get();
  st.listener = net::listener::open(
      l, options.host, index == 0 ? options.port : port,
      [ctx](net::stream& s) { ctx->accept(s); }, ec, lo);
  if (st.listener && index == 0) port = st.listener->port();
}

void server::impl::graceful_stop() {
  auto close_timeout = std::chrono::milliseconds(1000);
  for (auto& ep : ws_endpoints) close_timeout = std::max(close_timeout, ep->cfg.options.close_timeout);
  std::mutex done_mu;
  std::condition_variable done_cv;
  std::size_t pending = loops.size();
  for (std::size_t i = 0; i < loops.size(); ++i) {
    loop_state* st = loops[i].get();
    net::loop* l = &group->at(i);
    l->post([st, l, &done_mu, &done_cv, &pending] {
      if (st->listener) st->listener->close();
      st->http->close_all();
      st->ws.list.for_each(
          [](ws::connection& c) { c.go_away(1001, "server shutting down"); });
      // Report when this loop has no stream left (checked each millisecond, bounded by the
      // caller's wait).
      auto check = std::make_shared<std::function<void()>>();
      *check = [l, check, &done_mu, &done_cv, &pending] {
        if (l->stream_count() == 0) {
          std::lock_guard lk(done_mu);
          --pending;
          done_cv.notify_all();
          *check = nullptr;  // breaks the self-reference
          return;
        }
        l->run_after(std::chrono::milliseconds(1), [check] { if (*check) (*check)(); });
      };
      (*check)();
    });
  }
  std::unique_lock lk(done_mu);
  done_cv.wait_for(lk, close_timeout + std::chrono::milliseconds(500), [&] { return pending == 0; });
  lk.unlock();
  group->stop();  // joins the threads; the posted checks cannot run any more
}

server::server(server_options options) : impl_(std::make_unique<impl>()) {
  impl_->options = std::move(options);
}

server::~server() {
  stop();
  if (impl_->group) impl_->group->stop();
}

server& server::websocket(std::string path, websocket_options options, websocket_handlers handlers) {
  auto ep = std::make_unique<impl::ws_endpoint>();
  ep->path = std::move(path);
  ep->cfg.path = ep->path;
  ep->cfg.options = std::move(options);
  ep->cfg.handlers = std::move(handlers);
  ep->cfg.handshake.subprotocols = ep->cfg.options.subprotocols;
  ep->cfg.handshake.allowed_origins = ep->cfg.options.allowed_origins;
  ep->cfg.handshake.deflate.enabled = ep->cfg.options.permessage_deflate;
  if (ep->path == "*") impl_->any_path = ep.get();
  impl_->ws_endpoints.push_back(std::move(ep));
  return *this;
}

server& server::static_files(std::string prefix, std::string root) {
  if (prefix.empty() || prefix.back() != '/') prefix += '/';
  impl_->mounts.push_back({std::move(prefix), std::make_unique<http::static_files>(root)});
  return *this;
}

server& server::get(std::string path, std::function<http_reply(std::string_view)> handler) {
  impl_->gets.push_back(std::make_unique<impl::get_endpoint>(
      impl::get_endpoint{std::move(path), std::move(handler)}));
  return *this;
}

std::error_code server::listen() {
  auto& d = *impl_;
  std::error_code ec;
  if (!d.options.tls_cert_file.empty() || !d.options.tls_key_file.empty()) {
    d.tls = net::tls_context::server(d.options.tls_cert_file, d.options.tls_key_file, ec);
    if (ec) return ec;
  }
  unsigned threads = d.options.threads ? d.options.threads : std::max(1u, std::thread::hardware_concurrency());
  d.group = std::make_unique<net::loop_group>(threads);
  for (unsigned i = 0; i < threads; ++i) {
    d.loops.push_back(std::make_unique<impl::loop_state>());
    d.build_site(*d.loops.back());
  }
  std::vector<std::error_code> errors(threads);
  d.group->start([&](net::loop& l, std::size_t i) {
    if (i == 0 || !errors[0]) d.init_loop(l, i, errors[i]);
  });
  for (auto& e : errors) {
    if (e) {
      d.group->stop();
      return e;
    }
  }
  std::lock_guard lk(d.mu);
  d.running = true;
  return {};
}

std::uint16_t server::port() const { return impl_->port; }

void server::run() {
  auto& d = *impl_;
  {
    std::unique_lock lk(d.mu);
    if (!d.running) return;
    d.cv.wait(lk, [&] { return d.stop_requested; });
  }
  d.graceful_stop();
  std::lock_guard lk(d.mu);
  d.running = false;
}

void server::stop() {
  std::lock_guard lk(impl_->mu);
  impl_->stop_requested = true;
  impl_->cv.notify_all();
}

server_stats server::stats() const {
  server_stats s;
  for (auto& st : impl_->loops) {
    s.connections += st->ws.counters.opened;
    s.ws.messages_in += st->ws.counters.ws.messages_in;
    s.ws.messages_out += st->ws.counters.ws.messages_out;
    s.ws.compressed_frames_in += st->ws.counters.ws.compressed_frames_in;
    s.ws.compressed_frames_out += st->ws.counters.ws.compressed_frames_out;
    s.ws.backpressure_drops += st->ws.counters.ws.backpressure_drops;
    s.ws.backpressure_closes += st->ws.counters.ws.backpressure_closes;
  }
  return s;
}

}  // namespace duplex
