#include "centrifuge/websocket_endpoint.h"

#include <memory>

#include "base/assert.h"
#include "centrifuge/session.h"
#include "ws/connection.h"

namespace duplex::centrifuge {

namespace {

// The transport of one WebSocket connection; owns its session.
class ws_link final : public transport {
 public:
  explicit ws_link(duplex::websocket& ws) : ws_(ws) { direct_ws_ = &ws::connection::of(ws); }

  void write_framed(const shared_payload& frame) override {
    ws::connection::of(ws_).send_frame(frame);
  }
  void write_message(std::string_view json) override { ws_.send(json, message_type::text); }
  std::size_t buffered() const override { return ws_.buffered_amount(); }
  void close(std::uint32_t code, std::string_view reason) override {
    ws_.close(static_cast<std::uint16_t>(code), reason);
  }

  std::shared_ptr<session> s;

 private:
  duplex::websocket& ws_;
};

}  // namespace

void add_websocket_endpoint(duplex::server& srv, node& n, std::string path,
                            websocket_options options) {
  const node_options& no = n.options();
  options.ping_interval = std::chrono::milliseconds(0);
  if (no.ping_interval.count() > 0) {
    options.idle_timeout = 2 * no.ping_interval + no.pong_timeout;
  }
  // The session applies the slow-consumer policy first; the WebSocket limit is a backstop.
  options.max_backpressure = std::max(options.max_backpressure, 2 * no.max_output_bytes);
  options.shutdown_close_code = 3001;
  options.shutdown_close_reason = "shutdown";
  node* np = &n;
  websocket_handlers h;
  h.on_open = [np](duplex::websocket& ws) {
    const std::size_t shard = duplex::server::current_thread_index();
    DUPLEX_ASSERT(shard < np->shard_count());
    auto* link = new ws_link(ws);
    ws.user_data = link;
    link->s = std::make_shared<session>(*np, shard, *link, np->wire().websocket_json);
    link->s->start();
  };
  h.on_message = [](duplex::websocket& ws, std::string_view data, message_type) {
    auto* link = static_cast<ws_link*>(ws.user_data);
    if (link != nullptr && link->s) link->s->on_frame(data);
  };
  h.on_close = [](duplex::websocket& ws, std::uint16_t, std::string_view) {
    auto* link = static_cast<ws_link*>(ws.user_data);
    if (link == nullptr) return;
    ws.user_data = nullptr;
    if (link->s) link->s->on_closed();
    delete link;
  };
  srv.websocket(std::move(path), std::move(options), std::move(h));
}

}  // namespace duplex::centrifuge
