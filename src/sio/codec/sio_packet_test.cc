#include "sio/codec/sio_packet.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace duplex::sio::codec {
namespace {

sio_packet decode_ok(std::string_view text, const sio_limits& limits = {}) {
  sio_packet p;
  const sio_error e = decode_sio_packet(text, p, limits);
  EXPECT_EQ(e, sio_error::none) << to_string(e) << " for " << text;
  return p;
}

sio_error decode_error(std::string_view text, const sio_limits& limits = {}) {
  sio_packet p;
  return decode_sio_packet(text, p, limits);
}

std::string encode_ok(const sio_packet& p, std::vector<binary_buffer>* attachments = nullptr) {
  std::string out;
  std::vector<binary_buffer> a;
  const sio_error e = encode_sio_packet(p, out, a);
  EXPECT_EQ(e, sio_error::none) << to_string(e);
  if (attachments) *attachments = std::move(a);
  else EXPECT_TRUE(a.empty());
  return out;
}

binary_buffer bytes(std::initializer_list<std::uint8_t> b) { return binary_buffer(b); }

// The examples of docs/socket.io-protocol/v5-current.md and of the brief that carry no
// binary: each decodes to the expected packet and encodes back to the same text.
TEST(SioPacket, TextExamplesRoundTrip) {
  struct example {
    std::string_view text;
    sio_packet_type type;
    std::string_view nsp;
    std::optional<std::uint64_t> ack_id;
    std::string_view data;  // JSON, empty for none
  };
  const example examples[] = {
      {"0", sio_packet_type::connect, "/", {}, ""},
      {R"(0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"})", sio_packet_type::connect, "/admin", {},
       R"({"sid":"oSO0OpakMV_3jnilAAAA"})"},
      {R"(0/admin,{"token":"x"})", sio_packet_type::connect, "/admin", {}, R"({"token":"x"})"},
      {R"(0{"sid":"wZX3oN0bSVIhsaknAAAI"})", sio_packet_type::connect, "/", {},
       R"({"sid":"wZX3oN0bSVIhsaknAAAI"})"},
      {"0/admin,", sio_packet_type::connect, "/admin", {}, ""},
      {"1", sio_packet_type::disconnect, "/", {}, ""},
      {"1/admin,", sio_packet_type::disconnect, "/admin", {}, ""},
      {R"(2["foo"])", sio_packet_type::event, "/", {}, R"(["foo"])"},
      {R"(2["hello",1])", sio_packet_type::event, "/", {}, R"(["hello",1])"},
      {R"(2["hey","Jude"])", sio_packet_type::event, "/", {}, R"(["hey","Jude"])"},
      {R"(21["ack?"])", sio_packet_type::event, "/", 1, R"(["ack?"])"},
      {R"(212["foo"])", sio_packet_type::event, "/", 12, R"(["foo"])"},
      {R"(2/admin,["bar"])", sio_packet_type::event, "/admin", {}, R"(["bar"])"},
      {R"(2/admin,3["x"])", sio_packet_type::event, "/admin", 3, R"(["x"])"},
      {R"(2/admin,1["tellme"])", sio_packet_type::event, "/admin", 1, R"(["tellme"])"},
      {R"(3/admin,13["bar"])", sio_packet_type::ack, "/admin", 13, R"(["bar"])"},
      {R"(312[])", sio_packet_type::ack, "/", 12, "[]"},
      {R"(4{"message":"Not authorized"})", sio_packet_type::connect_error, "/", {},
       R"({"message":"Not authorized"})"},
      {R"(4{"data":{"reason":"x"},"message":"Not authorized"})", sio_packet_type::connect_error,
       "/", {}, R"({"data":{"reason":"x"},"message":"Not authorized"})"},
      {R"(4"plain message")", sio_packet_type::connect_error, "/", {}, R"("plain message")"},
      {R"(2[42,"numeric event names are accepted, as socket.io-parser does"])",
       sio_packet_type::event, "/", {}, R"([42,"numeric event names are accepted, as socket.io-parser does"])"},
      {R"(218446744073709551615["max"])", sio_packet_type::event, "/", 18446744073709551615u,
       R"(["max"])"},
  };
  for (const example& x : examples) {
    SCOPED_TRACE(x.text);
    const sio_packet p = decode_ok(x.text);
    EXPECT_EQ(p.type, x.type);
    EXPECT_EQ(p.nsp, x.nsp);
    EXPECT_EQ(p.ack_id, x.ack_id);
    EXPECT_EQ(p.attachments, 0u);
    if (x.data.empty()) {
      EXPECT_TRUE(p.data.is_null());
    } else {
      EXPECT_EQ(p.data, json::parse(x.data));
    }
    EXPECT_EQ(encode_ok(p), x.text);
  }
}

