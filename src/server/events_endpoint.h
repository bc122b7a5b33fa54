// /events: Server-Sent Events on the hub, for EventSource clients (WHATWG HTML "Server-sent
// events"). Also the request checks that /ws (raw_ws_endpoint.h) shares.
//
// Request: GET /events?channel=a&channel=b[&token=JWT]. The token (or an "Authorization:
// Bearer JWT" header) is a connection token checked with the Centrifugo authenticator: its
// user makes the connection `authenticated`, without one it is `anonymous` (refused when
// anonymous connections are off). Each channel's namespace subscribe rule applies.
// Refusals come before the stream starts, as text/plain with one line saying why:
//   400 no channel / bad channel name / duplicate channel / too many channels / bad query
//   401 invalid or expired token, or no token while anonymous connections are off
//   403 the subscribe rule refuses the credential, or the Origin is not allowed
//   404 unknown namespace
// CORS: a request with an Origin gets "Access-Control-Allow-Origin: <that origin>" when
// client.allowed_origins is empty or lists it (else 403).
//
// Stream (text/event-stream, no caching, no proxy buffering, heartbeat comments ":" after
// `heartbeat` of silence). Events:
//   event: <channel>     data: the publication's JSON data, id: positions (event_id.h)
//   event: :subscribed   data: {"channel","offset","epoch","recovered"} once per channel when
//                        its subscription is live, and again after a broker gap re-made it
//                        (offset/epoch only with history; recovered only when resuming). It
//                        carries the id, so that a client that saw no publication yet still
//                        resumes from the right place.
//   event: :gap          data: {"channel","reason","offset","epoch"}: publications of that
//                        channel were lost (reason "epoch_changed", "history_exhausted",
//                        "unknown_position" for an unusable Last-Event-ID, "slow_consumer"),
//                        or may have been and cannot be recovered ("broker_reconnected": a
//                        channel without history after a broker gap; no offset/epoch).
//                        Live delivery goes on after it; a client that needs the lost state
//                        reloads it (e.g. from the history API).
//   event: :error        data: {"channel","error"}: a subscription failed after the stream
//                        started (too many subscribers, broker down); the stream ends when no
//                        channel is left.
// Names of the server's own events start with ':', which no channel name can (a channel's
// namespace part is never empty), so they never collide with a channel's events.
//
// Resume: a reconnecting EventSource sends Last-Event-ID (or ?lastEventId=). Each channel
// with a position is subscribed with recovery: what history holds after it is sent first, in
// order, then live publications, each offset once. When recovery is impossible a :gap event
// comes first, then the tail history still holds (if any), then live data.
//
// Broker gap: when the node may have missed publications (announce_possible_gap: its Redis
// subscriber link was lost and is back), the stream stays open and each channel with history
// is subscribed again from the last position the client was given: the missed publications
// follow in order, then :subscribed (recovered true), or, when history cannot tell (Redis
// restarted empty: new epoch), :gap "epoch_changed" with the new position comes first. If the
// broker still refuses after a few retries (~3 s), the stream ends and the EventSource
// reconnects with a Last-Event-ID that still holds the position before the gap.
//
// Slow consumer: past `max_output_bytes` of unsent output the channel's namespace policy
// applies: `drop` stops writing that channel's publications until the output is below half
// the limit, then sends a :gap event and goes on; `disconnect` drops the connection at once
// (queued output included), and the EventSource reconnects and recovers.
//
// Events of a single-channel stream are encoded once per publication for every such
// subscriber (format `with_id`); a multi-channel stream writes its own short "id:" line before
// the shared event (format `without_id`), since its id holds the other channels' positions.
//
// Thread safety: the endpoint is built once; streams live on their connection's loop thread
// (= hub shard) and never leave it. stop hooks post to every loop.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "centrifuge/authenticator.h"
#include "duplex/server.h"
#include "hub/channel_hub.h"
#include "hub/wire_format.h"

namespace duplex::service {

// ---- Request checks shared by /events and /ws -------------------------------------------------

struct channel_query {
  std::vector<std::string> channels;  // percent-decoded, in query order
  std::string token;                  // "" when absent
};

// Reads every `channel` parameter and `token` from a query string (percent-decoding, '+' as
// space). False, with `why`, when an escape is malformed or decodes to a NUL byte.
bool parse_channel_query(std::string_view query, channel_query& out, std::string& why);

struct channel_admission {
  int status = 200;    // 200 = admitted; else 400, 401, 403 or 404 (see the file comment)
  std::string reason;  // one line for the client when refused
  hub::credential cred = hub::credential::anonymous;
  std::string user;                       // from the token; "" = anonymous
  std::string info_json;                  // the token's `info` claim, "" when absent
  std::optional<std::int64_t> expire_at;  // the token's expiry (UNIX seconds)
};

// Checks the channels (count, names, namespaces, duplicates, subscribe rule) and the token.
// `auth` may be null (then any token is invalid).
channel_admission admit_channels(const channel_query& q, const hub::namespace_table& namespaces,
                                 const centrifuge::authenticator* auth, bool anonymous_allowed,
                                 std::size_t max_channels);

// A random client id (UUID v4 text) for presence and publication info.
std::string new_connection_id();

// ---- /events ----------------------------------------------------------------------------------

struct events_formats {
  hub::wire_format with_id{};     // "id: <offset>:<epoch>", event, data: one-channel streams
  hub::wire_format without_id{};  // event, data: multi-channel streams add their own id line
};

struct events_options {
  std::chrono::milliseconds heartbeat{15000};  // a comment after this much silence; 0 = off
  std::chrono::milliseconds retry{0};          // "retry:" sent first when > 0
  std::size_t max_output_bytes = 4u << 20;     // unsent bytes before the slow-consumer policy
  std::size_t max_channels = 128;              // per request
  bool anonymous = true;                       // connections without a token
  std::vector<std::string> allowed_origins;    // empty = any Origin
};

class events_endpoint {
 public:
  // Registers this endpoint's wire formats. Call before constructing the hub.
  static events_formats register_formats(hub::format_registry& registry);

  // hub and auth (may be null) must outlive the server's run(). One loop state per hub shard:
  // the server's loop i must be hub shard i.
  events_endpoint(hub::channel_hub& hub, const events_formats& formats,
                  const centrifuge::authenticator* auth, events_options options);
  ~events_endpoint();
  events_endpoint(const events_endpoint&) = delete;
  events_endpoint& operator=(const events_endpoint&) = delete;

  // Serves GET `path` on `srv` and ends every stream when the server stops (on_stop). Call
  // before srv.listen(). The endpoint must outlive srv's run().
  void add_to(duplex::server& srv, std::string path);

  // The node may have missed publications of any channel (see "Broker gap" above): every
  // stream recovers or is told, per channel. Any thread, while the server's loops run: one task
  // is posted to each loop, FIFO with the hub's deliveries there, so no stream is given a
  // publication that the broker delivers after this call before it has recovered.
  void announce_possible_gap();

  // Open streams (any thread; relaxed counter).
  std::size_t streams() const noexcept;

  struct loop_state;  // implementation detail (events_endpoint.cc)

 private:
  hub::channel_hub& hub_;
  events_formats formats_;
  const centrifuge::authenticator* auth_;
  events_options options_;
  std::vector<std::unique_ptr<loop_state>> loops_;
};

}  // namespace duplex::service
