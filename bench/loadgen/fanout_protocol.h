// fanout_protocol: the few messages of the fan-out scenarios, in the two dialects the generator
// speaks, and a classifier for what the servers send back.
//
//   centrifuge (duplex serve, /connection/websocket): the Centrifugo client protocol v2, JSON.
//     {"id":1,"connect":{}}, {"id":2,"subscribe":{"channel":"C"}},
//     {"id":N,"publish":{"channel":"C","data":D}}; replies {"id":N,"<method>":{...}} or
//     {"id":N,"error":{...}}; publications {"push":{"channel":"C","pub":{"data":D,...}}};
//     the server's ping is {} and wants {} back. Several may share a frame, one per line.
//   raw (bench/peers/ws_broadcast_server.js): subscribers connect to /sub?channel=C and get
//     {"id":2,"subscribe":{}} once subscribed; the publisher connects to /pub and sends
//     {"id":N,"channel":"C","data":D}, acknowledged by {"id":N,"publish":{}}; publications
//     are {"push":{"channel":"C","pub":{"data":D}}}.
//
// Subscribers may also use one of duplex's HTTP streaming transports (the publisher stays a
// centrifuge WebSocket client):
//   sse (/events, server/events_endpoint.h): GET /events?channel=C; a text/event-stream whose
//     events are `event: C` / `data: D` per publication and `event: :subscribed` / `data:
//     {"channel":"C",...}` once the subscription is live (`:gap`, `:error` report trouble).
//   http_stream (Centrifugo unidirectional HTTP-streaming, POST /connection/uni_http_stream,
//     body {"token":"<JWT>"}): newline-delimited JSON; the subscription is the token's
//     `channels` claim (server-side), live when the connect push {"connect":{...,"subs":{"C":
//     ...}}} arrives; publications are bare Pushes {"channel":"C","pub":{"data":D,...}}; {} is
//     the server's ping (no pong on a unidirectional stream); {"disconnect":...} ends it.
//
// D, the data of a benchmark publication, is {"c":<channel index>,"s":<sequence number in the
// channel>,"t":<send time, steady clock ns>,"p":"<padding>"}: each subscriber checks it gets
// every sequence number of its channel in order, and computes publish-to-delivery latency
// from t (generator and server share the host, hence the clock).
//
// The classifier is not a JSON parser: it recognises the exact shapes the two servers write
// (the data is passed through verbatim by both), and anything else is kind::other, which the
// scenarios count rather than trust.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace duplex::bench {

// socketio: Socket.IO rooms (sio_protocol.h); the fan-out and connections scenarios say how.
enum class dialect : std::uint8_t { centrifuge, raw, socketio };
// How the subscribers of the centrifuge dialect receive (see above).
enum class sub_transport : std::uint8_t { ws, sse, http_stream };

inline constexpr std::uint64_t connect_id = 1;
inline constexpr std::uint64_t subscribe_id = 2;
inline constexpr std::uint64_t first_publish_id = 3;

// {"id":1,"connect":{}}
void append_connect_command(std::string& out);
// {"id":2,"subscribe":{"channel":"<channel>"}}; `channel` needs no JSON escaping.
void append_subscribe_command(std::string& out, std::string_view channel);
// centrifuge: {"id":<id>,"publish":{"channel":"<channel>","data":<data>}}
// raw:        {"id":<id>,"channel":"<channel>","data":<data>}
void append_publish_command(std::string& out, dialect d, std::uint64_t id,
                            std::string_view channel, std::string_view data);

// Appends the data D above, padded with 'x' to `size` bytes when the numbers leave room (else
// with an empty padding string, so the result is longer than `size`). `pad_key` names the
// padding member: 'p' as above, or 'x' for a server that writes an object's members sorted by
// name (duplex's Socket.IO API re-serialises events with nlohmann::json, whose objects are
// sorted): with c, s, t, x the sorted order is the order written.
void append_bench_data(std::string& out, std::uint32_t channel, std::uint64_t seq,
                       std::uint64_t sent_ns, std::size_t size, char pad_key = 'p');

// The request of an HTTP streaming subscriber. `host` is the Host field ("127.0.0.1:8000");
// `channel` and `token` need no escaping (the generator's own names, base64url).
// GET <path>?channel=<channel> with Accept: text/event-stream.
void append_sse_request(std::string& out, std::string_view host, std::string_view path,
                        std::string_view channel);
// POST <path> with the JSON body {"token":"<token>"}.
void append_uni_stream_request(std::string& out, std::string_view host, std::string_view path,
                               std::string_view token);

struct line_info {
  enum class kind : std::uint8_t {
    reply,        // {"id":N, ...} without an error
    error_reply,  // {"id":N,"error":...}; streams: :error, :gap, a disconnect push
    publication,  // a push of a publication whose data is ours (c, s, t parsed)
    ping,         // {}
    subscribed,   // streams: the subscription is live (sse :subscribed, uni connect push)
    other,        // anything else (join/leave pushes, unknown shapes)
  };
  kind what = kind::other;
  std::uint64_t id = 0;       // reply, error_reply
  std::uint32_t channel = 0;  // publication: "c"
  std::uint64_t seq = 0;      // publication: "s"
  std::uint64_t sent_ns = 0;  // publication: "t"
};

line_info classify_line(std::string_view line) noexcept;
// Parses benchmark data at the front of `s` up to the opening quote of its padding (named
// `pad_key`, see append_bench_data), filling li's channel, seq and sent_ns; consumes what it
// read. false when `s` does not start with that shape (li's kind is left alone either way).
bool parse_bench_data(std::string_view& s, line_info& li, char pad_key = 'p') noexcept;
// An event of the /events stream: its type (the channel, or a server event ":subscribed",
// ":gap", ":error") and data. A publication's type is not checked against "c" here (the
// caller knows the channel names).
line_info classify_sse_event(std::string_view name, std::string_view data) noexcept;
// A line of a unidirectional Centrifugo stream (bare Pushes, the connect push, pings).
line_info classify_uni_line(std::string_view line) noexcept;

// `text` with '"' and '\\' escaped and control bytes dropped: for the reports' JSON strings.
std::string json_escape(std::string_view text);

// Calls f(line) for each non-empty '\n'-separated line of `message`.
template <class F>
void for_each_line(std::string_view message, F&& f) {
  while (!message.empty()) {
    auto nl = message.find('\n');
    std::string_view line = message.substr(0, nl);
    if (!line.empty()) f(line);
    if (nl == std::string_view::npos) break;
    message.remove_prefix(nl + 1);
  }
}

}  // namespace duplex::bench