// Forms other peers send that differ from ours; they decode and re-encode canonically.
TEST(SioPacket, LenientFormsDecodeToCanonicalPackets) {
  const std::pair<std::string_view, std::string_view> forms[] = {
      {"1/admin", "1/admin,"},             // python-socketio omits the comma without data
      {"0/", "0"},                         // python-socketio names the main namespace
      {"2/,[\"a\"]", "2[\"a\"]"},
      {"2007[\"a\"]", "27[\"a\"]"},        // leading zeros in the ack id
      {"2 [ \"a\" , 1 ]\n", "2[\"a\",1]"}, // JSON whitespace
      {R"(4{"message":"m","data":{"b":1,"a":2}})", R"(4{"data":{"a":2,"b":1},"message":"m"})"},
      {"2[\"a\",1.0,-0,1e2]", "2[\"a\",1.0,0,100.0]"},
  };
  for (const auto& [in, canonical] : forms) {
    SCOPED_TRACE(in);
    const sio_packet p = decode_ok(in);
    EXPECT_EQ(encode_ok(p), canonical);
    EXPECT_EQ(decode_ok(canonical), p);
  }
}

TEST(SioPacket, Utf8MultibyteRoundTripsUnescaped) {
  const std::string_view text = "2/\xC3\xBC\x62\x65r,[\"h\xC3\xA9llo\",\"\xE6\x97\xA5\xE6\x9C\xAC\",\"\xF0\x9F\x98\x80\"]";
  const sio_packet p = decode_ok(text);
  EXPECT_EQ(p.nsp, "/\xC3\xBC\x62\x65r");
  EXPECT_EQ(p.data[1].get<std::string>(), "\xE6\x97\xA5\xE6\x9C\xAC");
  EXPECT_EQ(encode_ok(p), text);
  // \u escapes decode to UTF-8 and are sent as UTF-8, as JSON.stringify does.
  EXPECT_EQ(encode_ok(decode_ok(R"(2["\u00e9\ud83d\ude00"])")), "2[\"\xC3\xA9\xF0\x9F\x98\x80\"]");
}

TEST(SioPacket, ReservedEventNamesAreLeftToTheServer) {
  for (const std::string_view name : {"connect", "connect_error", "disconnect", "disconnecting",
                                      "newListener", "removeListener"}) {
    EXPECT_TRUE(is_reserved_event_name(name)) << name;
  }
  EXPECT_FALSE(is_reserved_event_name("message"));
  EXPECT_FALSE(is_reserved_event_name("Connect"));
  EXPECT_FALSE(is_reserved_event_name(""));
  EXPECT_EQ(decode_ok(R"(2["disconnect"])").data[0], "disconnect");
}

TEST(SioPacket, HeaderErrors) {
  EXPECT_EQ(decode_error(""), sio_error::empty_packet);
  EXPECT_EQ(decode_error("7[\"a\"]"), sio_error::unknown_type);
  EXPECT_EQ(decode_error("x"), sio_error::unknown_type);
  EXPECT_EQ(decode_error("-1"), sio_error::unknown_type);
  EXPECT_EQ(decode_error("5-[\"a\"]"), sio_error::bad_attachments);
  EXPECT_EQ(decode_error("50-[\"a\"]"), sio_error::bad_attachments);
  EXPECT_EQ(decode_error("5[\"a\"]"), sio_error::bad_attachments);
  EXPECT_EQ(decode_error("51[\"a\"]"), sio_error::bad_attachments);
  EXPECT_EQ(decode_error("51"), sio_error::bad_attachments);
  EXPECT_EQ(decode_error("6"), sio_error::bad_attachments);
  EXPECT_EQ(decode_error("5 1-[\"a\"]"), sio_error::bad_attachments);
  EXPECT_EQ(decode_error("511-[\"a\"]"), sio_error::too_many_attachments);
  EXPECT_EQ(decode_error("599999999999999999999999999-[\"a\"]"), sio_error::too_many_attachments);
  EXPECT_EQ(decode_ok("53-[\"a\"]", {.max_attachments = 3}).attachments, 3u);
  EXPECT_EQ(decode_error("54-[\"a\"]", {.max_attachments = 3}), sio_error::too_many_attachments);
  EXPECT_EQ(decode_error("2/\xff,[\"a\"]"), sio_error::invalid_namespace);
  EXPECT_EQ(decode_error("2/\xC3,[\"a\"]"), sio_error::invalid_namespace);
  EXPECT_EQ(decode_error("218446744073709551616[\"a\"]"), sio_error::ack_id_overflow);
  EXPECT_EQ(decode_error("2/a,99999999999999999999999[\"a\"]"), sio_error::ack_id_overflow);
}

