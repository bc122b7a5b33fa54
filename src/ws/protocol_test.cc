// ws::protocol behaviour that the Autobahn tables (autobahn_*_test.cc) do not pin down:
// zero-copy delivery, buffer lifetime, the closing handshake, the send side and broadcast.
#include "ws/protocol.h"

#include <gtest/gtest.h>

#include "ws/deflater.h"
#include "ws/protocol_test_util.h"

namespace duplex::ws {
namespace {

using namespace duplex::ws::test;

TEST(protocol, whole_frame_in_buffer_is_delivered_in_place) {
  struct view_handler : recorder {
    const std::byte* seen = nullptr;
    void on_message(opcode op, std::span<const std::byte> p) override {
      seen = p.data();
      recorder::on_message(op, p);
    }
  } h;
  protocol server({}, h);
  auto bytes = frame(0x1, "hello zero copy");
  ASSERT_EQ(server.feed(bytes), bytes.size());
  ASSERT_EQ(h.events.size(), 1u);
  EXPECT_EQ(h.events[0], text("hello zero copy"));
  EXPECT_EQ(h.seen, bytes.data() + 6) << "payload must be a view into the fed buffer";
  EXPECT_EQ(server.buffered_bytes(), 0u);
}

TEST(protocol, partial_frames_are_buffered_then_released) {
  recorder h;
  protocol server({}, h);
  std::string payload(3000, 'x');
  auto bytes = frame(0x2, payload);
  std::span<std::byte> all(bytes);
  ASSERT_EQ(server.feed(all.first(1)), 1u);  // split header
  ASSERT_EQ(server.feed(all.subspan(1, 1000)), 1000u);
  EXPECT_GT(server.buffered_bytes(), 0u);
  EXPECT_TRUE(h.events.empty());
  ASSERT_EQ(server.feed(all.subspan(1001)), bytes.size() - 1001);
  ASSERT_EQ(h.events.size(), 1u);
  EXPECT_EQ(h.events[0], binary(payload));
  EXPECT_EQ(server.buffered_bytes(), 0u) << "no buffer kept while idle";
}

TEST(protocol, many_frames_in_one_buffer) {
  recorder h;
  protocol server({}, h);
  auto bytes = concat({frame(0x1, "a"), frame(0x2, "bc"), frame(0x9, "p"), frame(0x1, "d", false),
                       frame(0x0, "e")});
  ASSERT_EQ(server.feed(bytes), bytes.size());
  const std::vector<event> want = {text("a"), binary("bc"), {event::ping, opcode::ping, "p"},
                                   text("de")};
  EXPECT_EQ(h.events, want);
}

TEST(protocol, server_close_handshake_started_by_peer) {
  recorder h;
  protocol server({}, h);
  auto bytes = concat({close_frame(1001, "bye"), frame(0x1, "ignored after close")});
  const std::size_t close_len = close_frame(1001, "bye").size();
  EXPECT_EQ(server.feed(bytes), close_len) << "bytes after the peer's close are not consumed";
  EXPECT_EQ(server.state(), protocol_state::closed);
  ASSERT_EQ(h.events.size(), 1u);
  EXPECT_EQ(h.events[0].kind, event::close);
  EXPECT_EQ(h.events[0].code, 1001);
  EXPECT_EQ(h.events[0].data, "bye");
  // The echo: an unmasked close carrying 1001 (§5.5.1).
  const std::vector<std::byte> want = {std::byte{0x88}, std::byte{0x02}, std::byte{0x03}, std::byte{0xE9}};
  EXPECT_EQ(h.out, want);
  EXPECT_FALSE(server.send_text("late"));
}

TEST(protocol, close_started_by_us_then_peer_answers) {
  recorder h;
  protocol server({}, h);
  ASSERT_TRUE(server.close(1000, "done"));
  EXPECT_EQ(server.state(), protocol_state::closing);
  EXPECT_FALSE(server.send_text("no data after close"));
  EXPECT_FALSE(server.close());
  const auto sent = h.out;
  auto bytes = concat({frame(0x1, "still delivered"), close_frame(1000)});
  server.feed(bytes);
  EXPECT_EQ(server.state(), protocol_state::closed);
  EXPECT_EQ(h.events.size(), 2u);
  EXPECT_EQ(h.events[0], text("still delivered"));
  EXPECT_EQ(h.events[1].kind, event::close);
  EXPECT_EQ(h.out, sent) << "no second close is sent";
}

TEST(protocol, fail_queues_close_and_delivers_nothing_more) {
  recorder h;
  protocol server({}, h);
  auto bytes = concat({frame(0x1, "ok"), frame(0x3, ""), frame(0x1, "never")});
  server.feed(bytes);
  ASSERT_EQ(h.events.size(), 2u);
  EXPECT_EQ(h.events[1].kind, event::fail);
  EXPECT_EQ(h.events[1].err, error::reserved_opcode);
  EXPECT_EQ(h.events[1].code, 1002);
  EXPECT_EQ(server.state(), protocol_state::failed);
  EXPECT_EQ(server.feed(bytes), 0u);
  EXPECT_EQ(h.events.size(), 2u);
}

TEST(protocol, message_size_is_checked_on_the_declared_length) {
  recorder h;
  protocol_options o;
  o.max_message_size = 1000;
  protocol server(o, h);
  auto bytes = frame(0x2, std::string(1001, 'x'));
  // Only the header: the size must already be rejected.
  EXPECT_EQ(server.feed(std::span(bytes).first(8)), 8u);
  ASSERT_EQ(h.events.size(), 1u);
  EXPECT_EQ(h.events[0].err, error::message_too_big);
  EXPECT_EQ(h.events[0].code, 1009);
}

TEST(protocol, fragmented_message_size_is_cumulative) {
  recorder h;
  protocol_options o;
  o.max_message_size = 1000;
  protocol server(o, h);
  auto bytes = concat({frame(0x1, std::string(600, 'a'), false), frame(0x0, std::string(600, 'a'))});
  server.feed(bytes);
  ASSERT_EQ(h.events.size(), 1u);
  EXPECT_EQ(h.events[0].code, 1009);
}

TEST(protocol, too_many_fragments_is_policy_violation) {
  recorder h;
  protocol_options o;
  o.max_fragments = 3;
  protocol server(o, h);
  auto bytes = concat({frame(0x1, "a", false), frame(0x0, "b", false), frame(0x0, "c", false),
                       frame(0x0, "d")});
  server.feed(bytes);
  ASSERT_EQ(h.events.size(), 1u);
  EXPECT_EQ(h.events[0].err, error::too_many_fragments);
  EXPECT_EQ(h.events[0].code, 1008);
}

TEST(protocol, client_masks_with_fresh_keys_and_server_reads_it) {
  recorder ch, sh;
  protocol_options co;
  co.role = role::client;
  protocol client(co, ch);
  protocol server({}, sh);
  std::string big(5000, 'q');
  ASSERT_TRUE(client.send_text("one"));
  ASSERT_TRUE(client.send_text("one"));
  ASSERT_TRUE(client.send(opcode::binary, to_bytes(big)));
  // Same payload, two frames: different mask keys give different bytes.
  EXPECT_NE(std::vector(ch.out.begin(), ch.out.begin() + 9), std::vector(ch.out.begin() + 9, ch.out.begin() + 18));
  EXPECT_EQ(std::to_integer<int>(ch.out[1]) & 0x80, 0x80);
  server.feed(ch.out);
  const std::vector<event> want = {text("one"), text("one"), binary(big)};
  EXPECT_EQ(sh.events, want);
}

TEST(protocol, client_rejects_masked_server_frames) {
  recorder ch;
  protocol_options co;
  co.role = role::client;
  protocol client(co, ch);
  auto bytes = frame(0x1, "masked", true, 0, true);
  client.feed(bytes);
  ASSERT_EQ(ch.events.size(), 1u);
  EXPECT_EQ(ch.events[0].err, error::masked_frame);
}

TEST(protocol, send_fragment_writes_continuations) {
  recorder ch, sh;
  protocol_options co;
  co.role = role::client;
  protocol client(co, ch);
  protocol server({}, sh);
  ASSERT_TRUE(client.send_fragment(opcode::text, to_bytes("Hel"), false));
  EXPECT_FALSE(client.send_text("interleaved data is refused"));
  ASSERT_TRUE(client.ping(to_bytes("p")));
  ASSERT_TRUE(client.send_fragment(opcode::text, to_bytes("lo"), true));
  server.feed(ch.out);
  const std::vector<event> want = {{event::ping, opcode::ping, "p"}, text("Hello")};
  EXPECT_EQ(sh.events, want);
}

TEST(protocol, make_frame_is_shared_among_connections) {
  auto frame_bytes = protocol::make_frame(opcode::text, to_bytes("broadcast"));
  recorder a, b;
  protocol pa({}, a), pb({}, b);
  EXPECT_TRUE(pa.send_frame(frame_bytes));
  EXPECT_TRUE(pb.send_frame(frame_bytes));
  EXPECT_EQ(frame_bytes.use_count(), 1) << "the recorder copies; a real sink keeps a ref";
  EXPECT_EQ(a.shared_writes, 1u);
  recorder ch;
  protocol_options co;
  co.role = role::client;
  protocol client(co, ch);
  client.feed(a.out);
  ASSERT_EQ(ch.events.size(), 1u);
  EXPECT_EQ(ch.events[0], text("broadcast"));
}

TEST(protocol, compressed_broadcast_frame_decodes_on_every_client) {
  deflate_params p;
  p.server_no_context_takeover = true;
  deflater d(15, true);
  const std::string msg(2000, 'z');
  auto f = protocol::make_compressed_frame(opcode::text, to_bytes(msg), d);
  ASSERT_TRUE(f);
  EXPECT_LT(f.size(), 100u);
  for (int i = 0; i < 3; ++i) {
    recorder ch;
    protocol_options co;
    co.role = role::client;
    co.deflate = p;
    protocol client(co, ch);
    std::vector<std::byte> bytes(f.bytes().begin(), f.bytes().end());
    client.feed(bytes);
    ASSERT_EQ(ch.events.size(), 1u);
    EXPECT_EQ(ch.events[0], text(msg));
  }
}

TEST(protocol, compressed_text_with_invalid_utf8_fails_1007) {
  deflate_params p;
  echo_pair e({}, p, true);
  auto payload = to_bytes("valid then \xF4\x90\x80\x80 invalid");
  // The client protocol would refuse nothing: compress the raw bytes ourselves.
  deflater d(15, false);
  std::vector<std::byte> z;
  ASSERT_TRUE(d.compress(payload, z));
  auto bytes = frame(0x1, z, true, 4);
  e.run(bytes, 0);
  auto f = e.srv.last_of(event::fail);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->err, error::invalid_utf8);
  EXPECT_EQ(e.cli.last_of(event::close)->code, 1007);
}

TEST(protocol, decompression_bomb_fails_1009) {
  deflate_params p;
  protocol_options o;
  o.max_message_size = 64 * 1024;
  echo_pair e(o, p, true);
  std::vector<std::byte> zeros(8 << 20);
  deflater d(15, false, 9);
  std::vector<std::byte> z;
  ASSERT_TRUE(d.compress(zeros, z));
  e.run(frame(0x2, z, true, 4), 0);
  auto f = e.srv.last_of(event::fail);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->err, error::message_too_big);
  EXPECT_EQ(f->code, 1009);
}

