// The server HTTP API (`POST /api/<method>`), compatible with Centrifugo's
// (centrifugal.dev docs/server/server_api.md): publish, broadcast, subscribe, unsubscribe,
// disconnect, presence, presence_stats, history, history_remove, channels, info.
//
// This file is the API's logic only: a method name and a JSON body in, an HTTP status and a JSON
// body out. The route (server/) reads the request, checks authorized() and answers 401 with
// unauthorized_response() itself; the API key may also come from `?api_key=` (the route's
// business: pass it as x_api_key).
//
// Replies use Centrifugo's envelope: {"result":{...}} on success, {"error":{"code":C,"message":M}}
// on failure. Status codes, one rule each (STYLE.md rule 11):
//   - 200 for every request that was understood, including operation errors the hub reports
//     (unknown channel 102, not available 108, unrecoverable position 112, ...): Centrifugo's
//     default "error mode" keeps those inside a 200 reply.
//   - 400 + error 107 "bad request: <what>" when the body is not JSON, not an object, a field
//     has the wrong type, or a required field is missing/empty. <what> names the field.
//   - 404 + error 104 "method not found" for an unknown method.
//   - 401 + error 101 (unauthorized_response()), sent by the route.
// An empty (or all-whitespace) body counts as {} so that `curl -X POST /api/info` works.
//
// Publication data: the `data` member is stored as its own JSON text with insignificant
// whitespace removed, byte for byte otherwise (numbers keep their exact spelling), because
// sessions embed it raw in their pushes. Data that other protocols published (Socket.IO, raw
// WebSocket text) need not be JSON: history then shows it as a JSON string. conn_info and
// chan_info are treated the same way.
//
// Accepted but ignored fields (no hub support yet): publish/broadcast `skip_history` (the
// publication goes to history when the namespace keeps it), `idempotency_key`, `delta`,
// `version`; subscribe `info`, `data`, `recover_since`, `override`. Refused with 400 because
// ignoring them would act on more connections than asked: disconnect `whitelist` (non-empty)
// and a non-empty `session`. `b64data` is not supported (payloads must be JSON): send `data`.
//
// `info` lists this node alone, or, when api_options::list_nodes is set (several nodes on one
// Redis), every live node it returns; when that list cannot be read, error 100 (internal), as
// for other methods while Redis is down.
//
// Thread safety: after construction the handler is read-only; handle() and authorized() may
// run concurrently from any thread. Lifetime: callbacks never touch the handler, but the hub
// and the node must outlive every request in flight.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/executor.h"
#include "centrifuge/node.h"
#include "hub/channel_hub.h"

namespace duplex::service {

// One node as `info` reports it (Centrifugo's Node object).
struct node_info {
  std::string uid;
  std::string name;
  std::string version;
  std::uint64_t num_clients = 0;
  std::uint64_t num_users = 0;
  std::uint64_t num_channels = 0;
  std::uint64_t num_subs = 0;
  std::uint64_t uptime = 0;  // seconds
};

// Lists every live node of a cluster, this one included. `done` runs exactly once: posted to
// reply_on when it is set, else on any thread; std::nullopt when the list cannot be read (the
// API then answers error 100).
using node_list_fn = std::function<void(
    executor* reply_on, std::function<void(std::optional<std::vector<node_info>>)> done)>;

struct api_options {
  // The API key. Empty and not insecure: every request is refused (the API is disabled).
  std::string key;
  bool insecure = false;  // no key check at all (development only)
  std::string node_name;  // `info` node name
  std::string version;    // `info` node version
  std::string uid;        // `info` node uid; empty: a random one
  // Several nodes (the Redis broker: server/app.cc fills it from redis::node_registry):
  // `info` lists what this returns. Empty: `info` lists this node alone.
  node_list_fn list_nodes;
};

struct api_response {
  int status = 200;
  std::string body;  // JSON
};

// 401 with {"error":{"code":101,"message":"unauthorized"}}.
api_response unauthorized_response();

class api_handler {
 public:
  // `sessions` may be null: subscribe/unsubscribe/disconnect then affect nothing and succeed.
  api_handler(hub::channel_hub& hub, centrifuge::node* sessions, api_options opts);

  // True when the request may proceed: insecure, or the key is set and one of the headers
  // carries it: `X-API-Key: <key>` or `Authorization: apikey <key>` (scheme case-insensitive).
  // The comparison takes the same time wherever the first difference is, and does not depend
  // on the offered key's length.
  bool authorized(std::optional<std::string_view> x_api_key,
                  std::optional<std::string_view> authorization) const;

  // method: the path segment after /api/ ("publish", ...). body: the request's JSON text,
  // borrowed for the duration of the call only. done runs exactly once with the reply: on
  // reply_on's thread (posted, never inline) when reply_on is set; otherwise on whatever thread
  // completes the operation, possibly inline.
  void handle(std::string_view method, std::string_view body, executor* reply_on,
              std::function<void(api_response)> done);

  // This node's `info` entry, computed now. Any thread.
  node_info local_node() const;

 private:
  struct ops;  // the methods, in api.cc

  hub::channel_hub* hub_;
  centrifuge::node* sessions_;
  api_options opts_;
  std::string uid_;  // random, per process: `info` node uid
  std::chrono::steady_clock::time_point started_;
};

}  // namespace duplex::service