TEST(SioPacket, JsonErrors) {
  EXPECT_EQ(decode_error("2[\"a\""), sio_error::malformed_json);
  EXPECT_EQ(decode_error("2[\"a\"]x"), sio_error::malformed_json);
  EXPECT_EQ(decode_error("2[\"a\"][\"b\"]"), sio_error::malformed_json);
  EXPECT_EQ(decode_error("2abc"), sio_error::malformed_json);
  EXPECT_EQ(decode_error("2/admin,abc"), sio_error::malformed_json);
  EXPECT_EQ(decode_error("2 "), sio_error::malformed_json);
  EXPECT_EQ(decode_error("2[\"\xff\"]"), sio_error::malformed_json);        // invalid UTF-8
  EXPECT_EQ(decode_error(R"(2["\ud800"])"), sio_error::malformed_json);     // lone surrogate
  EXPECT_EQ(decode_error("2[\"a\",1e400]"), sio_error::malformed_json);     // not finite
  EXPECT_EQ(decode_error(std::string("2[\"a\0\"]", 7)), sio_error::nul_byte);
  EXPECT_EQ(decode_error(std::string("2[\"a\"]\0", 7)), sio_error::nul_byte);
  // A NUL escape is a valid JSON string.
  EXPECT_EQ(decode_ok(R"(2["a\u0000b"])").data[0].get<std::string>(), std::string("a\0b", 3));
}

std::string nested_event(std::size_t depth) {
  // The event array is depth 1; each further level adds one array.
  return "2[\"e\"," + std::string(depth - 1, '[') + std::string(depth - 1, ']') + "]";
}

TEST(SioPacket, NestingDepthIsLimited) {
  EXPECT_EQ(decode_ok(nested_event(64)).data.size(), 2u);
  EXPECT_EQ(decode_error(nested_event(65)), sio_error::too_deep);
  EXPECT_EQ(decode_error(nested_event(100000)), sio_error::too_deep);
  EXPECT_EQ(decode_error(nested_event(9), {.max_depth = 8}), sio_error::too_deep);
  EXPECT_EQ(decode_ok("2[\"e\",{\"a\":{\"b\":[1]}}]", {.max_depth = 4}).data.size(), 2u);
  EXPECT_EQ(decode_error("2[\"e\",{\"a\":{\"b\":[{}]}}]", {.max_depth = 4}), sio_error::too_deep);
  // Brackets inside strings (escaped quotes included) do not count.
  const std::string in_string = "2[\"" + std::string(200, '[') + "\\\"" + std::string(200, '{') + "\"]";
  EXPECT_EQ(decode_ok(in_string).data[0].get<std::string>().size(), 401u);
}

TEST(SioPacket, PayloadRulesPerType) {
  const std::pair<std::string_view, sio_error> cases[] = {
      {"0[]", sio_error::bad_connect_payload},
      {"0\"x\"", sio_error::bad_connect_payload},
      {"0null", sio_error::bad_connect_payload},
      {"1{}", sio_error::bad_disconnect_payload},
      {"1/admin,{}", sio_error::bad_disconnect_payload},
      {"1null", sio_error::bad_disconnect_payload},
      {"2", sio_error::bad_event_payload},
      {"2/admin,", sio_error::bad_event_payload},
      {"21", sio_error::bad_event_payload},
      {"2[]", sio_error::bad_event_payload},
      {"2[{}]", sio_error::bad_event_payload},
      {"2[null]", sio_error::bad_event_payload},
      {"2[[\"a\"]]", sio_error::bad_event_payload},
      {"2[true]", sio_error::bad_event_payload},
      {"2{}", sio_error::bad_event_payload},
      {"2\"a\"", sio_error::bad_event_payload},
      {"2null", sio_error::bad_event_payload},
      {"3", sio_error::bad_ack_payload},
      {"31", sio_error::bad_ack_payload},
      {"3{}", sio_error::bad_ack_payload},
      {"3null", sio_error::bad_ack_payload},
      {"4", sio_error::bad_connect_error_payload},
      {"4[]", sio_error::bad_connect_error_payload},
      {"41", sio_error::bad_connect_error_payload},
      {"4null", sio_error::bad_connect_error_payload},
      {"51-{}", sio_error::bad_event_payload},
      {"51-[{\"_placeholder\":true,\"num\":0}]", sio_error::bad_event_payload},
      {"61-{}", sio_error::bad_ack_payload},
  };
  for (const auto& [text, error] : cases) {
    SCOPED_TRACE(text);
    EXPECT_EQ(decode_error(text), error) << to_string(decode_error(text));
  }
}

