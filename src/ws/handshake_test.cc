#include "ws/handshake.h"

#include <gtest/gtest.h>

namespace duplex::ws {
namespace {

http::request_head good_request() {
  http::request_head r;
  r.verb = http::method::get;
  r.method_text = "GET";
  r.target = "/chat";
  r.version_minor = 1;
  r.fields.list = {{"Host", "server.example.com"},
                   {"Upgrade", "websocket"},
                   {"Connection", "keep-alive, Upgrade"},
                   {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                   {"Sec-WebSocket-Version", "13"}};
  return r;
}

void set_header(http::request_head& r, std::string_view name, std::string_view value) {
  for (auto& h : r.fields.list) {
    if (h.name == name) {
      h.value = value;
      return;
    }
  }
  r.fields.list.push_back({name, value});
}

void drop_header(http::request_head& r, std::string_view name) {
  std::erase_if(r.fields.list, [&](const http::header& h) { return h.name == name; });
}

TEST(handshake, accept_key_matches_rfc_example) {
  // RFC 6455 §1.3.
  EXPECT_EQ(compute_accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(handshake, client_key_validation) {
  EXPECT_TRUE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQ=="));
  EXPECT_FALSE(is_valid_client_key(""));
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQ"));     // no padding
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZQ=!"));   // bad padding
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25j*Q=="));   // bad character
  EXPECT_FALSE(is_valid_client_key("dGhlIHNhbXBsZSBub25jZXM="));   // 17 bytes
}

TEST(handshake, accepts_valid_request_and_formats_101) {
  auto r = validate_upgrade(good_request(), {});
  ASSERT_TRUE(r.ok()) << name_of(r.err);
  EXPECT_EQ(r.accepted.accept_key, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  EXPECT_FALSE(r.accepted.deflate);
  const std::string resp = format_accept_response(r.accepted);
  EXPECT_EQ(resp,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n");
}

TEST(handshake, header_names_and_tokens_are_case_insensitive) {
  auto req = good_request();
  req.fields.list = {{"host", "x"},
                     {"UPGRADE", "WebSocket"},
                     {"connection", "upgrade"},
                     {"sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="},
                     {"SEC-WEBSOCKET-VERSION", "13"}};
  EXPECT_TRUE(validate_upgrade(req, {}).ok());
}

struct reject_case {
  const char* name;
  void (*mutate)(http::request_head&);
  error err;
  int status;
};

const reject_case reject_cases[] = {
    {"post", [](http::request_head& r) { r.verb = http::method::post; }, error::handshake_bad_method, 400},
    {"http10", [](http::request_head& r) { r.version_minor = 0; }, error::handshake_bad_http_version, 400},
    {"no_host", [](http::request_head& r) { drop_header(r, "Host"); }, error::handshake_missing_host, 400},
    {"no_upgrade", [](http::request_head& r) { drop_header(r, "Upgrade"); }, error::handshake_missing_upgrade, 400},
    {"upgrade_h2c", [](http::request_head& r) { set_header(r, "Upgrade", "h2c"); }, error::handshake_missing_upgrade, 400},
    {"no_connection", [](http::request_head& r) { set_header(r, "Connection", "keep-alive"); }, error::handshake_missing_connection_upgrade, 400},
    {"no_version", [](http::request_head& r) { drop_header(r, "Sec-WebSocket-Version"); }, error::handshake_bad_version, 426},
    {"version8", [](http::request_head& r) { set_header(r, "Sec-WebSocket-Version", "8"); }, error::handshake_bad_version, 426},
    {"no_key", [](http::request_head& r) { drop_header(r, "Sec-WebSocket-Key"); }, error::handshake_bad_key, 400},
    {"short_key", [](http::request_head& r) { set_header(r, "Sec-WebSocket-Key", "abcd"); }, error::handshake_bad_key, 400},
    {"two_keys", [](http::request_head& r) { r.fields.list.push_back({"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}); }, error::handshake_bad_key, 400},
};

TEST(handshake, rejections_map_to_status) {
  for (const auto& c : reject_cases) {
    auto req = good_request();
    c.mutate(req);
    auto r = validate_upgrade(req, {});
    EXPECT_EQ(r.err, c.err) << c.name;
    EXPECT_EQ(r.http_status(), c.status) << c.name;
  }
}

TEST(handshake, version_rejection_announces_13) {
  const std::string s = format_reject_response(error::handshake_bad_version);
  EXPECT_NE(s.find("HTTP/1.1 426 Upgrade Required\r\n"), std::string::npos);
  EXPECT_NE(s.find("Sec-WebSocket-Version: 13\r\n"), std::string::npos);
  EXPECT_NE(format_reject_response(error::handshake_origin_forbidden).find("403"), std::string::npos);
}

TEST(handshake, origin_allow_list) {
  handshake_options opt;
  opt.allowed_origins = {"https://good.example"};
  auto req = good_request();
  EXPECT_TRUE(validate_upgrade(req, opt).ok()) << "no Origin: non-browser client";
  req.fields.list.push_back({"Origin", "https://GOOD.example"});
  EXPECT_TRUE(validate_upgrade(req, opt).ok());
  set_header(req, "Origin", "https://evil.example");
  auto r = validate_upgrade(req, opt);
  EXPECT_EQ(r.err, error::handshake_origin_forbidden);
  EXPECT_EQ(r.http_status(), 403);
  opt.require_origin = true;
  EXPECT_EQ(validate_upgrade(good_request(), opt).err, error::handshake_origin_forbidden);
}

TEST(handshake, subprotocol_is_first_of_clients_list_we_support) {
  handshake_options opt;
  opt.subprotocols = {"v2.centrifuge", "chat"};
  auto req = good_request();
  req.fields.list.push_back({"Sec-WebSocket-Protocol", "superchat, chat"});
  req.fields.list.push_back({"Sec-WebSocket-Protocol", "v2.centrifuge"});
  auto r = validate_upgrade(req, opt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.accepted.subprotocol, "chat");
  EXPECT_NE(format_accept_response(r.accepted).find("Sec-WebSocket-Protocol: chat\r\n"),
            std::string::npos);
  set_header(req, "Sec-WebSocket-Protocol", "nope");
  drop_header(req, "Sec-WebSocket-Protocol");
  EXPECT_EQ(validate_upgrade(req, opt).accepted.subprotocol, "");
}

TEST(handshake, deflate_negotiated_when_enabled) {
  handshake_options opt;
  auto req = good_request();
  req.fields.list.push_back(
      {"Sec-WebSocket-Extensions", "x-webkit-deflate-frame, permessage-deflate; client_max_window_bits"});
  EXPECT_FALSE(validate_upgrade(req, opt).accepted.deflate) << "disabled by default";
  opt.deflate.enabled = true;
  auto r = validate_upgrade(req, opt);
  ASSERT_TRUE(r.accepted.deflate);
  EXPECT_EQ(r.accepted.extensions, "permessage-deflate");
  EXPECT_NE(format_accept_response(r.accepted).find("Sec-WebSocket-Extensions: permessage-deflate\r\n"),
            std::string::npos);
}

// ------------------------------------------------------------------- client side

http::response_head response_for(const client_request& req) {
  http::response_head r;
  r.status = 101;
  static std::string accept;
  accept = compute_accept_key(req.key);
  r.fields.list = {{"Upgrade", "websocket"}, {"Connection", "Upgrade"}, {"Sec-WebSocket-Accept", accept}};
  return r;
}

TEST(handshake_client, request_has_required_fields_and_fresh_key) {
  client_options opt;
  opt.host = "example.com:8080";
  opt.target = "/ws?channel=a";
  opt.subprotocols = {"chat", "v2"};
  opt.origin = "https://example.com";
  opt.deflate.enabled = true;
  auto a = make_client_request(opt);
  auto b = make_client_request(opt);
  EXPECT_NE(a.key, b.key);
  EXPECT_TRUE(is_valid_client_key(a.key));
  EXPECT_EQ(a.bytes.rfind("GET /ws?channel=a HTTP/1.1\r\nHost: example.com:8080\r\n", 0), 0u);
  for (const char* h : {"Upgrade: websocket\r\n", "Connection: Upgrade\r\n", "Sec-WebSocket-Version: 13\r\n",
                        "Origin: https://example.com\r\n", "Sec-WebSocket-Protocol: chat, v2\r\n",
                        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"}) {
    EXPECT_NE(a.bytes.find(h), std::string::npos) << h;
  }
  EXPECT_NE(a.bytes.find("Sec-WebSocket-Key: " + a.key + "\r\n"), std::string::npos);
  EXPECT_TRUE(a.bytes.ends_with("\r\n\r\n"));
}

TEST(handshake_client, validates_response) {
  client_options opt;
  opt.subprotocols = {"chat"};
  opt.deflate.enabled = true;
  auto req = make_client_request(opt);
  auto resp = response_for(req);
  auto ok = validate_response(resp, req.key, opt);
  EXPECT_TRUE(ok.ok());
  EXPECT_FALSE(ok.accepted.deflate);

  auto bad_status = resp;
  bad_status.status = 200;
  EXPECT_EQ(validate_response(bad_status, req.key, opt).err, error::handshake_bad_status);

  auto bad_accept = resp;
  bad_accept.fields.list[2].value = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
  EXPECT_EQ(validate_response(bad_accept, req.key, opt).err, error::handshake_bad_accept);

  auto no_upgrade = resp;
  no_upgrade.fields.list[0].value = "h2c";
  EXPECT_EQ(validate_response(no_upgrade, req.key, opt).err, error::handshake_missing_upgrade);

  auto proto = resp;
  proto.fields.list.push_back({"Sec-WebSocket-Protocol", "chat"});
  EXPECT_EQ(validate_response(proto, req.key, opt).accepted.subprotocol, "chat");
  proto.fields.list.back().value = "other";
  EXPECT_EQ(validate_response(proto, req.key, opt).err, error::handshake_bad_subprotocol);

  auto ext = resp;
  ext.fields.list.push_back({"Sec-WebSocket-Extensions", "permessage-deflate; server_no_context_takeover; client_max_window_bits=10"});
  auto e = validate_response(ext, req.key, opt);
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE(e.accepted.deflate);
  EXPECT_TRUE(e.accepted.deflate->server_no_context_takeover);
  EXPECT_EQ(e.accepted.deflate->client_max_window_bits, 10);
  ext.fields.list.back().value = "x-unknown";
  EXPECT_EQ(validate_response(ext, req.key, opt).err, error::handshake_bad_extension);
  ext.fields.list.back().value = "permessage-deflate; client_max_window_bits";  // no value
  EXPECT_EQ(validate_response(ext, req.key, opt).err, error::handshake_bad_extension);
  ext.fields.list.back().value = "permessage-deflate, permessage-deflate";
  EXPECT_EQ(validate_response(ext, req.key, opt).err, error::handshake_bad_extension);
  opt.deflate.enabled = false;
  ext.fields.list.back().value = "permessage-deflate";
  EXPECT_EQ(validate_response(ext, req.key, opt).err, error::handshake_bad_extension);
}

}  // namespace
}  // namespace duplex::ws
