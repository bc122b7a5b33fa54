// Receive path cost: protocol::feed on one masked client frame (parse, unmask in place,
// deliver a view), and the word-wise mask against the byte loop.
#include <benchmark/benchmark.h>

#include <algorithm>

#include <vector>

#include "ws/frame.h"
#include "ws/protocol.h"

namespace duplex::ws {
namespace {

// Counts the messages' bytes and keeps what is written.
struct null_handler final : protocol_handler {
  std::size_t bytes = 0;
  std::vector<std::byte> out;
  void on_message(opcode, std::span<const std::byte> p) override { bytes += p.size(); }
  void write(std::span<const std::byte> b) override { out.insert(out.end(), b.begin(), b.end()); }
  void write(const shared_payload& p) override { write(p.bytes()); }
};

std::vector<std::byte> client_frame(std::size_t size, opcode op) {
  null_handler h;
  protocol_options o;
  o.role = role::client;
  protocol client(o, h);
  std::vector<std::byte> payload(size, std::byte{'a'});
  client.send(op, payload);
  return h.out;
}

void feed_frame(benchmark::State& state, opcode op) {
  const auto frame = client_frame(static_cast<std::size_t>(state.range(0)), op);
  null_handler h;
  protocol server({}, h);
  std::vector<std::byte> buf = frame;
  for (auto _ : state) {
    // Re-masking the unmasked buffer in place is what feed does; refresh the bytes so that
    // text validation sees the same payload each time.
    std::copy(frame.begin(), frame.end(), buf.begin());
    benchmark::DoNotOptimize(server.feed(buf));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * frame.size()));
}
void BM_feed_binary(benchmark::State& s) { feed_frame(s, opcode::binary); }
void BM_feed_text(benchmark::State& s) { feed_frame(s, opcode::text); }
BENCHMARK(BM_feed_binary)->Arg(32)->Arg(4096);
BENCHMARK(BM_feed_text)->Arg(32)->Arg(4096);

void BM_apply_mask(benchmark::State& state) {
  std::vector<std::byte> data(static_cast<std::size_t>(state.range(0)), std::byte{7});
  for (auto _ : state) {
    apply_mask(data, 0x12345678, 1);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * data.size()));
}
void BM_apply_mask_bytewise(benchmark::State& state) {
  std::vector<std::byte> data(static_cast<std::size_t>(state.range(0)), std::byte{7});
  for (auto _ : state) {
    apply_mask_bytewise(data, 0x12345678, 1);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_apply_mask)->Arg(32)->Arg(4096)->Arg(65536);
BENCHMARK(BM_apply_mask_bytewise)->Arg(32)->Arg(4096)->Arg(65536);

void BM_parse_header(benchmark::State& state) {
  const auto frame = client_frame(4096, opcode::binary);
  frame_header h;
  for (auto _ : state) benchmark::DoNotOptimize(parse_frame_header(frame, h));
}
BENCHMARK(BM_parse_header);

}  // namespace
}  // namespace duplex::ws