// docs/socket.io-protocol/v5-current.md, binary examples: the header decodes with its
// placeholders; reconstruction puts the buffers in; encoding gives the same text and buffers.
TEST(SioPacket, BinaryExamplesRoundTrip) {
  struct example {
    std::string_view text;
    sio_packet_type type;  // after reconstruction
    std::string_view nsp;
    std::optional<std::uint64_t> ack_id;
    std::vector<binary_buffer> buffers;
  };
  const example examples[] = {
      {R"(51-["baz",{"_placeholder":true,"num":0}])", sio_packet_type::event, "/", {},
       {bytes({1, 2, 3, 4})}},
      {R"(52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])",
       sio_packet_type::event, "/admin", {}, {bytes({1, 2}), bytes({3, 4})}},
      {R"(61-15["bar",{"_placeholder":true,"num":0}])", sio_packet_type::ack, "/", 15,
       {bytes({1, 2, 3, 4})}},
      {R"(61-/admin,1[{"_placeholder":true,"num":0}])", sio_packet_type::ack, "/admin", 1,
       {bytes({})}},
      {R"(51-["b",{"_placeholder":true,"num":0}])", sio_packet_type::event, "/", {},
       {bytes({0xff})}},
  };
  for (const example& x : examples) {
    SCOPED_TRACE(x.text);
    sio_packet p = decode_ok(x.text);
    EXPECT_EQ(p.attachments, x.buffers.size());
    std::vector<binary_buffer> buffers = x.buffers;
    ASSERT_EQ(reconstruct_sio_packet(p, buffers), sio_error::none);
    EXPECT_EQ(p.type, x.type);
    EXPECT_EQ(p.nsp, x.nsp);
    EXPECT_EQ(p.ack_id, x.ack_id);
    EXPECT_EQ(p.attachments, 0u);
    std::size_t found = 0;
    for (const json& v : p.data) {
      if (v.is_binary()) {
        EXPECT_EQ(v.get_binary(), x.buffers[found++]);
      }
    }
    EXPECT_EQ(found, x.buffers.size());
    std::vector<binary_buffer> out;
    EXPECT_EQ(encode_ok(p, &out), x.text);
    EXPECT_EQ(out, x.buffers);
  }
}

TEST(SioPacket, ReconstructFindsNestedPlaceholdersAndIgnoresExtraKeys) {
  sio_packet p = decode_ok(
      R"(53-["e",{"a":[{"_placeholder":true,"num":2}],"b":{"_placeholder":true,"num":0,"x":1}},)"
      R"({"_placeholder":false,"num":1},{"_placeholder":true,"num":1}])");
  std::vector<binary_buffer> buffers{bytes({0}), bytes({1}), bytes({2})};
  ASSERT_EQ(reconstruct_sio_packet(p, buffers), sio_error::none);
  EXPECT_EQ(p.data[1]["a"][0].get_binary(), bytes({2}));
  EXPECT_EQ(p.data[1]["b"].get_binary(), bytes({0}));
  EXPECT_EQ(p.data[2], json::parse(R"({"_placeholder":false,"num":1})"));  // not a placeholder
  EXPECT_EQ(p.data[3].get_binary(), bytes({1}));
}

TEST(SioPacket, ReconstructErrors) {
  const auto attempt = [](std::string_view text, std::size_t n) {
    sio_packet p = decode_ok(text);
    std::vector<binary_buffer> buffers(n, bytes({7}));
    return reconstruct_sio_packet(p, buffers);
  };
  EXPECT_EQ(attempt(R"(51-["e",{"_placeholder":true,"num":0}])", 2), sio_error::bad_attachments);
  EXPECT_EQ(attempt(R"(52-["e",{"_placeholder":true,"num":0}])", 1), sio_error::bad_attachments);
  EXPECT_EQ(attempt(R"(51-["e",{"_placeholder":true,"num":1}])", 1), sio_error::bad_placeholder);
  EXPECT_EQ(attempt(R"(51-["e",{"_placeholder":true,"num":-1}])", 1), sio_error::bad_placeholder);
  EXPECT_EQ(attempt(R"(51-["e",{"_placeholder":true,"num":0.0}])", 1), sio_error::bad_placeholder);
  EXPECT_EQ(attempt(R"(51-["e",{"_placeholder":true,"num":"0"}])", 1), sio_error::bad_placeholder);
  EXPECT_EQ(attempt(R"(51-["e",{"_placeholder":true}])", 1), sio_error::bad_placeholder);
  EXPECT_EQ(attempt(R"(51-["e",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}])", 1),
            sio_error::duplicate_placeholder);
  EXPECT_EQ(attempt(R"(52-["e",{"_placeholder":true,"num":1}])", 2), sio_error::unused_attachment);
  EXPECT_EQ(attempt(R"(51-["e"])", 1), sio_error::unused_attachment);
  sio_packet plain = decode_ok(R"(2["e",{"_placeholder":true,"num":0}])");
  std::vector<binary_buffer> none;
  EXPECT_EQ(reconstruct_sio_packet(plain, none), sio_error::bad_attachments);
}

