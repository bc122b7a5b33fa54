#include "server/app.h"

#include <filesystem>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "base/executor.h"
#include "centrifuge/node.h"
#include "centrifuge/session.h"
#include "centrifuge/http_transports.h"
#include "centrifuge/websocket_endpoint.h"
#include "duplex/server.h"
#include "duplex/socketio.h"
#include "hub/channel_hub.h"
#include "hub/memory_broker.h"
#include "net/loop.h"
#include "redis/endpoint.h"
#include "redis/node_bus.h"
#include "redis/node_registry.h"
#include "redis/redis_broker.h"
#include "server/api.h"
#include "server/demo_ticker.h"
#include "server/events_endpoint.h"
#include "server/jwt_authenticator.h"
#include "server/metrics.h"
#include "server/raw_ws_endpoint.h"
#include "server/sio_bridge.h"

namespace duplex::service {

namespace {

constexpr const char* version_string = "duplex 0.1.0";

// The server API's methods, each at POST /api/<method>.
constexpr const char* api_methods[] = {"publish",  "broadcast",      "subscribe", "unsubscribe",
                                       "disconnect", "presence",     "presence_stats", "history",
                                       "history_remove", "channels", "info"};

// Publish-to-write latency buckets, microseconds (rendered in seconds).
const std::vector<std::uint64_t> latency_buckets_us = {50,    100,   250,    500,    1000,
                                                       2500,  5000,  10000,  25000,  50000,
                                                       100000, 250000, 1000000};

// Who announce_possible_gap tells: every protocol's sessions on the hub. node is required;
// the endpoints are told when set.
struct gap_audience {
  centrifuge::node* node = nullptr;
  sio_bridge* sio = nullptr;            // /socket.io/
  events_endpoint* events = nullptr;    // /events
  raw_ws_endpoint* raw_ws = nullptr;    // /ws
};

// The Redis subscriber link came back after a loss (redis_broker_options::on_pubsub_restored,
// on the broker's loop thread): publications made meanwhile on other nodes never reached this
// one, and if Redis restarted empty the channels' epochs changed. Each protocol's clients are
// made to recover or told, never given a silent gap:
//  - Centrifugo: every session is disconnected with 3010 "insufficient state" (a reconnect
//    code): the SDK reconnects and resubscribes from its positions, so it gets what it missed
//    (recovered) or learns that the epoch changed (recovered false);
//  - Socket.IO and SSE: each channel with history is subscribed again, in place, from the
//    last position the client was given: what it missed follows, or a per-channel gap notice
//    with the new position (Socket.IO event `gap`, SSE event `:gap`); channels without history
//    get that notice at once (sio_bridge.h, events_endpoint.h: "Broker gap");
//  - raw WebSocket (no positions, no resume): closed with 1012, the client reconnects.
// The tasks posted per loop thread run before any publication that the new link delivers to
// that thread (the broker calls this after sending its SUBSCRIBEs, and the hub posts
// deliveries FIFO to the same executors), so no client's position moves past the gap first.
//
// Centrifugo's part is coarse: the hub offers no "these channels may have a gap" notice per
// subscription yet (Centrifugo's per-channel answer is an unsubscribe 2500, as the
// slow-consumer drop path sends), so sessions with no subscription reconnect too. Nothing is
// done when no channel has a local subscriber.
void announce_possible_gap(const gap_audience& to) {
  centrifuge::node& node = *to.node;
  hub::channel_hub& hub = node.hub();
  if (hub.channels().empty()) return;
  spdlog::warn("broker: the Redis subscriber link was restored; clients recover or are told: "
               "Centrifugo reconnects (3010 insufficient state), Socket.IO and SSE resubscribe "
               "in place, raw WebSocket closes (1012)");
  if (to.sio != nullptr) to.sio->announce_possible_gap();
  if (to.events != nullptr) to.events->announce_possible_gap();
  if (to.raw_ws != nullptr) to.raw_ws->announce_possible_gap();
  for (std::size_t i = 0; i < node.shard_count(); ++i) {
    centrifuge::shard_state* st = &node.shard(i);
    hub.shard_at(i).exec().post([st] {
      // Copied out first: a disconnect changes the registry.
      std::vector<std::weak_ptr<centrifuge::session>> all;
      all.reserve(st->by_client.size());
      for (const auto& [id, s] : st->by_client) all.push_back(s->weak_from_this());
      for (const auto& w : all) {
        if (auto s = w.lock()) s->disconnect(centrifuge::disconnects::insufficient_state);
      }
    });
  }
}

}  // namespace

struct app::impl {
  config cfg;
  std::string web_root;

