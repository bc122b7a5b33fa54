// The incremental DFA (with its 8-byte ASCII skip) against simdjson's SIMD validator.
#include <benchmark/benchmark.h>

#include <string>

#include "base/utf8.h"

namespace duplex {
namespace {

std::string make_text(std::size_t n, bool ascii) {
  std::string s;
  const std::string unit = ascii ? "The quick brown fox. " : "κόσμε — 日本語 😀 abc ";
  while (s.size() + unit.size() <= n) s += unit;
  while (s.size() < n) s += 'x';
  return s;
}

template <bool Ascii>
void BM_dfa(benchmark::State& state) {
  const std::string t = make_text(static_cast<std::size_t>(state.range(0)), Ascii);
  const auto b = std::as_bytes(std::span<const char>(t.data(), t.size()));
  for (auto _ : state) benchmark::DoNotOptimize(is_valid_utf8_dfa(b));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * t.size()));
}
template <bool Ascii>
void BM_simdjson(benchmark::State& state) {
  const std::string t = make_text(static_cast<std::size_t>(state.range(0)), Ascii);
  const auto b = std::as_bytes(std::span<const char>(t.data(), t.size()));
  for (auto _ : state) benchmark::DoNotOptimize(is_valid_utf8(b));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * t.size()));
}
BENCHMARK(BM_dfa<true>)->Arg(32)->Arg(4096)->Arg(1 << 20);
BENCHMARK(BM_simdjson<true>)->Arg(32)->Arg(4096)->Arg(1 << 20);
BENCHMARK(BM_dfa<false>)->Arg(32)->Arg(4096)->Arg(1 << 20);
BENCHMARK(BM_simdjson<false>)->Arg(32)->Arg(4096)->Arg(1 << 20);

}  // namespace
}  // namespace duplex