TEST(protocol, corrupt_compressed_data_fails_1002) {
  deflate_params p;
  echo_pair e({}, p, true);
  std::vector<std::byte> junk(40, std::byte{0xFF});
  e.run(frame(0x2, junk, true, 4), 0);
  auto f = e.srv.last_of(event::fail);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->err, error::bad_compressed_data);
}

TEST(protocol, rsv1_on_continuation_or_control_fails_even_with_deflate) {
  deflate_params p;
  {
    echo_pair e({}, p, true);
    e.run(concat({frame(0x1, "a", false), frame(0x0, "b", true, 4)}), 0);
    EXPECT_EQ(e.srv.last_of(event::fail)->err, error::continuation_compressed);
  }
  {
    echo_pair e({}, p, true);
    e.run(frame(0x9, "", true, 4), 0);
    EXPECT_EQ(e.srv.last_of(event::fail)->err, error::control_compressed);
  }
}

TEST(protocol, validate_utf8_off_passes_bytes_through) {
  recorder h;
  protocol_options o;
  o.validate_utf8 = false;
  protocol server(o, h);
  auto bytes = frame(0x1, "\xFF\xFE");
  server.feed(bytes);
  ASSERT_EQ(h.events.size(), 1u);
  EXPECT_EQ(h.events[0], text("\xFF\xFE"));
}

TEST(protocol, ping_is_truncated_to_125_bytes_on_send) {
  recorder h;
  protocol server({}, h);
  std::vector<std::byte> big(200, std::byte{'p'});
  ASSERT_TRUE(server.ping(big));
  EXPECT_EQ(h.out.size(), 2u + 125u);
}

}  // namespace
}  // namespace duplex::ws
