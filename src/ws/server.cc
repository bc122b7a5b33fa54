// duplex::server (include/duplex/server.h): N loop threads, each with its own SO_REUSEPORT
// listener, its own copy of the routing table and its own counters, so that no lock is taken
// per request or per message. Graceful stop runs on the thread that called run().
//
// prepare() starts the loops; listen() builds each loop's site and then opens the listeners,
// one loop after another (loop 0 first: it binds port 0 and the others reuse its port), each
// from a task on its own loop. HTTP routes (server::route) always answer through a deferred
// reply (http::reply_handle), whether the handler answers at once or later.
#include "duplex/server.h"

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <spdlog/spdlog.h>

#include "base/assert.h"
#include "base/executor.h"
#include "http/cors.h"
#include "http/method.h"
#include "http/server_connection.h"
#include "http/static_files.h"
#include "net/listener.h"
#include "net/loop_group.h"
#include "net/tls.h"
#include "ws/connection.h"

namespace duplex {

// What an http_request points to while its handler runs.
struct http_request::source {
  const http::request_head* head;
  net::stream* stream;
};

std::optional<std::string_view> http_request::header(std::string_view name) const {
  if (source_ == nullptr) return std::nullopt;
  return source_->head->fields.find(name);
}

std::string http_request::remote_address() const {
  return source_ == nullptr ? std::string() : source_->stream->remote_address();
}

// One pending reply: the connection's handle, plus what formatting the reply needs.
struct http_responder::state {
  http::reply_handle handle;
  http::server_context* ctx;  // loop-local; used only while `handle` is valid
  bool head_request;          // HEAD: the reply's body is left out
};

namespace {

// The loop index of the calling thread, set when a server's loop starts (SIZE_MAX elsewhere).
thread_local std::size_t t_loop_index = SIZE_MAX;

// The bytes of `r` as an HTTP/1.1 response (see http_reply in duplex/server.h).
std::string format_reply(const http_reply& r, std::string_view date, bool head_request) {
  std::string out;
  auto internal_error = [&] {
    out.clear();
    http::write_error_response(out, http::error::internal_error, date, {}, /*close=*/false);
    return std::move(out);
  };
  if (r.status < 200 || r.status > 599) return internal_error();  // 1xx are not final replies
  http::response_writer w(out);
  w.status(r.status);
  w.header("Date", date);
  if (!r.content_type.empty()) w.header("Content-Type", r.content_type);
  for (const auto& [name, value] : r.headers) {
    if (http::iequals(name, "Content-Length") || http::iequals(name, "Transfer-Encoding") ||
        http::iequals(name, "Connection") || http::iequals(name, "Date")) {
      continue;  // the framing and the connection are ours
    }
    w.header(name, value);
  }
  if (!w.ok()) return internal_error();
  if (r.status == 204 || r.status == 304) {
    w.end_head();  // RFC 9110 §8.6, §15.3.5, §15.4.5: no content (and 204 no Content-Length)
  } else if (head_request) {
    w.body_length(r.body.size());
  } else {
    w.body(r.body);
  }
  return out;
}

}  // namespace

void http_responder::operator()(http_reply reply) const {
  if (!state_ || !state_->handle.valid()) return;
  state_->handle.send(format_reply(reply, state_->ctx->date(), state_->head_request));
}

bool http_responder::valid() const { return state_ && state_->handle.valid(); }

namespace {

// Handshake of one WebSocket endpoint: validate, ask the endpoint's upgrade check, answer 101
// or the refusal, hand the stream to a ws::connection.
class websocket_route final : public http::route_target {
 public:
  websocket_route(const ws::endpoint_config& cfg, const server::upgrade_check& check,
                  ws::connection_home& home, http::server_context& ctx)
      : cfg_(cfg), check_(check), home_(home), ctx_(ctx) {}

  result handle(const http::request_head& req, std::string_view, std::string_view,
                net::stream& s, std::string& out, http::server_connection&) override {
    ws::upgrade_result r = ws::validate_upgrade(req, cfg_.handshake);
    if (!r.ok()) {
      spdlog::debug("websocket handshake refused ({}): {}", s.remote_address(), ws::name_of(r.err));
      out = ws::format_reject_response(r.err);
      return {result::kind::reply_and_close};
    }
    if (check_) {
      const http_request::source src{&req, &s};
      http_request hr;
      hr.method = req.method_text;
      hr.target = req.target;
      hr.path = req.path();
      hr.query = req.query();
      hr.source_ = &src;
      if (std::optional<http_reply> refusal = check_(hr)) {
        out = format_reply(*refusal, ctx_.date(), false);
        return {result::kind::reply_and_close};
      }
    }
    s.write_now(ws::format_accept_response(r.accepted));
    auto* c = ws::connection::accept(s, cfg_, home_, r.accepted, req.target);
    c->start();
    return {result::kind::upgraded, c};
  }

