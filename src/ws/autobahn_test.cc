// Autobahn|Testsuite sections 1-7, ported to protocol-level table rows (see
// autobahn_test_util.h). Case ids follow the suite's numbering; a suffix names the chopping
// variant we add (w = one buffer, c1 = one byte at a time, c7 = 7 bytes at a time).
#include <gtest/gtest.h>

#include "ws/autobahn_test_util.h"

namespace duplex::ws::test {
namespace {

std::string bytes_of(std::initializer_list<unsigned> b) {
  std::string s;
  for (unsigned c : b) s.push_back(static_cast<char>(c));
  return s;
}

// Adds the row as sent in one buffer, and chopped into 1-byte and 7-byte reads.
void add_chopped(std::vector<ab_row>& rows, const ab_row& r) {
  for (std::size_t chop : {std::size_t{0}, std::size_t{1}, std::size_t{7}}) {
    if (chop == 1 && r.input.size() > 70000) continue;
    ab_row c = r;
    c.chop = chop;
    c.id += chop == 0 ? "_w" : "_c" + std::to_string(chop);
    rows.push_back(std::move(c));
  }
}

// ------------------------------------------------------------------ 1: framing
std::vector<ab_row> section1() {
  std::vector<ab_row> rows;
  const std::size_t lengths[] = {0, 125, 126, 127, 128, 65535, 65536};
  for (unsigned kind = 1; kind <= 2; ++kind) {
    int n = 1;
    for (std::size_t len : lengths) {
      std::string payload(len, kind == 1 ? '*' : '\xFE');
      const event want = kind == 1 ? text(payload) : binary(payload);
      add_chopped(rows, {"1." + std::to_string(kind) + "." + std::to_string(n++),
                         frame(kind, payload), {want}, stays_open()});
    }
    // 1.x.8: 65536 bytes sent in chops of 997 octets.
    std::string payload(65536, kind == 1 ? '*' : '\xFE');
    rows.push_back({"1." + std::to_string(kind) + ".8", frame(kind, payload),
                    {kind == 1 ? text(payload) : binary(payload)}, stays_open(), 997});
  }
  return rows;
}

// ------------------------------------------------------------------ 2: pings and pongs
std::vector<ab_row> section2() {
  std::vector<ab_row> rows;
  const std::string bin = bytes_of({0x00, 0xFF, 0xFE, 0xFD, 0xFC, 0xFB, 0x00, 0xFF});
  add_chopped(rows, {"2.1", frame(0x9, ""), {pong("")}, stays_open()});
  add_chopped(rows, {"2.2", frame(0x9, "Hello, world!"), {pong("Hello, world!")}, stays_open()});
  add_chopped(rows, {"2.3", frame(0x9, bin), {pong(bin)}, stays_open()});
  add_chopped(rows, {"2.4", frame(0x9, std::string(125, '\xFE')), {pong(std::string(125, '\xFE'))}, stays_open()});
  add_chopped(rows, {"2.5", frame(0x9, std::string(126, '\xFE')), {}, fails(1002)});
  rows.push_back({"2.6", frame(0x9, std::string(125, '\xFE')), {pong(std::string(125, '\xFE'))}, stays_open(), 1});
  add_chopped(rows, {"2.7", frame(0xA, ""), {}, stays_open()});
  add_chopped(rows, {"2.8", frame(0xA, "unsolicited pong payload"), {}, stays_open()});
  add_chopped(rows, {"2.9", concat({frame(0xA, "unsolicited pong payload"), frame(0x9, "ping payload")}),
                     {pong("ping payload")}, stays_open()});
  std::vector<std::byte> ten;
  std::vector<event> ten_pongs;
  for (int i = 0; i < 10; ++i) {
    ten = concat({ten, frame(0x9, "payload-" + std::to_string(i))});
    ten_pongs.push_back(pong("payload-" + std::to_string(i)));
  }
  rows.push_back({"2.10", ten, ten_pongs, stays_open()});
  rows.push_back({"2.11", ten, ten_pongs, stays_open(), 1});
  // Pong payloads of every length 0..125 echo exactly.
  for (std::size_t len = 0; len <= 125; len += 5) {
    std::string p(len, static_cast<char>('a' + len % 26));
    rows.push_back({"2.len" + std::to_string(len), frame(0x9, p), {pong(p)}, stays_open()});
  }
  return rows;
}

// ------------------------------------------------------------------ 3: reserved bits
std::vector<ab_row> section3() {
  std::vector<ab_row> rows;
  const auto ping = frame(0x9, "");
  add_chopped(rows, {"3.1", frame(0x1, "Hello, world!", true, 1), {}, fails(1002)});
  add_chopped(rows, {"3.2", concat({frame(0x1, "Hello, world!"), frame(0x1, "Hello, world!", true, 2), ping}),
                     {text("Hello, world!")}, fails(1002)});
  add_chopped(rows, {"3.3", concat({frame(0x1, "Hello, world!"), frame(0x1, "Hello, world!", true, 3), ping}),
                     {text("Hello, world!")}, fails(1002)});
  add_chopped(rows, {"3.4", concat({frame(0x1, "Hello, world!"), frame(0x1, "Hello, world!", true, 4), ping}),
                     {text("Hello, world!")}, fails(1002)});
  add_chopped(rows, {"3.5", frame(0x2, bytes_of({0, 0xFF, 0xFE}), true, 5), {}, fails(1002)});
  add_chopped(rows, {"3.6", frame(0x9, "Hello, world!", true, 6), {}, fails(1002)});
  add_chopped(rows, {"3.7", frame(0x8, "", true, 7), {}, fails(1002)});
  return rows;
}

// ------------------------------------------------------------------ 4: opcodes
std::vector<ab_row> section4() {
  std::vector<ab_row> rows;
  const auto hello = frame(0x1, "Hello, world!");
  const auto ping = frame(0x9, "");
  const unsigned data_ops[] = {3, 4, 5, 6, 7};
  const unsigned ctrl_ops[] = {0xB, 0xC, 0xD, 0xE, 0xF};
  for (int group = 1; group <= 2; ++group) {
    const unsigned* ops = group == 1 ? data_ops : ctrl_ops;
    // x.1: bare reserved opcode; x.2: with payload; x.3-x.5: after a text and before a ping.
    add_chopped(rows, {"4." + std::to_string(group) + ".1", frame(ops[0], ""), {}, fails(1002)});
    add_chopped(rows, {"4." + std::to_string(group) + ".2", frame(ops[1], "reserved opcode payload"), {}, fails(1002)});
    for (int k = 2; k < 5; ++k) {
      add_chopped(rows, {"4." + std::to_string(group) + "." + std::to_string(k + 1),
                         concat({hello, frame(ops[k], k == 2 ? "" : "reserved opcode payload"), ping}),
                         {text("Hello, world!")}, fails(1002)});
    }
  }
  return rows;
}

// ------------------------------------------------------------------ 5: fragmentation
std::vector<ab_row> section5() {
  std::vector<ab_row> rows;
  const auto f1 = frame(0x1, "fragment1", false);
  const auto f2 = frame(0x0, "fragment2");
  const auto ping = frame(0x9, "ping payload");
  add_chopped(rows, {"5.1", concat({frame(0x9, "fragment1", false), frame(0x0, "fragment2")}), {}, fails(1002)});
  add_chopped(rows, {"5.2", concat({frame(0xA, "fragment1", false), frame(0x0, "fragment2")}), {}, fails(1002)});
  add_chopped(rows, {"5.3", concat({f1, f2}), {text("fragment1fragment2")}, stays_open()});
  rows.push_back({"5.4", concat({f1, f2}), {text("fragment1fragment2")}, stays_open(), f1.size()});
  rows.push_back({"5.5", concat({f1, f2}), {text("fragment1fragment2")}, stays_open(), 1});
  add_chopped(rows, {"5.6", concat({f1, ping, f2}), {pong("ping payload"), text("fragment1fragment2")}, stays_open()});
  rows.push_back({"5.7", concat({f1, ping, f2}), {pong("ping payload"), text("fragment1fragment2")}, stays_open(), f1.size()});
  rows.push_back({"5.8", concat({f1, ping, f2}), {pong("ping payload"), text("fragment1fragment2")}, stays_open(), 1});
  const auto orphan_fin = frame(0x0, "non-continuation payload");
  const auto orphan_nofin = frame(0x0, "non-continuation payload", false);
  const auto hello = frame(0x1, "Hello, world!");
  for (int v = 0; v < 3; ++v) {
    const std::size_t chop = v == 0 ? 0 : v == 1 ? orphan_fin.size() : 1;
    rows.push_back({"5." + std::to_string(9 + v), concat({orphan_fin, hello}), {}, fails(1002), chop});
    rows.push_back({"5." + std::to_string(12 + v), concat({orphan_nofin, hello}), {}, fails(1002), chop});
  }
  add_chopped(rows, {"5.15", concat({f1, f2, frame(0x0, "fragment3", false), frame(0x0, "fragment4")}),
                     {text("fragment1fragment2")}, fails(1002)});
  add_chopped(rows, {"5.16", concat({orphan_nofin, f1, f2, orphan_nofin, f1, f2}), {}, fails(1002)});
  add_chopped(rows, {"5.17", concat({orphan_fin, f1, f2, orphan_fin, f1, f2}), {}, fails(1002)});
  add_chopped(rows, {"5.18", concat({f1, frame(0x1, "fragment2")}), {}, fails(1002)});
  const auto five = concat({frame(0x1, "fragment1", false), frame(0x0, "fragment2", false),
                            frame(0x9, "pongme 1!"), frame(0x0, "fragment3", false),
                            frame(0x0, "fragment4", false), frame(0x9, "pongme 2!"),
                            frame(0x0, "fragment5")});
  const std::vector<event> five_want = {pong("pongme 1!"), pong("pongme 2!"),
                                        text("fragment1fragment2fragment3fragment4fragment5")};
  add_chopped(rows, {"5.19", five, five_want, stays_open()});
  rows.push_back({"5.20", five, five_want, stays_open(), 3});
  // Binary fragmentation and empty fragments.
  add_chopped(rows, {"5.bin", concat({frame(0x2, bytes_of({1, 2}), false), frame(0x0, "", false), frame(0x0, bytes_of({3}))}),
                     {binary(bytes_of({1, 2, 3}))}, stays_open()});
  return rows;
}

// ------------------------------------------------------------------ 6: UTF-8
struct utf8_sample {
  std::string id;
  std::string text;
  bool valid;
};

std::vector<utf8_sample> utf8_samples() {
  const std::string kosme = bytes_of({0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5});
  std::vector<utf8_sample> s = {
      {"6.2", "Hello-\xC2\xB5@\xC3\x9F\xC3\xB6\xC3\xA4\xC3\xBC\xC3\xA0\xC3\xA1-UTF-8!!", true},
      {"6.3", kosme + bytes_of({0xED, 0xA0, 0x80}) + "edited", false},
      {"6.5.1", kosme, true},
      {"6.7.1", bytes_of({0x00}), true},
      {"6.7.2", bytes_of({0xC2, 0x80}), true},
      {"6.7.3", bytes_of({0xE0, 0xA0, 0x80}), true},
      {"6.7.4", bytes_of({0xF0, 0x90, 0x80, 0x80}), true},
      {"6.8.1", bytes_of({0xF8, 0x88, 0x80, 0x80, 0x80}), false},
      {"6.8.2", bytes_of({0xFC, 0x84, 0x80, 0x80, 0x80, 0x80}), false},
      {"6.9.1", bytes_of({0x7F}), true},
      {"6.9.2", bytes_of({0xDF, 0xBF}), true},
      {"6.9.3", bytes_of({0xEF, 0xBF, 0xBF}), true},
      {"6.9.4", bytes_of({0xF4, 0x8F, 0xBF, 0xBF}), true},
      {"6.10.1", bytes_of({0xF7, 0xBF, 0xBF, 0xBF}), false},
      {"6.10.2", bytes_of({0xFB, 0xBF, 0xBF, 0xBF, 0xBF}), false},
      {"6.10.3", bytes_of({0xFD, 0xBF, 0xBF, 0xBF, 0xBF, 0xBF}), false},
      {"6.11.1", bytes_of({0xED, 0x9F, 0xBF}), true},
      {"6.11.2", bytes_of({0xEE, 0x80, 0x80}), true},
      {"6.11.3", bytes_of({0xEF, 0xBF, 0xBD}), true},
      {"6.11.4", bytes_of({0xF4, 0x8F, 0xBF, 0xBF}), true},
      {"6.11.5", bytes_of({0xF4, 0x90, 0x80, 0x80}), false},
      {"6.12.1", bytes_of({0x80}), false},
      {"6.12.2", bytes_of({0xBF}), false},
      {"6.12.3", bytes_of({0x80, 0xBF}), false},
      {"6.12.4", bytes_of({0x80, 0xBF, 0x80}), false},
      {"6.12.8", bytes_of({0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87}), false},
      {"6.13.1", bytes_of({0xC0, 0x20, 0xC1, 0x20, 0xC2, 0x20}), false},
      {"6.13.2", bytes_of({0xE0, 0x20, 0xE1, 0x20}), false},
      {"6.13.3", bytes_of({0xF0, 0x20, 0xF1, 0x20}), false},
      {"6.13.4", bytes_of({0xF8, 0x20}), false},
      {"6.13.5", bytes_of({0xFC, 0x20}), false},
      {"6.14.1", bytes_of({0xC0}), false},
      {"6.14.2", bytes_of({0xE0, 0x80}), false},
      {"6.14.3", bytes_of({0xF0, 0x80, 0x80}), false},
      {"6.14.6", bytes_of({0xDF}), false},
      {"6.14.7", bytes_of({0xEF, 0xBF}), false},
      {"6.14.8", bytes_of({0xF7, 0xBF, 0xBF}), false},
      {"6.15.1", bytes_of({0xC0, 0xE0, 0x80, 0xF0, 0x80, 0x80, 0xF8, 0x88, 0x80, 0x80, 0xDF, 0xEF, 0xBF}), false},
      {"6.16.1", bytes_of({0xFE}), false},
      {"6.16.2", bytes_of({0xFF}), false},
      {"6.16.3", bytes_of({0xFE, 0xFE, 0xFF, 0xFF}), false},
      {"6.17.1", bytes_of({0xC0, 0xAF}), false},
      {"6.17.2", bytes_of({0xE0, 0x80, 0xAF}), false},
      {"6.17.3", bytes_of({0xF0, 0x80, 0x80, 0xAF}), false},
      {"6.18.1", bytes_of({0xC1, 0xBF}), false},
      {"6.18.2", bytes_of({0xE0, 0x9F, 0xBF}), false},
      {"6.18.3", bytes_of({0xF0, 0x8F, 0xBF, 0xBF}), false},
      {"6.19.1", bytes_of({0xC0, 0x80}), false},
      {"6.19.2", bytes_of({0xE0, 0x80, 0x80}), false},
      {"6.20.1", bytes_of({0xED, 0xA0, 0x80}), false},
      {"6.20.4", bytes_of({0xED, 0xAF, 0xBF}), false},
      {"6.20.5", bytes_of({0xED, 0xB0, 0x80}), false},
      {"6.20.7", bytes_of({0xED, 0xBF, 0xBF}), false},
      {"6.21.1", bytes_of({0xED, 0xA0, 0x80, 0xED, 0xB0, 0x80}), false},
      {"6.21.8", bytes_of({0xED, 0xAF, 0xBF, 0xED, 0xBF, 0xBF}), false},
      {"6.22.1", bytes_of({0xEF, 0xBF, 0xBE}), true},   // U+FFFE: a noncharacter, valid UTF-8
      {"6.22.2", bytes_of({0xEF, 0xBF, 0xBF}), true},   // U+FFFF
      {"6.22.3", bytes_of({0xF0, 0x9F, 0xBF, 0xBE}), true},
      {"6.22.34", bytes_of({0xF4, 0x8F, 0xBF, 0xBF}), true},
      {"6.23.1", bytes_of({0xEF, 0xBF, 0xBD}), true},   // U+FFFD
      {"6.23.7", bytes_of({0xEF, 0xBB, 0xBF}), true},   // BOM
  };
  // 6.6.x: every prefix of "κόσμε"; prefixes ending inside a code point are invalid.
  for (std::size_t n = 1; n <= kosme.size(); ++n) {
    const bool boundary = n == 2 || n == 5 || n == 7 || n == 9 || n == 11;
    s.push_back({"6.6." + std::to_string(n), kosme.substr(0, n), boundary});
  }
  return s;
}

std::vector<ab_row> section6() {
  std::vector<ab_row> rows;
  add_chopped(rows, {"6.1.1", frame(0x1, ""), {text("")}, stays_open()});
  add_chopped(rows, {"6.1.2", concat({frame(0x1, "", false), frame(0x0, "", false), frame(0x0, "")}),
                     {text("")}, stays_open()});
  add_chopped(rows, {"6.1.3", concat({frame(0x1, "", false), frame(0x0, "middle frame payload", false), frame(0x0, "")}),
                     {text("middle frame payload")}, stays_open()});
  for (const auto& s : utf8_samples()) {
    const std::vector<event> want = s.valid ? std::vector<event>{text(s.text)} : std::vector<event>{};
    const outcome result = s.valid ? stays_open() : fails(1007);
    // One frame, in one buffer and chopped.
    add_chopped(rows, {s.id + "_frame", frame(0x1, s.text), want, result});
    // One frame per byte (6.2.3/6.2.4-style fragmentation at every byte).
    std::vector<std::byte> frags;
    for (std::size_t i = 0; i < s.text.size(); ++i) {
      frags = concat({frags, frame(i == 0 ? 0x1 : 0x0, s.text.substr(i, 1), i + 1 == s.text.size())});
    }
    if (!s.text.empty()) rows.push_back({s.id + "_frag", frags, want, result});
  }
  // 6.4.x fail fast: the rest of the message is never sent, so the server must fail on the
  // invalid code point itself, not at the end of the message.
  const std::string kosme = bytes_of({0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5});
  rows.push_back({"6.4.1", concat({frame(0x1, kosme, false), frame(0x0, bytes_of({0xF4, 0x90, 0x80, 0x80}), false)}),
                  {}, fails(1007)});
  rows.push_back({"6.4.2", concat({frame(0x1, kosme + bytes_of({0xF4}), false), frame(0x0, bytes_of({0x90}), false)}),
                  {}, fails(1007)});
  {
    // 6.4.3/6.4.4: one frame announcing the whole message; only a prefix arrives.
    const std::string whole = kosme + bytes_of({0xF4, 0x90, 0x80, 0x80}) + "edited";
    auto f = frame(0x1, whole);
    const std::size_t header = 6;
    for (std::size_t upto : {kosme.size() + 4, kosme.size() + 2}) {
      std::vector<std::byte> prefix(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(header + upto));
      rows.push_back({upto == kosme.size() + 4 ? "6.4.3" : "6.4.4", prefix, {}, fails(1007)});
      rows.push_back({upto == kosme.size() + 4 ? "6.4.3_c1" : "6.4.4_c1", prefix, {}, fails(1007), 1});
    }
  }
  return rows;
}

// ------------------------------------------------------------------ 7: close handling
std::vector<ab_row> section7() {
  std::vector<ab_row> rows;
  const auto c1000 = close_frame(1000);
  add_chopped(rows, {"7.1.1", concat({frame(0x1, "Hello World!"), c1000}), {text("Hello World!")}, closes(1000)});
  add_chopped(rows, {"7.1.2", concat({c1000, c1000}), {}, closes(1000)});
  add_chopped(rows, {"7.1.3", concat({c1000, frame(0x9, "")}), {}, closes(1000)});
  add_chopped(rows, {"7.1.4", concat({c1000, frame(0x1, "Hello World!")}), {}, closes(1000)});
  add_chopped(rows, {"7.1.5", concat({frame(0x1, "fragment1", false), c1000, frame(0x0, "fragment2")}), {}, closes(1000)});
  {
    std::string big(256 * 1024, 'B');
    ab_row r{"7.1.6", concat({frame(0x1, big), c1000, frame(0x9, "")}), {text(big)}, closes(1000)};
    add_chopped(rows, r);
  }
  add_chopped(rows, {"7.3.1", frame(0x8, ""), {}, closes(close_code::no_status)});
  add_chopped(rows, {"7.3.2", frame(0x8, "a"), {}, fails(1002)});
  add_chopped(rows, {"7.3.3", c1000, {}, closes(1000)});
  add_chopped(rows, {"7.3.4", close_frame(1000, std::string(123, '*')), {}, closes(1000)});
  add_chopped(rows, {"7.3.5", close_frame(1000, std::string(124, '*')), {}, fails(1002)});
  add_chopped(rows, {"7.3.6", close_frame(1000, bytes_of({0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5, 0xED, 0xA0, 0x80, 0x65, 0x64})),
                     {}, fails(1007)});
  add_chopped(rows, {"7.5.1", close_frame(1000, bytes_of({0xCE, 0xBA, 0xE1, 0xBD, 0xB9, 0xCF, 0x83, 0xCE, 0xBC, 0xCE, 0xB5, 0xED, 0xA0, 0x80})),
                     {}, fails(1007)});
  int n = 1;
  for (std::uint16_t code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999}) {
    add_chopped(rows, {"7.7." + std::to_string(n++) + "_" + std::to_string(code), close_frame(code), {}, closes(code)});
  }
  n = 1;
  for (std::uint16_t code : {0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999}) {
    add_chopped(rows, {"7.9." + std::to_string(n++) + "_" + std::to_string(code), close_frame(code), {}, fails(1002)});
  }
  add_chopped(rows, {"7.13.1", close_frame(5000), {}, fails(1002)});
  add_chopped(rows, {"7.13.2", close_frame(65535), {}, fails(1002)});
  return rows;
}

class autobahn : public testing::TestWithParam<ab_row> {};
TEST_P(autobahn, case) { run_row(GetParam()); }

INSTANTIATE_TEST_SUITE_P(s1_framing, autobahn, testing::ValuesIn(section1()), row_name);
INSTANTIATE_TEST_SUITE_P(s2_ping_pong, autobahn, testing::ValuesIn(section2()), row_name);
INSTANTIATE_TEST_SUITE_P(s3_reserved_bits, autobahn, testing::ValuesIn(section3()), row_name);
INSTANTIATE_TEST_SUITE_P(s4_opcodes, autobahn, testing::ValuesIn(section4()), row_name);
INSTANTIATE_TEST_SUITE_P(s5_fragmentation, autobahn, testing::ValuesIn(section5()), row_name);
INSTANTIATE_TEST_SUITE_P(s6_utf8, autobahn, testing::ValuesIn(section6()), row_name);
INSTANTIATE_TEST_SUITE_P(s7_close, autobahn, testing::ValuesIn(section7()), row_name);

}  // namespace
}  // namespace duplex::ws::test
