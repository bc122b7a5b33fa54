// Micro-benchmark of request_parser on a typical browser WebSocket upgrade and a small GET
// (STYLE.md rule 23). Reports ns per request and bytes/s; the parser is reused across
// iterations, as a connection reuses its parser, so header vectors are warm.
#include <benchmark/benchmark.h>

#include <string>

#include "http/request_parser.h"

namespace {

const std::string upgrade_request =
    "GET /connection/websocket HTTP/1.1\r\n"
    "Host: localhost:8000\r\n"
    "Connection: Upgrade\r\n"
    "Pragma: no-cache\r\n"
    "Cache-Control: no-cache\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36\r\n"
    "Upgrade: websocket\r\n"
    "Origin: http://localhost:8000\r\n"
    "Sec-WebSocket-Version: 13\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
    "\r\n";

const std::string small_get =
    "GET /health HTTP/1.1\r\nHost: localhost\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";

void parse_all(benchmark::State& state, const std::string& req) {
  duplex::http::request_parser p;
  for (auto _ : state) {
    const auto h = p.feed(req);
    const auto d = p.feed(std::string_view(req).substr(h.consumed));
    benchmark::DoNotOptimize(p.head().fields.list.data());
    if (d.status != duplex::http::parse_status::message_done) state.SkipWithError("parse failed");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * req.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

void bm_websocket_upgrade(benchmark::State& state) { parse_all(state, upgrade_request); }
void bm_small_get(benchmark::State& state) { parse_all(state, small_get); }

// The same upgrade request arriving in 64-byte reads: the cost of re-feeding a growing head.
void bm_websocket_upgrade_64b_reads(benchmark::State& state) {
  duplex::http::request_parser p;
  const std::string_view all(upgrade_request);
  for (auto _ : state) {
    duplex::http::parse_result r;
    std::size_t have = 0;
    do {
      have = std::min(all.size(), have + 64);
      r = p.feed(all.substr(0, have));
    } while (r.status == duplex::http::parse_status::need_more);
    p.feed(all.substr(r.consumed));
    benchmark::DoNotOptimize(p.head().target.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

BENCHMARK(bm_websocket_upgrade);
BENCHMARK(bm_small_get);
BENCHMARK(bm_websocket_upgrade_64b_reads);

}  // namespace
