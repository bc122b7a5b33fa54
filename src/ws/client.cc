// duplex::client (include/duplex/client.h): WebSocket client connections on one net::loop that
// run() drives on the calling thread.
#include "duplex/client.h"

#include <list>
#include <map>

#include "net/connect.h"
#include "net/loop.h"
#include "net/tls.h"
#include "ws/client_url.h"
#include "ws/connection.h"

namespace duplex {

struct client::impl {
  net::loop loop;
  ws::connection_home home;  // counters and live connections
  // Configs must outlive their connections; kept for the client's life (connect() is not a
  // per-message operation).
  std::list<ws::endpoint_config> configs;
  std::map<std::pair<std::string, bool>, std::unique_ptr<net::tls_context>> tls;
  std::size_t active = 0;  // connections started and not yet ended

  void done_one() {
    if (--active == 0) loop.stop();
  }
  void start(std::string url, client_options options, websocket_handlers handlers,
             std::function<void(std::error_code, std::string_view)> on_error);
};

void client::impl::start(std::string url, client_options options, websocket_handlers handlers,
                         std::function<void(std::error_code, std::string_view)> on_error) {
  auto fail = [&](std::error_code ec, std::string_view why) {
    if (on_error) on_error(ec, why);
    done_one();
  };
  auto u = ws::parse_client_url(url);
  if (!u) return fail(std::make_error_code(std::errc::invalid_argument), "not a ws:// or wss:// URL");

  net::tls_context* tls_ctx = nullptr;
  if (u->secure) {
    auto key = std::make_pair(options.ca_file, options.verify_peer);
    auto& slot = tls[key];
    if (!slot) {
      std::error_code ec;
      slot = net::tls_context::client(options.ca_file, options.verify_peer, ec);
      if (ec) {
        tls.erase(key);
        return fail(ec, "cannot set up TLS");
      }
    }
    tls_ctx = slot.get();
  }

  auto& cfg = configs.emplace_back();
  cfg.options = options.ws;
  cfg.client.host = u->host_header();
  cfg.client.target = u->resource;
  cfg.client.subprotocols = options.ws.subprotocols;
  if (!options.origin.empty()) cfg.client.origin = options.origin;
  cfg.client.deflate.enabled = options.ws.permessage_deflate;
  cfg.client.deflate.client_no_context_takeover = options.deflate_no_context_takeover;
  cfg.client.extra_headers = options.headers;
  // Both paths out of a connection (opened then closed, or never opened) end it once.
  auto user_close = std::move(handlers.on_close);
  handlers.on_close = [this, user_close](websocket& ws, std::uint16_t code, std::string_view reason) {
    if (user_close) user_close(ws, code, reason);
    done_one();
  };
  cfg.handlers = std::move(handlers);
  cfg.on_error = [this, on_error](std::error_code ec, std::string_view why) {
    if (on_error) on_error(ec, why);
    done_one();
  };

  // The connection is created before the stream exists, as its handler; net::connect then
  // reports everything to it.
  std::error_code ec;
  ws::connection* conn = nullptr;
  struct pending_handler final : net::stream_handler {
    void on_data(net::stream&, std::span<std::byte>) override {}
    void on_close(net::stream&, std::error_code) override {}
  } placeholder;
  net::stream* s = net::connect(loop, u->host, u->port, tls_ctx, u->host, &placeholder, ec);
  if (!s) return fail(ec, "cannot connect to " + u->host);
  conn = new ws::connection(*s, cfg, home);  // owns itself
  conn->start(options.connect_timeout);
}

client::client() : impl_(std::make_unique<impl>()) {}
client::~client() = default;

void client::connect(std::string_view url, client_options options, websocket_handlers handlers,
                     std::function<void(std::error_code, std::string_view)> on_error) {
  ++impl_->active;
  impl_->loop.post([d = impl_.get(), url = std::string(url), options = std::move(options),
                    handlers = std::move(handlers), on_error = std::move(on_error)]() mutable {
    d->start(std::move(url), std::move(options), std::move(handlers), std::move(on_error));
  });
}

void client::run() {
  if (impl_->active == 0) return;
  impl_->loop.run();
}

void client::stop() { impl_->loop.stop(); }

websocket_stats client::stats() const { return impl_->home.counters.ws; }

}  // namespace duplex