 private:
  const ws::endpoint_config& cfg_;
  const server::upgrade_check& check_;
  ws::connection_home& home_;
  http::server_context& ctx_;
};

// A WebSocket endpoint and a GET route at the same path (Engine.IO's /socket.io/ serves both
// long-polling and WebSocket): requests that ask for an upgrade go to the endpoint.
class upgrade_switch final : public http::route_target {
 public:
  upgrade_switch(http::route_target& ws, http::route_target& plain) : ws_(ws), plain_(plain) {}
  result handle(const http::request_head& req, std::string_view rest, std::string_view body,
                net::stream& s, std::string& out, http::server_connection& conn) override {
    const std::optional<std::string_view> upgrade = req.fields.find("Upgrade");
    http::route_target& t = upgrade && http::iequals(*upgrade, "websocket") ? ws_ : plain_;
    return t.handle(req, rest, body, s, out, conn);
  }

 private:
  http::route_target& ws_;
  http::route_target& plain_;
};

class static_route final : public http::route_target {
 public:
  static_route(const http::static_files& files, http::server_context& ctx)
      : files_(files), ctx_(ctx) {}
  result handle(const http::request_head& req, std::string_view rest, std::string_view,
                net::stream&, std::string& out, http::server_connection&) override {
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
  result handle(const http::request_head& req, std::string_view, std::string_view,
                net::stream&, std::string& out, http::server_connection&) override {
    out = format_reply(fn_(req.target), ctx_.date(), req.verb == http::method::head);
    return {result::kind::reply};
  }

 private:
  const std::function<http_reply(std::string_view)>& fn_;
  http::server_context& ctx_;
};

// server::route: the handler gets a view of the request and a responder backed by a deferred
// reply, so that answering now and answering later are the same path.
class http_route final : public http::route_target {
 public:
  using handler = std::function<void(const http_request&, http_responder)>;
  http_route(const handler& fn, http::server_context& ctx) : fn_(fn), ctx_(ctx) {}

  result handle(const http::request_head& req, std::string_view, std::string_view body,
                net::stream& s, std::string&, http::server_connection& conn) override {
    const http_request::source src{&req, &s};
    http_request r;
    r.method = req.method_text;
    r.target = req.target;
    r.path = req.path();
    r.query = req.query();
    r.body = body;
    r.source_ = &src;
    auto st = std::make_shared<http_responder::state>(
        http_responder::state{conn.defer(), &ctx_, req.verb == http::method::head});
    const http_responder respond(st);
    try {
      fn_(r, respond);
    } catch (const std::exception& e) {
      // A throwing handler must not take the loop down; if it had not answered yet, 500.
      spdlog::error("http handler for {} {} threw: {}", r.method, r.path, e.what());
      respond({.status = 500, .body = "internal server error\n"});
    } catch (...) {
      spdlog::error("http handler for {} {} threw", r.method, r.path);
      respond({.status = 500, .body = "internal server error\n"});
    }
    if (st.use_count() == 2 && st->handle.valid()) {
      // Only `st` and `respond` are left: the handler kept no copy, so nobody can answer.
      spdlog::error("http handler for {} {} returned without answering or keeping the responder",
                    r.method, r.path);
      respond({.status = 500, .body = "internal server error\n"});
    }
    return {result::kind::deferred};
  }

 private:
  const handler& fn_;
  http::server_context& ctx_;
};

// Runs fn on loop l and waits for it. Not from a loop thread of the same group.
template <class Fn>
void run_on(net::loop& l, Fn&& fn) {
  DUPLEX_ASSERT(!l.in_thread());
  std::promise<void> done;
  std::future<void> finished = done.get_future();
  l.post([&] {
    fn();
    done.set_value();
  });
  finished.wait();
}

}  // namespace

struct server::impl {
  struct ws_endpoint {
    std::string path;
    ws::endpoint_config cfg;
    upgrade_check check;
  };
  struct static_mount {
    std::string prefix;
    std::unique_ptr<http::static_files> files;
  };
  struct get_endpoint {
    std::string path;
    std::function<http_reply(std::string_view)> fn;
  };
  struct route_endpoint {
    http::method verb;
    std::string path;
    http_route::handler fn;
  };
  struct internal_endpoint {
    http::method verb;
    std::string path;
    target_factory make;
    bool prefix;
  };
  // Everything one loop thread owns. Made by prepare(); the site by listen().
  struct loop_state {
    std::size_t index = 0;
    http::site site;
    std::unique_ptr<http::server_context> http;
    std::vector<std::unique_ptr<http::route_target>> targets;
    // Counters and live connections, one per WebSocket endpoint (ws_endpoints' order), so that
    // stop() can close each endpoint's connections with that endpoint's shutdown code.
    std::vector<std::unique_ptr<ws::connection_home>> ws_homes;
    net::listener_ptr listener;
  };