  hub::format_registry formats;
  centrifuge::formats centrifuge_formats;
  events_formats sse_formats;        // /events
  hub::wire_format raw_ws_format{};  // /ws
  hub::wire_format sio_format{};     // /socket.io/
  hub::namespace_table namespaces;
  hub::memory_broker memory;  // the default broker (one node)
  // broker = "redis://...": the Redis broker, on a loop thread of its own.
  struct redis_side {
    net::loop loop;
    std::unique_ptr<redis::redis_broker> broker;
    std::thread thread;
    // `info` lists the live nodes from it; on the same loop, with a link of its own.
    std::unique_ptr<redis::node_registry> registry;
    std::mutex figures_mu;
    const api_handler* figures = nullptr;  // this node's figures, once the API exists
    // Whom on_pubsub_restored (broker loop thread) tells: set once the endpoints exist, cleared
    // in ~app before the server's loops stop, so the callback never posts to a loop that is
    // going away.
    std::mutex tell_mu;
    gap_audience tell;  // tell.node == nullptr: nobody
    // Requests for sessions of other nodes go out, and theirs come in, through the node bus
    // (Socket.IO long-polling, Centrifugo /emulation: no sticky sessions). Its handlers run
    // on this loop and reach the endpoints below once they exist (cleared in ~app).
    std::unique_ptr<redis::node_bus> bus;
    std::mutex serve_mu;
    io::server* sio_target = nullptr;
    centrifuge::emulation_server emulation_target;
  };
  std::unique_ptr<redis_side> redis;
  hub::broker* broker = &memory;
  std::unique_ptr<duplex::server> srv;
  std::unique_ptr<hub::channel_hub> hub;
  std::unique_ptr<jwt_authenticator> auth;
  std::unique_ptr<centrifuge::node> node;
  std::unique_ptr<metrics_registry> metrics;
  std::unique_ptr<api_handler> api;
  std::unique_ptr<events_endpoint> events;  // /events (SSE)
  std::unique_ptr<raw_ws_endpoint> raw_ws;  // /ws (raw WebSocket)
  std::unique_ptr<io::server> sio;          // /socket.io/ (Socket.IO)
  std::unique_ptr<sio_bridge> sio_hub;      // Socket.IO clients on the hub
  histogram* latency = nullptr;
  bool demo = false;                    // --demo: run the ticker publisher
  std::unique_ptr<demo_ticker> ticker;  // on loop thread 0; outlives the loops (~app)