TEST(SioPacket, EncoderExtractsBinaryInDocumentOrder) {
  sio_packet p{.type = sio_packet_type::event, .nsp = "/chat", .ack_id = 9};
  p.data = json::array({"upload", json::binary({1, 2}),
                        json{{"z", json::binary({3})}, {"a", json::array({json::binary({4})})}}});
  std::vector<binary_buffer> out;
  EXPECT_EQ(encode_ok(p, &out),
            R"(53-/chat,9["upload",{"_placeholder":true,"num":0},)"
            R"({"a":[{"_placeholder":true,"num":1}],"z":{"_placeholder":true,"num":2}}])");
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0], bytes({1, 2}));
  EXPECT_EQ(out[1], bytes({4}));
  EXPECT_EQ(out[2], bytes({3}));
  // The packet itself is untouched.
  EXPECT_TRUE(p.data[1].is_binary());

  sio_packet ack{.type = sio_packet_type::ack, .ack_id = 4};
  ack.data = json::array({json::binary({})});
  EXPECT_EQ(encode_ok(ack, &out), R"(61-4[{"_placeholder":true,"num":0}])");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].empty());
}

TEST(SioPacket, EncoderPicksTheFormFromTheData) {
  sio_packet p{.type = sio_packet_type::binary_event};
  p.data = json::array({"no binary"});
  EXPECT_EQ(encode_ok(p), R"(2["no binary"])");
  p.type = sio_packet_type::binary_ack;
  EXPECT_EQ(encode_ok(p), R"(3["no binary"])");
}

TEST(SioPacket, EncoderAppendsAndLeavesOutputAloneOnError) {
  std::string out = "4";  // the Engine.IO message type, written by the caller
  std::vector<binary_buffer> a{bytes({1})};
  sio_packet p;
  p.data = json::array({"hi"});
  ASSERT_EQ(encode_sio_packet(p, out, a), sio_error::none);
  EXPECT_EQ(out, R"(42["hi"])");
  EXPECT_TRUE(a.empty());

  const auto fails = [&](const sio_packet& bad, sio_error expected) {
    std::string o = "4";
    std::vector<binary_buffer> att;
    EXPECT_EQ(encode_sio_packet(bad, o, att), expected);
    EXPECT_EQ(o, "4");
    EXPECT_TRUE(att.empty());
  };
  sio_packet bad = p;
  bad.nsp = "";
  fails(bad, sio_error::invalid_namespace);
  bad.nsp = "admin";
  fails(bad, sio_error::invalid_namespace);
  bad.nsp = "/a,b";
  fails(bad, sio_error::invalid_namespace);
  bad = p;
  bad.data = json::object();
  fails(bad, sio_error::bad_event_payload);
  bad.data = json::array({json::binary({1}), "name"});
  fails(bad, sio_error::bad_event_payload);
  bad = sio_packet{.type = sio_packet_type::connect};
  bad.data = json{{"token", json::binary({1})}};
  fails(bad, sio_error::binary_not_allowed);
  bad = sio_packet{.type = sio_packet_type::connect_error};
  bad.data = json{{"data", json::array({json::binary({1})})}, {"message", "m"}};
  fails(bad, sio_error::binary_not_allowed);
  bad = sio_packet{.type = sio_packet_type::disconnect};
  bad.data = json::object();
  fails(bad, sio_error::bad_disconnect_payload);
}

TEST(SioPacket, EncoderReplacesInvalidUtf8FromServerCode) {
  sio_packet p;
  p.data = json::array({"e", std::string("a\xff" "b")});
  EXPECT_EQ(encode_ok(p), "2[\"e\",\"a\xEF\xBF\xBD" "b\"]");
}

TEST(SioPacket, Names) {
  EXPECT_EQ(to_string(sio_packet_type::binary_ack), "BINARY_ACK");
  EXPECT_EQ(to_string(sio_error::too_deep), "payload nested too deep");
}

}  // namespace
}  // namespace duplex::sio::codec