  server_options options;
  std::vector<std::unique_ptr<ws_endpoint>> ws_endpoints;
  std::vector<static_mount> mounts;
  std::vector<std::unique_ptr<get_endpoint>> gets;
  std::vector<std::unique_ptr<route_endpoint>> routes;
  std::vector<internal_endpoint> internal_routes;
  std::vector<std::function<void()>> stop_callbacks;
  ws_endpoint* any_path = nullptr;  // websocket("*"): every path not routed otherwise

  std::unique_ptr<net::tls_context> tls;
  std::unique_ptr<net::loop_group> group;
  std::vector<std::unique_ptr<loop_state>> loops;
  std::uint16_t port = 0;

  std::mutex mu;
  std::condition_variable cv;
  bool stop_requested = false;
  bool running = false;
  bool listening = false;

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
  st.targets.clear();
  st.site.targets.clear();
  st.site.routes = http::router{};
  auto add_target = [&](std::unique_ptr<http::route_target> t) {
    st.targets.push_back(std::move(t));
    st.site.targets.push_back(st.targets.back().get());
    return static_cast<http::router::handler_id>(st.site.targets.size() - 1);
  };
  st.ws_homes.clear();
  // GET routes that share a WebSocket endpoint's path go behind an upgrade_switch.
  std::vector<std::pair<std::string_view, http::route_target*>> ws_targets;
  for (auto& ep : ws_endpoints) {
    st.ws_homes.push_back(std::make_unique<ws::connection_home>());
    auto target = std::make_unique<websocket_route>(ep->cfg, ep->check, *st.ws_homes.back(), *st.http);
    http::route_target* t = target.get();
    auto id = add_target(std::move(target));
    if (ep.get() == any_path) {
      st.site.routes.add_prefix(http::method::get, "/", id);
    } else {
      st.site.routes.add(http::method::get, ep->path, id);
      ws_targets.emplace_back(ep->path, t);
    }
  }
  auto add_exact = [&](http::method verb, const std::string& path, std::unique_ptr<http::route_target> t) {
    if (verb == http::method::get) {
      for (auto& [ws_path, ws_target] : ws_targets) {
        if (ws_path != path) continue;
        http::route_target* plain = t.get();
        add_target(std::move(t));
        t = std::make_unique<upgrade_switch>(*ws_target, *plain);
        break;
      }
    }
    st.site.routes.add(verb, path, add_target(std::move(t)));
  };
  for (auto& g : gets) add_exact(http::method::get, g->path, std::make_unique<get_route>(g->fn, *st.http));
  for (auto& r : routes) add_exact(r->verb, r->path, std::make_unique<http_route>(r->fn, *st.http));
  for (auto& r : internal_routes) {
    if (r.prefix) st.site.routes.add_prefix(r.verb, r.path, add_target(r.make(st.index)));
    else add_exact(r.verb, r.path, r.make(st.index));
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
    l->post([this, st, l, &done_mu, &done_cv, &pending] {
      if (st->listener) st->listener->close();
      st->http->close_all();
      for (std::size_t e = 0; e < st->ws_homes.size(); ++e) {
        const websocket_options& o = ws_endpoints[e]->cfg.options;
        ws::connection_home* home = st->ws_homes[e].get();
        l->for_each_stream([&o, home](net::stream& s) {
          auto* c = dynamic_cast<ws::connection*>(s.handler());
          if (c != nullptr && &c->home() == home) c->go_away(o.shutdown_close_code, o.shutdown_close_reason);
        });
      }
      // Report when this loop has no stream left (checked each millisecond, bounded by the
      // caller's wait). The function refers to itself weakly and only its pending timer holds
      // it: when the wait times out with a stream still open (a deferred reply that never
      // came), the stopped loop frees the timer and the function with it.
      auto check = std::make_shared<std::function<void()>>();
      *check = [l, self = std::weak_ptr<std::function<void()>>(check), &done_mu, &done_cv,
                &pending] {
        if (l->stream_count() == 0) {
          std::lock_guard lk(done_mu);
          --pending;
          done_cv.notify_all();
          return;
        }
        if (auto again = self.lock()) {
          l->run_after(std::chrono::milliseconds(1), [again] { (*again)(); });
        }
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
  return websocket(std::move(path), std::move(options), std::move(handlers), upgrade_check{});
}

server& server::websocket(std::string path, websocket_options options, websocket_handlers handlers,
                          upgrade_check check) {
  auto ep = std::make_unique<impl::ws_endpoint>();
  ep->check = std::move(check);
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

server& server::route(std::string_view method, std::string path,
                      std::function<void(const http_request&, http_responder)> handler) {
  const http::method verb = http::method_from_string(method);
  switch (verb) {
    case http::method::get:
    case http::method::head:
    case http::method::post:
    case http::method::put:
    case http::method::del:
    case http::method::options:
    case http::method::patch:
      break;
    default:  // CONNECT and TRACE are not routed; anything else is not a method we know
      throw std::invalid_argument("duplex::server::route: unsupported method \"" +
                                  std::string(method) + "\"");
  }
  impl_->routes.push_back(std::make_unique<impl::route_endpoint>(
      impl::route_endpoint{verb, std::move(path), std::move(handler)}));
  return *this;
}

server& server::preflight(std::string path, std::vector<std::string> allowed_origins,
                          std::string methods, bool credentials) {
  http::cors_policy policy{.allowed_origins = std::move(allowed_origins),
                           .credentials = credentials,
                           .methods = std::move(methods)};
  return route("OPTIONS", std::move(path),
               [policy = std::move(policy)](const http_request& req, http_responder reply) {
    http::options_answer a = http::answer_options(policy, req.header("Origin"),
                                                  req.header("Access-Control-Request-Method"),
                                                  req.header("Access-Control-Request-Headers"));
    reply({.status = a.status, .content_type = a.body.empty() ? "" : "text/plain; charset=utf-8",
           .body = std::move(a.body), .headers = std::move(a.headers)});
  });
}

server& server::internal_route(std::string_view method, std::string path, target_factory make,
                               bool prefix) {
  const http::method verb = http::method_from_string(method);
  if (verb == http::method::other) {
    throw std::invalid_argument("duplex::server::internal_route: unsupported method \"" +
                                std::string(method) + "\"");
  }
  impl_->internal_routes.push_back({verb, std::move(path), std::move(make), prefix});
  return *this;
}

server& server::on_stop(std::function<void()> fn) {
  impl_->stop_callbacks.push_back(std::move(fn));
  return *this;
}

std::error_code server::prepare() {
  auto& d = *impl_;
  if (d.group) return {};
  const unsigned threads =
      d.options.threads ? d.options.threads : std::max(1u, std::thread::hardware_concurrency());
  d.group = std::make_unique<net::loop_group>(threads);
  for (unsigned i = 0; i < threads; ++i) {
    d.loops.push_back(std::make_unique<impl::loop_state>());
    d.loops.back()->index = i;
  }
  d.group->start([](net::loop&, std::size_t i) { t_loop_index = i; });
  return {};
}

std::size_t server::threads() const { return impl_->loops.size(); }

executor& server::thread_executor(std::size_t i) {
  DUPLEX_ASSERT(impl_->group && i < impl_->group->size());
  return impl_->group->at(i);
}

std::size_t server::current_thread_index() { return t_loop_index; }

std::error_code server::listen() {
  auto& d = *impl_;
  if (d.listening) return {};
  std::error_code ec;
  if (!d.options.tls_cert_file.empty() || !d.options.tls_key_file.empty()) {
    d.tls = net::tls_context::server(d.options.tls_cert_file, d.options.tls_key_file, ec);
    if (ec) return ec;
  }
  if ((ec = prepare())) return ec;
  // No connection exists yet, so the loops do not read their state: build it here. The posts
  // below publish it to the loop threads.
  for (auto& st : d.loops) d.build_site(*st);
  const std::size_t n = d.loops.size();
  std::vector<std::error_code> errors(n);
  std::size_t opened = 0;
  for (; opened < n; ++opened) {
    run_on(d.group->at(opened), [&] { d.init_loop(d.group->at(opened), opened, errors[opened]); });
    if (errors[opened]) break;
  }
  if (opened < n) {
    for (std::size_t i = 0; i < opened; ++i) {
      run_on(d.group->at(i), [&] { d.loops[i]->listener.reset(); });
    }
    return errors[opened];
  }
  std::lock_guard lk(d.mu);
  d.listening = true;
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
  for (auto& fn : std::exchange(d.stop_callbacks, {})) {
    try {
      if (fn) fn();
    } catch (const std::exception& e) {
      spdlog::error("server on_stop callback threw: {}", e.what());
    }
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
    for (auto& home : st->ws_homes) {
      const ws::connection_counters& c = home->counters;
      s.connections += c.opened;
      s.ws.messages_in += c.ws.messages_in;
      s.ws.messages_out += c.ws.messages_out;
      s.ws.compressed_frames_in += c.ws.compressed_frames_in;
      s.ws.compressed_frames_out += c.ws.compressed_frames_out;
      s.ws.backpressure_drops += c.ws.backpressure_drops;
      s.ws.backpressure_closes += c.ws.backpressure_closes;
    }
  }
  return s;
}

}  // namespace duplex
