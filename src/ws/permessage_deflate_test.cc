#include "ws/permessage_deflate.h"

#include <gtest/gtest.h>

#include <random>

#include "ws/deflater.h"
#include "ws/inflater.h"

namespace duplex::ws {
namespace {

TEST(permessage_deflate, parses_valid_params) {
  auto o = parse_deflate_params(
      "server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; "
      "client_max_window_bits=\"9\"");
  ASSERT_TRUE(o);
  EXPECT_TRUE(o->server_no_context_takeover);
  EXPECT_TRUE(o->client_no_context_takeover);
  EXPECT_EQ(o->server_max_window_bits, 10);
  EXPECT_TRUE(o->client_max_window_bits_present);
  EXPECT_EQ(o->client_max_window_bits, 9);
  auto bare = parse_deflate_params("client_max_window_bits");
  ASSERT_TRUE(bare);
  EXPECT_TRUE(bare->client_max_window_bits_present);
  EXPECT_FALSE(bare->client_max_window_bits);
  EXPECT_TRUE(parse_deflate_params(""));
}

TEST(permessage_deflate, rejects_invalid_params) {
  for (const char* p :
       {"server_no_context_takeover; server_no_context_takeover", "foo", "server_max_window_bits",
        "server_max_window_bits=7", "server_max_window_bits=16", "server_max_window_bits=010",
        "client_max_window_bits=abc", "client_max_window_bits; client_max_window_bits=10",
        "server_no_context_takeover=1", ";", "server_max_window_bits=1x"}) {
    EXPECT_FALSE(parse_deflate_params(p)) << p;
  }
}

struct negotiation_case {
  const char* offer;
  deflate_config config;
  bool accepted;
  const char* response;
  deflate_params params;
};

TEST(permessage_deflate, server_negotiation_table) {
  const deflate_config def{};
  deflate_config snct{};
  snct.server_no_context_takeover = true;
  deflate_config cnct{};
  cnct.client_no_context_takeover = true;
  deflate_config small{};
  small.server_max_window_bits = 10;
  small.client_max_window_bits = 11;
  deflate_config off{};
  off.enabled = false;
  const negotiation_case cases[] = {
      {"permessage-deflate", def, true, "permessage-deflate", {}},
      {"permessage-deflate; client_max_window_bits", def, true, "permessage-deflate", {}},
      {"permessage-deflate; server_no_context_takeover", def, true,
       "permessage-deflate; server_no_context_takeover", {true, false, 15, 15}},
      {"permessage-deflate", snct, true, "permessage-deflate; server_no_context_takeover",
       {true, false, 15, 15}},
      {"permessage-deflate", cnct, true, "permessage-deflate; client_no_context_takeover",
       {false, true, 15, 15}},
      {"permessage-deflate; server_max_window_bits=8", def, true,
       "permessage-deflate; server_max_window_bits=8", {false, false, 8, 15}},
      {"permessage-deflate; client_max_window_bits=9", def, true,
       "permessage-deflate; client_max_window_bits=9", {false, false, 15, 9}},
      {"permessage-deflate; client_max_window_bits", small, true,
       "permessage-deflate; client_max_window_bits=11",
       {false, false, 10, 11}},
      // We need the client to shrink its window but it did not allow it: decline that offer.
      {"permessage-deflate", small, false, "", {}},
      // First offer invalid, second accepted.
      {"permessage-deflate; foo=1, permessage-deflate; client_no_context_takeover", def, true,
       "permessage-deflate; client_no_context_takeover", {false, true, 15, 15}},
      {"x-webkit-deflate-frame", def, false, "", {}},
      {"permessage-deflate", off, false, "", {}},
      {"permessage-deflate; server_max_window_bits=16", def, false, "", {}},
  };
  for (const auto& c : cases) {
    auto a = negotiate_deflate(c.offer, c.config);
    ASSERT_EQ(a.has_value(), c.accepted) << c.offer;
    if (!a) continue;
    EXPECT_EQ(a->response, c.response) << c.offer;
    EXPECT_EQ(a->params, c.params) << c.offer;
    // What we answer must be acceptable to a client that made this offer.
    auto params = std::string_view(a->response).substr(permessage_deflate_name.size());
    if (!params.empty()) params.remove_prefix(1);
    EXPECT_TRUE(parse_deflate_params(params)) << a->response;
  }
}

TEST(permessage_deflate, client_offer_and_response) {
  deflate_config c;
  EXPECT_EQ(format_deflate_offer(c), "permessage-deflate; client_max_window_bits");
  c.server_no_context_takeover = true;
  c.server_max_window_bits = 12;
  EXPECT_EQ(format_deflate_offer(c),
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=12; "
            "client_max_window_bits");
  EXPECT_FALSE(accept_deflate_response("", c)) << "server dropped our server_no_context_takeover";
  auto p = accept_deflate_response("server_no_context_takeover; server_max_window_bits=9", c);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->server_max_window_bits, 9);
  EXPECT_FALSE(accept_deflate_response("server_no_context_takeover; server_max_window_bits=13", c));
}

std::vector<std::byte> make_data(std::size_t n, unsigned seed, bool compressible) {
  std::mt19937 rng(seed);
  std::vector<std::byte> v(n);
  for (auto& b : v) b = std::byte(static_cast<std::uint8_t>(compressible ? "abcdefgh"[rng() % 8] : rng()));
  return v;
}

TEST(deflate_streams, round_trip_with_every_window_and_takeover) {
  for (std::uint8_t bits = 8; bits <= 15; ++bits) {
    for (bool nct : {false, true}) {
      deflater d(bits, nct);
      inflater i(bits, nct);
      for (std::size_t n : {0u, 1u, 100u, 5000u, 70000u}) {
        for (bool comp : {true, false}) {
          auto in = make_data(n, static_cast<unsigned>(n + bits), comp);
          std::vector<std::byte> z, out;
          ASSERT_TRUE(d.compress(in, z));
          ASSERT_EQ(i.inflate(z, out, 1 << 20), inflater::status::ok);
          ASSERT_EQ(i.finish(out, 1 << 20), inflater::status::ok);
          EXPECT_EQ(out, in) << int(bits) << " " << nct << " " << n;
        }
      }
    }
  }
}

TEST(deflate_streams, inflate_in_small_pieces) {
  deflater d(15, false);
  inflater i(15, false);
  auto in = make_data(20000, 7, true);
  std::vector<std::byte> z, out;
  ASSERT_TRUE(d.compress(in, z));
  for (std::size_t off = 0; off < z.size(); off += 3) {
    ASSERT_EQ(i.inflate(std::span(z).subspan(off, std::min<std::size_t>(3, z.size() - off)), out, 1 << 20),
              inflater::status::ok);
  }
  ASSERT_EQ(i.finish(out, 1 << 20), inflater::status::ok);
  EXPECT_EQ(out, in);
}

TEST(deflate_streams, bomb_fails_at_cap_without_growing_past_it) {
  deflater d(15, true, 9);
  std::vector<std::byte> zeros(16 << 20);
  std::vector<std::byte> z;
  ASSERT_TRUE(d.compress(zeros, z));
  EXPECT_LT(z.size(), 40000u);
  inflater i(15, true);
  std::vector<std::byte> out;
  EXPECT_EQ(i.inflate(z, out, 64 * 1024), inflater::status::too_big);
  EXPECT_LE(out.size(), 64u * 1024);
  EXPECT_LE(out.capacity(), 128u * 1024);
  // Exactly at the cap is fine.
  inflater j(15, true);
  std::vector<std::byte> exact, z2;
  deflater d2(15, true);
  std::vector<std::byte> msg(1000, std::byte{1});
  ASSERT_TRUE(d2.compress(msg, z2));
  ASSERT_EQ(j.inflate(z2, exact, 1000), inflater::status::ok);
  ASSERT_EQ(j.finish(exact, 1000), inflater::status::ok);
  EXPECT_EQ(exact.size(), 1000u);
  inflater k(15, true);
  std::vector<std::byte> under;
  auto s = k.inflate(z2, under, 999);
  if (s == inflater::status::ok) s = k.finish(under, 999);
  EXPECT_EQ(s, inflater::status::too_big);
}

TEST(deflate_streams, corrupt_input_is_reported) {
  inflater i(15, false);
  std::vector<std::byte> junk(64, std::byte{0xFF});
  std::vector<std::byte> out;
  auto s = i.inflate(junk, out, 1 << 20);
  if (s == inflater::status::ok) s = i.finish(out, 1 << 20);
  EXPECT_EQ(s, inflater::status::corrupt);
}

TEST(deflate_streams, context_takeover_shrinks_repeated_messages) {
  deflater keep(15, false);
  deflater reset(15, true);
  auto msg = make_data(2000, 3, false);
  std::vector<std::byte> a, b, c, d;
  ASSERT_TRUE(keep.compress(msg, a));
  ASSERT_TRUE(keep.compress(msg, b));
  ASSERT_TRUE(reset.compress(msg, c));
  ASSERT_TRUE(reset.compress(msg, d));
  EXPECT_LT(b.size(), a.size() / 4) << "second message refers to the first";
  EXPECT_EQ(c, d) << "no context takeover: identical output";
}

}  // namespace
}  // namespace duplex::ws
