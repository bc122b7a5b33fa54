// Autobahn|Testsuite section 9 (limits and performance, run with raised limits) and sections
// 12/13 (permessage-deflate round trips for every parameter combination), at protocol level.
// Inputs are generated inside each test: holding 16 MiB inputs in static rows would cost
// hundreds of MiB before the first test runs.
#include <gtest/gtest.h>

#include <random>

#include "ws/autobahn_test_util.h"

namespace duplex::ws::test {
namespace {

protocol_options raised_limits() {
  protocol_options o;
  o.max_message_size = 16 * 1024 * 1024;
  o.max_fragments = 1 << 17;
  return o;
}

std::string payload_of(std::size_t n, bool text_like, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  static const char words[] = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do ";
  for (auto& c : s) c = text_like ? words[rng() % (sizeof words - 1)] : static_cast<char>(rng());
  return s;
}

// ------------------------------------------------------------------ 9: limits
struct limits_row {
  std::string id;
  bool text;
  std::size_t size;
  std::size_t fragment = 0;  // 0: one frame
  std::size_t chop = 0;      // 0: one buffer
  std::size_t count = 1;
  bool expect_too_big = false;
  protocol_options options = raised_limits();
};
void PrintTo(const limits_row& r, std::ostream* os) { *os << r.id; }

std::vector<limits_row> section9() {
  std::vector<limits_row> rows;
  const std::size_t sizes[] = {64 << 10, 256 << 10, 1 << 20, 4 << 20, 8 << 20, 16 << 20};
  const std::size_t frags[] = {64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20};
  const std::size_t chops[] = {64, 128, 256, 512, 1024, 2048};
  const std::size_t counts_sizes[] = {0, 16, 64, 256, 1024, 4096};
  for (int t = 0; t < 2; ++t) {
    const bool text = t == 0;
    int n = 1;
    for (auto s : sizes) rows.push_back({"9." + std::to_string(1 + t) + "." + std::to_string(n++), text, s});
    n = 1;
    for (auto f : frags) rows.push_back({"9." + std::to_string(3 + t) + "." + std::to_string(n++), text, 4 << 20, f});
    n = 1;
    for (auto c : chops) rows.push_back({"9." + std::to_string(5 + t) + "." + std::to_string(n++), text, 1 << 20, 0, c});
    n = 1;
    for (auto s : counts_sizes) {
      rows.push_back({"9." + std::to_string(7 + t) + "." + std::to_string(n++), text, s, 0, 0, 1000});
    }
  }
  // Past the limits: the default 1 MiB, and the raised 16 MiB.
  rows.push_back({"9.over.default", true, (1 << 20) + 1, 0, 0, 1, true, protocol_options{}});
  rows.push_back({"9.over.default_fragmented", false, (1 << 20) + 1, 4096, 0, 1, true, protocol_options{}});
  rows.push_back({"9.over.raised", false, (16 << 20) + 1, 0, 0, 1, true});
  return rows;
}

class autobahn_limits : public testing::TestWithParam<limits_row> {};

TEST_P(autobahn_limits, case) {
  const limits_row& r = GetParam();
  const std::string payload = payload_of(r.size, r.text, static_cast<unsigned>(r.size));
  const unsigned op = r.text ? 0x1 : 0x2;
  std::vector<std::byte> input;
  for (std::size_t m = 0; m < r.count; ++m) {
    if (r.fragment == 0) {
      auto f = frame(op, payload);
      input.insert(input.end(), f.begin(), f.end());
      continue;
    }
    for (std::size_t off = 0; off < payload.size(); off += r.fragment) {
      const bool fin = off + r.fragment >= payload.size();
      auto f = frame(off == 0 ? op : 0x0, std::string_view(payload).substr(off, r.fragment), fin);
      input.insert(input.end(), f.begin(), f.end());
    }
  }
  echo_pair e(r.options);
  e.run(input, r.chop);
  if (r.expect_too_big) {
    ASSERT_TRUE(e.srv.last_of(event::fail));
    EXPECT_EQ(e.srv.last_of(event::fail)->code, 1009);
    EXPECT_EQ(e.cli.last_of(event::close)->code, 1009);
    return;
  }
  EXPECT_FALSE(e.srv.last_of(event::fail));
  const auto got = e.cli.messages_and_pongs();
  ASSERT_EQ(got.size(), r.count);
  for (const auto& g : got) {
    ASSERT_EQ(g.op, r.text ? opcode::text : opcode::binary);
    ASSERT_EQ(g.data.size(), payload.size());
    ASSERT_TRUE(g.data == payload);
  }
  EXPECT_EQ(e.server.buffered_bytes(), 0u) << "buffers released after the message";
}

std::string limits_name(const testing::TestParamInfo<limits_row>& info) {
  std::string s = "case_" + info.param.id;
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return s;
}
INSTANTIATE_TEST_SUITE_P(s9_limits, autobahn_limits, testing::ValuesIn(section9()), limits_name);

// ------------------------------------------------------------------ 12/13: permessage-deflate
struct deflate_row {
  std::string id;
  deflate_params params;
  std::size_t size;
  bool text;
  std::size_t count = 20;
  std::size_t chop = 0;
};
void PrintTo(const deflate_row& r, std::ostream* os) { *os << r.id; }

std::vector<deflate_row> sections12_13() {
  std::vector<deflate_row> rows;
  const std::size_t sizes12[] = {16, 64, 256, 1024, 4096, 8192, 16384, 32768, 65536, 131072};
  int n = 1;
  for (bool text : {true, false}) {
    for (auto s : sizes12) {
      rows.push_back({"12." + std::string(text ? "1." : "2.") + std::to_string(n++), {}, s, text});
    }
    n = 1;
  }
  // 12.x with chopped delivery (the suite's "sent in chops" variants).
  rows.push_back({"12.chop.4096", {}, 65536, true, 5, 4096});
  rows.push_back({"12.chop.1", {}, 300, true, 3, 1});
  // 13.x: every combination of context takeover and window bits (8 is compressed with 9).
  const std::size_t sizes13[] = {16, 64, 256, 1024, 4096, 65536, 131072};
  for (bool snct : {false, true}) {
    for (bool cnct : {false, true}) {
      for (std::uint8_t bits : {8, 9, 12, 15}) {
        for (auto s : sizes13) {
          deflate_params p;
          p.server_no_context_takeover = snct;
          p.client_no_context_takeover = cnct;
          p.server_max_window_bits = bits;
          p.client_max_window_bits = bits;
          rows.push_back({"13.s" + std::to_string(snct) + "c" + std::to_string(cnct) + ".w" +
                              std::to_string(bits) + "." + std::to_string(s),
                          p, s, true});
        }
      }
    }
  }
  return rows;
}

class autobahn_deflate : public testing::TestWithParam<deflate_row> {};

TEST_P(autobahn_deflate, case) {
  const deflate_row& r = GetParam();
  echo_pair e({}, r.params, true);
  std::vector<event> want;
  for (std::size_t m = 0; m < r.count; ++m) {
    // Messages repeat with variations so that context takeover has something to refer to.
    const std::string payload = payload_of(r.size, r.text, static_cast<unsigned>(m % 3));
    const opcode op = r.text ? opcode::text : opcode::binary;
    ASSERT_TRUE(e.client.send(op, to_bytes(payload), true));
    want.push_back(msg(op, payload));
  }
  ASSERT_FALSE(e.cli.out.empty());
  EXPECT_EQ(std::to_integer<unsigned>(e.cli.out[0]) & 0x40u, 0x40u) << "RSV1: compressed";
  std::vector<std::byte> client_bytes;
  client_bytes.swap(e.cli.out);
  feed_chopped(e.server, client_bytes, r.chop == 0 ? client_bytes.size() + 1 : r.chop);
  ASSERT_FALSE(e.srv.last_of(event::fail)) << name_of(e.srv.last_of(event::fail)->err);
  ASSERT_FALSE(e.srv.out.empty());
  EXPECT_EQ(std::to_integer<unsigned>(e.srv.out[0]) & 0x40u, 0x40u) << "echo compressed too";
  if (r.text && r.size >= 1024) {
    EXPECT_LT(e.srv.out.size(), r.size * r.count) << "echo is compressed as well";
  }
  std::vector<std::byte> server_bytes;
  server_bytes.swap(e.srv.out);
  e.client.feed(server_bytes);
  ASSERT_FALSE(e.cli.last_of(event::fail)) << name_of(e.cli.last_of(event::fail)->err);
  EXPECT_EQ(e.cli.messages_and_pongs(), want);
  // Then the closing handshake completes normally.
  ASSERT_TRUE(e.client.close(1000));
  e.flush_client();
  EXPECT_EQ(e.server.state(), protocol_state::closed);
  EXPECT_EQ(e.client.state(), protocol_state::closed);
}

std::string deflate_name(const testing::TestParamInfo<deflate_row>& info) {
  std::string s = "case_" + info.param.id;
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return s;
}
INSTANTIATE_TEST_SUITE_P(s12_13_deflate, autobahn_deflate, testing::ValuesIn(sections12_13()),
                         deflate_name);

}  // namespace
}  // namespace duplex::ws::test
