// Hot paths of the Centrifugo codec: parsing a subscribe command (every subscribe and every
// resubscribe after a reconnect storm) and encoding a publication push (once per publication
// and channel; the bytes are then shared by all subscribers).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "centrifuge/codec/command_parser.h"
#include "centrifuge/codec/push_encoder.h"

namespace duplex::centrifuge {
namespace {

void BM_parse_subscribe(benchmark::State& state) {
  const std::string frame =
      R"({"subscribe":{"channel":"chat:index","recover":true,"offset":1234,"epoch":"XyZw","flag":1},"id":7})";
  command_parser parser;
  std::vector<command> out;
  for (auto _ : state) {
    auto r = parser.parse(frame, out);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * frame.size()));
}
BENCHMARK(BM_parse_subscribe);

void BM_parse_subscribe_padded(benchmark::State& state) {
  std::string buf =
      R"({"subscribe":{"channel":"chat:index","recover":true,"offset":1234,"epoch":"XyZw","flag":1},"id":7})";
  const std::size_t n = buf.size();
  buf.append(command_parser::padding, ' ');
  command_parser parser;
  std::vector<command> out;
  for (auto _ : state) {
    auto r = parser.parse_padded(std::string_view(buf.data(), n), out);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_parse_subscribe_padded);

void BM_parse_publish_64b(benchmark::State& state) {
  const std::string frame =
      R"({"id":9,"publish":{"channel":"chat:index","data":{"text":"hello there, this is sixty-four bytes of text!!"}}})";
  command_parser parser;
  std::vector<command> out;
  for (auto _ : state) benchmark::DoNotOptimize(parser.parse(frame, out));
}
BENCHMARK(BM_parse_publish_64b);

void BM_encode_publication_push_string(benchmark::State& state) {
  const std::string data(62, 'x');
  const std::string json = "\"" + data + "\"";  // 64 bytes of JSON
  publication p{.data = json, .offset = 123456};
  std::string out;
  for (auto _ : state) {
    out.clear();
    encode_publication_push(out, "chat:index", p);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_encode_publication_push_string);

void BM_make_publication_push_shared(benchmark::State& state) {
  const std::string json = "\"" + std::string(62, 'x') + "\"";
  client_info info{.user = "42", .client = "5f1c2a"};
  publication p{.data = json, .info = state.range(0) ? &info : nullptr, .offset = 123456};
  for (auto _ : state) {
    shared_payload sp = make_publication_push("chat:index", p);
    benchmark::DoNotOptimize(sp.view().data());
  }
}
BENCHMARK(BM_make_publication_push_shared)->Arg(0)->Arg(1);

}  // namespace
}  // namespace duplex::centrifuge