  void register_metrics();
  static void serve_forwarded_requests(redis_side& r);
  void add_routes();
  void schedule_sweep(executor& ex);
};

app::app(config cfg, std::string web_root) : impl_(std::make_unique<impl>()) {
  impl_->cfg = std::move(cfg);
  impl_->web_root = impl_->cfg.listen.web_root.empty() ? std::move(web_root) : impl_->cfg.listen.web_root;
}

app::~app() {
  if (auto& r = impl_->redis) {
    std::lock_guard lk(r->tell_mu);
    r->tell = {};
  }
  if (auto& r = impl_->redis) {
    std::lock_guard lk(r->serve_mu);
    r->sio_target = nullptr;
    r->emulation_target = nullptr;
  }
  if (impl_->srv) impl_->srv->stop();
  if (auto& r = impl_->redis; r && r->thread.joinable()) {
    // The stop hook (add_routes) already answered the requests waiting for another node; this
    // barrier flushes any a stopping loop posted after it (FIFO: they run before this task)
    // while the executors their answers go through still exist.
    std::promise<void> bus_down;
    r->loop.post([&r, &bus_down] {
      r->bus->shutdown();
      bus_down.set_value();
    });
    bus_down.get_future().wait();
  }
  // The server's loops (which run hub and session tasks) end before the hub and node go.
  impl_->srv.reset();
  if (auto& r = impl_->redis; r && r->thread.joinable()) {
    // shutdown() belongs to the broker's loop; stop from inside the task so it runs first.
    // The registry goes first: this node leaves `info` at once (it waits at most its
    // shutdown_timeout for Redis to confirm the removal).
    r->loop.post([&r] {
      r->registry->shutdown([&r] {
        r->broker->shutdown();
        r->loop.stop();
      });
    });
    r->thread.join();
  }
}

std::error_code app::start(std::string& why) {
  impl& d = *impl_;
  d.centrifuge_formats = centrifuge::node::register_formats(d.formats);
  d.sse_formats = events_endpoint::register_formats(d.formats);
  d.raw_ws_format = raw_ws_endpoint::register_format(d.formats);
  d.sio_format = sio_bridge::register_format(d.formats);
  d.namespaces = to_namespace_table(d.cfg);
  d.srv = std::make_unique<duplex::server>(to_server_options<duplex::server_options>(d.cfg));
  if (auto ec = d.srv->prepare()) {
    why = "cannot start loop threads: " + ec.message();
    return ec;
  }
  std::vector<executor*> execs;
  for (std::size_t i = 0; i < d.srv->threads(); ++i) execs.push_back(&d.srv->thread_executor(i));
  if (d.cfg.broker != "memory") {
    std::string bad;
    std::optional<redis::endpoint> where = redis::parse_url(d.cfg.broker, &bad);
    if (!where) {  // checked by config validation already; kept for programmatic configs
      why = "broker: " + bad;
      return std::make_error_code(std::errc::invalid_argument);
    }
    d.redis = std::make_unique<impl::redis_side>();
    redis::redis_broker_options ro;
    ro.where = *where;
    ro.on_pubsub_restored = [r = d.redis.get()] {
      std::lock_guard lk(r->tell_mu);
      if (r->tell.node != nullptr) announce_possible_gap(r->tell);
    };
    ro.on_node_message = [r = d.redis.get()](std::string_view payload) { r->bus->on_message(payload); };
    d.redis->broker = std::make_unique<redis::redis_broker>(d.redis->loop, ro);
    d.redis->bus = std::make_unique<redis::node_bus>(d.redis->loop, d.redis->broker->node_id());
    impl::serve_forwarded_requests(*d.redis);
    redis::node_registry_options nro;
    nro.where = *where;
    nro.node_id = d.redis->broker->node_id();  // = the `info` uid
    nro.version = version_string;
    nro.load = [r = d.redis.get()] {  // the registry's loop thread
      std::lock_guard lk(r->figures_mu);
      if (r->figures == nullptr) return redis::node_load{};
      const node_info n = r->figures->local_node();
      return redis::node_load{n.num_clients, n.num_users, n.num_channels, n.num_subs, n.uptime};
    };
    d.redis->registry = std::make_unique<redis::node_registry>(d.redis->loop, std::move(nro));
    net::loop* l = &d.redis->loop;
    d.redis->thread = std::thread([l] { l->run(); });
    d.broker = d.redis->broker.get();
    spdlog::info("broker: redis at {} (node {})", d.cfg.broker, d.redis->broker->node_id());
  }
  d.hub = std::make_unique<hub::channel_hub>(execs, *d.broker, d.namespaces, d.formats);

  jwt_verifier_ptr verifier;
  if (!d.cfg.auth.token_hmac_secret.empty() || !d.cfg.auth.token_rsa_public_key.empty()) {
    std::string err;
    verifier = jwt_verifier::create(to_jwt_config(d.cfg), err);
    if (!verifier) {
      why = "token verifier: " + err;
      return std::make_error_code(std::errc::invalid_argument);
    }
  }
  d.auth = std::make_unique<jwt_authenticator>(std::move(verifier));

  d.metrics = std::make_unique<metrics_registry>(d.srv->threads());
  d.latency = &d.metrics->add_histogram(
      "duplex_publish_to_write_seconds",
      "Time from a publication's acceptance to its write on a subscriber's connection (sampled).",
      latency_buckets_us, 1'000'000);

  centrifuge::node_options no;
  no.ping_interval = d.cfg.client.ping_interval;
  no.pong_timeout = d.cfg.client.pong_timeout;
  no.max_output_bytes = d.cfg.client.max_output_bytes;
  no.max_channels_per_client = d.cfg.client.max_channels_per_client == 0
                                   ? static_cast<std::size_t>(-1)
                                   : d.cfg.client.max_channels_per_client;
  no.anonymous_connect = d.cfg.auth.allow_anonymous;
  no.version = version_string;
  // With Redis, the connect reply names this node: emulation requests carry it back, and a
  // node that does not own the session forwards them here.
  if (d.redis) no.node_name = d.redis->broker->node_id();
  no.limits.max_frame_bytes = d.cfg.client.max_message_size;
  no.limits.max_command_bytes = d.cfg.client.max_message_size;
  histogram* lat = d.latency;
  no.observe_delivery_latency = [lat](std::uint64_t us) { lat->observe(us); };
  d.node = std::make_unique<centrifuge::node>(*d.hub, d.centrifuge_formats, d.auth.get(), no);

  api_options ao;
  ao.key = d.cfg.auth.api_key;
  ao.insecure = d.cfg.auth.api_insecure;
  ao.version = version_string;
  if (d.redis) {  // `info` lists every live node of the Redis node registry
    ao.uid = d.redis->broker->node_id();
    ao.list_nodes = [reg = d.redis->registry.get()](
                        executor* reply_on,
                        std::function<void(std::optional<std::vector<node_info>>)> done) {
      reg->list(reply_on, [done = std::move(done)](redis::node_list_result r) {
        if (r.err != hub::error::ok) return done(std::nullopt);
        std::vector<node_info> nodes;
        for (const redis::node_entry& n : r.nodes) {
          nodes.push_back({n.id, n.name, n.version, n.load.num_clients, n.load.num_users,
                           n.load.num_channels, n.load.num_subs, n.load.uptime_s});
        }
        done(std::move(nodes));
      });
    };
  }
  d.api = std::make_unique<api_handler>(*d.hub, d.node.get(), ao);
  if (d.redis) {
    std::lock_guard lk(d.redis->figures_mu);
    d.redis->figures = d.api.get();
  }

  d.register_metrics();
  d.add_routes();
  if (d.redis) {  // once every endpoint exists
    std::lock_guard lk(d.redis->tell_mu);
    d.redis->tell = {d.node.get(), d.sio_hub.get(), d.events.get(), d.raw_ws.get()};
  }
  // Each loop thread writes its own metric shards.
  for (std::size_t i = 0; i < d.srv->threads(); ++i) {
    d.srv->thread_executor(i).post([i] { metrics_registry::bind_thread(i); });
  }
  executor* ex0 = &d.srv->thread_executor(0);
  ex0->post([&d, ex0] { d.schedule_sweep(*ex0); });  // timers belong to their loop thread
  if (d.demo) {
    d.ticker = std::make_unique<demo_ticker>(*d.hub, *ex0);
    ex0->post([t = d.ticker.get()] { t->start(); });
  }

  if (auto ec = d.srv->listen()) {
    why = "cannot listen on " + d.cfg.listen.host + ":" + std::to_string(d.cfg.listen.port) + ": " +
          ec.message();
    return ec;
  }
  return {};
}

// The bus services this node offers to the others: a Socket.IO long-poll ("eio.get") or POST
// ("eio.post") for one of our sids, and the commands of a Centrifugo /emulation request
// ("emulation") for one of our sessions. Run on the broker's loop; answered from the owner's.
void app::impl::serve_forwarded_requests(redis_side& r) {
  for (const bool post : {false, true}) {
    r.bus->serve(post ? "eio.post" : "eio.get",
                 [&r, post](std::string sid, std::string body, redis::node_bus::responder respond) {
      std::lock_guard lk(r.serve_mu);
      if (r.sio_target == nullptr) return respond({503, "text/plain", "stopping\n"});
      r.sio_target->serve_forwarded(post, std::move(sid), std::move(body),
                                    [respond](int status, std::string ct, std::string out) {
        respond({status, std::move(ct), std::move(out)});
      });
    });
  }
  r.bus->serve("emulation",
               [&r](std::string session, std::string data, redis::node_bus::responder respond) {
    std::lock_guard lk(r.serve_mu);
    if (!r.emulation_target) return respond({503, "text/plain", "stopping\n"});
    r.emulation_target(std::move(session), std::move(data),
                       [respond](int status) { respond({status, {}, {}}); });
  });
  r.bus->attach(*r.broker);
}

void app::impl::schedule_sweep(executor& ex) {
  // Releases idle channel streams and empty presence sets of the memory broker.
  if (broker != &memory) return;  // Redis expires its own keys
  ex.run_after(std::chrono::seconds(60), [this, &ex] {
    memory.sweep();
    schedule_sweep(ex);
  });
}

void app::impl::register_metrics() {
  metrics_registry& m = *metrics;
  centrifuge::node* n = node.get();
  hub::channel_hub* h = hub.get();
  using st = centrifuge::shard_stats;
  auto total = [n](st::value st::*member) {
    return [n, member] { return static_cast<double>(n->total(member)); };
  };
  m.add_gauge_fn("duplex_connections", "Open client connections (Centrifugo protocol).",
                 total(&st::connections));
  // Socket.IO (made later, by add_routes; read when scraped).
  auto sio_stat = [this](auto member) {
    return [this, member] { return sio ? static_cast<double>(sio->stats().*member) : 0.0; };
  };
  m.add_gauge_fn("duplex_socketio_connections", "Open Socket.IO (Engine.IO) connections.",
                 sio_stat(&io::server_stats::connections));
  m.add_gauge_fn("duplex_socketio_sockets", "Socket.IO namespace connections (sockets).",
                 sio_stat(&io::server_stats::sockets));
  m.add_counter_fn("duplex_socketio_upgrades_total", "Engine.IO upgrades from polling to WebSocket.",
                   sio_stat(&io::server_stats::upgrades));
  m.add_counter_fn("duplex_socketio_bad_packets_total",
                   "Malformed Socket.IO packets (the connection was closed).",
                   sio_stat(&io::server_stats::bad_packets));
  m.add_counter_fn("duplex_socketio_forwarded_out_total",
                   "Socket.IO long-polling requests for another node's session, forwarded there.",
                   sio_stat(&io::server_stats::forwarded_out));
  m.add_counter_fn("duplex_socketio_forwarded_in_total",
                   "Socket.IO long-polling requests served here for another node.",
                   sio_stat(&io::server_stats::forwarded_in));
  // The node bus (Redis only): every request sent to another node, and those left unanswered
  // (owner gone, Redis down, timeout: the client was told its session is unknown).
  redis_side* rs = redis.get();
  auto bus_stat = [rs](auto member) {
    return [rs, member] { return rs ? static_cast<double>(rs->bus->stats().*member) : 0.0; };
  };
  m.add_counter_fn("duplex_node_bus_requests_total", "Requests forwarded to another node.",
                   bus_stat(&redis::node_bus_stats::requests_sent));
  m.add_counter_fn("duplex_node_bus_served_total", "Requests served for another node.",
                   bus_stat(&redis::node_bus_stats::requests_served));
  m.add_counter_fn("duplex_node_bus_unanswered_total",
                   "Forwarded requests that got no answer from their node.",
                   bus_stat(&redis::node_bus_stats::unanswered));
  m.add_counter_fn("duplex_node_bus_dropped_total",
                   "Malformed or unexpected node bus messages dropped.",
                   bus_stat(&redis::node_bus_stats::dropped));
  m.add_gauge_fn("duplex_subscriptions", "Channel subscriptions on this node.", [h] {
    double sum = 0;
    for (const auto& [name, count] : h->channels()) sum += static_cast<double>(count);
    return sum;
  });
  m.add_gauge_fn("duplex_channels", "Channels with at least one subscriber on this node.",
                 [h] { return static_cast<double>(h->channels().size()); });
  m.add_counter_fn("duplex_connects_total", "Successful connect commands.", total(&st::connects));
  m.add_counter_fn("duplex_commands_total", "Client protocol commands received.",
                   total(&st::commands));
  m.add_counter_fn("duplex_messages_in_total", "Client messages (frames) received.",
                   total(&st::messages_in));
  m.add_counter_fn("duplex_messages_out_total", "Messages (replies and pushes) written to clients.",
                   total(&st::messages_out));
  m.add_counter_fn("duplex_bytes_in_total", "Bytes of client messages received.", total(&st::bytes_in));
  m.add_counter_fn("duplex_bytes_out_total", "Bytes of messages written to clients.",
                   total(&st::bytes_out));
  m.add_counter_fn("duplex_publications_total", "Publications accepted on this node.",
                   [h] { return static_cast<double>(h->published()); });
  m.add_counter_fn("duplex_deliveries_total", "Publication pushes written to subscribers.",
                   total(&st::publications_out));
  m.add_counter_fn("duplex_slow_consumer_total", "Slow-consumer policy applications, by action.",
                   total(&st::slow_drops), {{"action", "drop"}});
  m.add_counter_fn("duplex_slow_consumer_total", "Slow-consumer policy applications, by action.",
                   total(&st::slow_disconnects), {{"action", "disconnect"}});
  m.add_counter_fn("duplex_recoveries_total", "Subscriptions with recovery, by outcome.",
                   total(&st::recoveries), {{"result", "complete"}});
  m.add_counter_fn("duplex_recoveries_total", "Subscriptions with recovery, by outcome.",
                   total(&st::recoveries_failed), {{"result", "incomplete"}});
  m.add_counter_fn("duplex_client_errors_total", "Error replies sent to clients.", total(&st::errors));
  m.add_counter_fn("duplex_disconnects_total", "Connections the server closed with a disconnect code.",
                   total(&st::disconnects));
  m.add_counter_fn("duplex_bad_requests_total", "Protocol violations (disconnect 3501).",
                   total(&st::bad_requests));
  for (std::size_t k = 0; k < centrifuge::transport_kind_count; ++k) {
    const auto kind = static_cast<centrifuge::transport_kind>(k);
    m.add_gauge_fn("duplex_connections_by_transport",
                   "Open Centrifugo protocol connections, by transport.",
                   [n, kind] { return static_cast<double>(n->connections_of(kind)); },
                   {{"transport", std::string(centrifuge::name_of(kind))}});
  }
}

void app::impl::add_routes() {
  centrifuge::add_websocket_endpoint(*srv, *node, "/connection/websocket", to_websocket_options(cfg));
  // Plain SSE and raw WebSocket on the hub (events_endpoint.h, raw_ws_endpoint.h). No config
  // keys of their own yet: the SSE heartbeat follows client.ping_interval (25 s by default,
  // under the usual 60 s proxy idle timeouts), limits come from [client] and [auth].
  const std::size_t max_chans = cfg.client.max_channels_per_client == 0
                                    ? static_cast<std::size_t>(-1)
                                    : cfg.client.max_channels_per_client;
  events = std::make_unique<events_endpoint>(
      *hub, sse_formats, auth.get(),
      events_options{.heartbeat = cfg.client.ping_interval,
                     .max_output_bytes = cfg.client.max_output_bytes,
                     .max_channels = max_chans,
                     .anonymous = cfg.auth.allow_anonymous,
                     .allowed_origins = cfg.client.allowed_origins});
  events->add_to(*srv, "/events");
  raw_ws = std::make_unique<raw_ws_endpoint>(
      *hub, raw_ws_format, auth.get(),
      raw_ws_options{.max_output_bytes = cfg.client.max_output_bytes,
                     .max_channels = max_chans,
                     .anonymous = cfg.auth.allow_anonymous});
  raw_ws->add_to(*srv, "/ws", to_websocket_options(cfg));
  // Socket.IO clients (socket.io-client 4.x) on the same channels (sio_bridge.h). Engine.IO's
  // own heartbeat defaults (25 s / 20 s) and limits from [client].
  io::server_options so;
  so.max_http_buffer_size = cfg.client.max_message_size;
  so.cors_origins = cfg.client.allowed_origins;
  so.max_output_bytes = 2 * cfg.client.max_output_bytes;  // the hub's policy applies first
  // A held poll waits up to a ping interval on its owner; a POST is answered at once there.
  const std::chrono::milliseconds poll_wait = so.ping_interval + std::chrono::seconds(10);
  const std::chrono::milliseconds post_wait{10000};
  if (redis) {
    so.node_tag = redis->broker->node_id();
    so.forward = [bus = redis->bus.get(), poll_wait, post_wait](
                     std::string node, bool post, std::string sid, std::string body,
                     std::function<void(int, std::string, std::string)> done) {
      bus->request(std::move(node), post ? "eio.post" : "eio.get", std::move(sid), std::move(body),
                   post ? post_wait : poll_wait, nullptr, [done](redis::bus_response r) {
        done(r.status, std::move(r.content_type), std::move(r.body));
      });
    };
  }
  sio = std::make_unique<io::server>(*srv, so);
  sio_hub = std::make_unique<sio_bridge>(
      *hub, sio_format, auth.get(),
      sio_bridge_options{.anonymous = cfg.auth.allow_anonymous,
                         .max_channels = max_chans,
                         .max_output_bytes = cfg.client.max_output_bytes});
  sio_hub->attach(*sio);
  // Centrifugo's other transports: emulation (http_stream, sse + /emulation), unidirectional
  // (uni_websocket, uni_sse, uni_http_stream); their stop hook sends 3001 to open streams.
  centrifuge::fallback_options fo{.allowed_origins = cfg.client.allowed_origins,
                                  .uni_websocket = to_websocket_options(cfg)};
  if (redis) {
    fo.forward_emulation = [bus = redis->bus.get(), post_wait](std::string node, std::string session,
                                                               std::string data,
                                                               std::function<void(int)> done) {
      bus->request(std::move(node), "emulation", std::move(session), std::move(data), post_wait,
                   nullptr, [done](redis::bus_response r) { done(r.status); });
    };
  }
  centrifuge::emulation_server emulation = centrifuge::add_fallback_endpoints(*srv, *node, std::move(fo));
  if (redis) {
    std::lock_guard lk(redis->serve_mu);
    redis->sio_target = sio.get();
    redis->emulation_target = std::move(emulation);
    // On stop, requests waiting for another node are answered at once ("unknown session"):
    // the graceful stop then does not wait out its close timeout on those held replies.
    srv->on_stop([r = redis.get()] { r->loop.post([r] { r->bus->shutdown(); }); });
  }

  duplex::websocket_options echo_opt{.permessage_deflate = true};
  srv->websocket("/echo", echo_opt,
                 {.on_message = [](duplex::websocket& ws, std::string_view msg,
                                   duplex::message_type type) { ws.send(msg, type); }});

  duplex::server* s = srv.get();
  api_handler* a = api.get();
  for (const char* method : api_methods) {
    std::string m = method;
    srv->route("POST", "/api/" + m, [s, a, m](const http_request& req, http_responder reply) {
      if (!a->authorized(req.header("X-API-Key"), req.header("Authorization"))) {
        api_response r = unauthorized_response();
        return reply({.status = r.status, .content_type = "application/json", .body = r.body});
      }
      executor& ex = s->thread_executor(duplex::server::current_thread_index());
      a->handle(m, req.body, &ex, [reply](api_response r) {
        reply({.status = r.status, .content_type = "application/json", .body = std::move(r.body)});
      });
    });
  }
  if (cfg.metrics_enabled) {
    metrics_registry* m = metrics.get();
    srv->get("/metrics", [m](std::string_view) {
      duplex::http_reply r;
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      m->render(r.body);
      return r;
    });
  }
  srv->get("/health", [](std::string_view) { return duplex::http_reply{.status = 200, .body = "ok\n"}; });
  if (!web_root.empty()) {
    if (std::filesystem::is_directory(web_root)) srv->static_files("/", web_root);
    else spdlog::warn("web root {} is not a folder: no demo pages", web_root);
  }
}

void app::enable_demo_ticker() noexcept { impl_->demo = true; }

std::uint16_t app::port() const { return impl_->srv ? impl_->srv->port() : 0; }

void app::run() {
  if (impl_->srv) impl_->srv->run();
}

void app::stop() {
  if (impl_->srv) impl_->srv->stop();
}

std::string app::metrics_text() const {
  std::string out;
  if (impl_->metrics) impl_->metrics->render(out);
  return out;
}

}  // namespace duplex::service
