#include "net/tls.h"

#include <gtest/gtest.h>

#include <string>

#include "net/connect.h"
#include "net/error.h"
#include "net/listener.h"
#include "net/stream.h"
#include "support/net_test_util.h"

namespace duplex::net {
namespace {

using namespace std::chrono_literals;
using test::run_until;

struct peer : stream_handler {
  std::string data;
  int connects = 0, closes = 0;
  std::error_code close_ec;
  bool echo = false;
  std::string reply_and_close;  // when set: answer the first data with it, then close()
  void on_data(stream& s, std::span<std::byte> d) override {
    data.append(reinterpret_cast<const char*>(d.data()), d.size());
    if (echo) s.write(d);
    if (!reply_and_close.empty()) {
      s.write(std::string_view(reply_and_close));
      s.close();
    }
  }
  void on_close(stream&, std::error_code ec) override {
    ++closes;
    close_ec = ec;
  }
  void on_connect(stream&) override { ++connects; }
};

class Tls : public ::testing::Test {
 protected:
  void SetUp() override {
    cert_ = test::make_self_signed_cert("localhost");
    ASSERT_FALSE(cert_.cert_file.empty());
    std::error_code ec;
    server_ctx_ = tls_context::server(cert_.cert_file, cert_.key_file, ec);
    ASSERT_TRUE(server_ctx_) << ec.message();
    client_ctx_ = tls_context::client(cert_.cert_file, true, ec);
    ASSERT_TRUE(client_ctx_) << ec.message();
    listen_options opts;
    opts.tls = server_ctx_.get();
    lst_ = listener::open(l_, "127.0.0.1", 0, [this](stream& s) {
      EXPECT_TRUE(s.is_tls());
      s.set_handler(&server_);
      // Written before the handshake finished: held back, then encrypted.
      s.write(std::string_view("hello from server;"));
    }, ec, opts);
    ASSERT_TRUE(lst_) << ec.message();
    server_.echo = true;
  }
  void TearDown() override { test::remove_cert(cert_); }

  test::self_signed_cert cert_;
  std::unique_ptr<tls_context> server_ctx_, client_ctx_;
  loop l_;
  peer server_;
  listener_ptr lst_;
};

TEST_F(Tls, EchoBothDirectionsWithVerifiedCertificate) {
  peer client;
  std::error_code ec;
  stream* c = connect(l_, "127.0.0.1", lst_->port(), client_ctx_.get(), "localhost", &client, ec);
  ASSERT_NE(c, nullptr) << ec.message();
  EXPECT_TRUE(c->is_tls());
  c->write(std::string_view("ping"));  // queued before the TCP connect even finished
  const std::string expect = "hello from server;ping";
  ASSERT_TRUE(run_until(l_, [&] { return client.data.size() >= expect.size(); }));
  EXPECT_EQ(client.data, expect);
  EXPECT_EQ(server_.data, "ping");
  EXPECT_EQ(client.connects, 1);

  // A large transfer spans many TLS records and both queues (plaintext and ciphertext).
  std::string big(3 * 1024 * 1024 + 5, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 31 + i / 1000);
  client.data.clear();
  c->write(shared_payload::copy_of(big));
  ASSERT_TRUE(run_until(l_, [&] { return client.data.size() >= big.size(); }));
  EXPECT_TRUE(client.data == big);

  c->close();
  ASSERT_TRUE(run_until(l_, [&] { return client.closes == 1 && server_.closes == 1; }));
  EXPECT_FALSE(client.close_ec) << client.close_ec.message();
  EXPECT_EQ(server_.close_ec, errc::eof);  // close_notify, then FIN
  EXPECT_EQ(l_.stats().tls_errors, 0u);
}

TEST_F(Tls, ServerCloseAfterWriteDeliversAllPlaintext) {
  server_.echo = false;
  server_.reply_and_close = std::string(300000, 'z');
  peer client;
  std::error_code ec;
  stream* c = connect(l_, "127.0.0.1", lst_->port(), client_ctx_.get(), "localhost", &client, ec);
  ASSERT_NE(c, nullptr);
  c->write(std::string_view("go"));
  ASSERT_TRUE(run_until(l_, [&] { return client.closes == 1 && server_.closes == 1; }));
  EXPECT_EQ(client.data, "hello from server;" + server_.reply_and_close);
  EXPECT_EQ(client.close_ec, errc::eof);  // close_notify received
  EXPECT_FALSE(server_.close_ec) << server_.close_ec.message();
}

TEST_F(Tls, WrongHostNameFailsVerification) {
  peer client;
  std::error_code ec;
  stream* c =
      connect(l_, "127.0.0.1", lst_->port(), client_ctx_.get(), "wrong.example", &client, ec);
  ASSERT_NE(c, nullptr) << ec.message();
  ASSERT_TRUE(run_until(l_, [&] { return client.closes == 1; }));
  EXPECT_EQ(client.close_ec, errc::tls_handshake_failed);
  EXPECT_EQ(client.connects, 0);
  EXPECT_TRUE(client.data.empty());
  EXPECT_GE(l_.stats().tls_errors, 1u);
  ASSERT_TRUE(run_until(l_, [&] { return server_.closes == 1; }));
}

TEST_F(Tls, VerifiesIpAddressSubjectAltName) {
  peer client;
  std::error_code ec;
  ASSERT_TRUE(connect(l_, "127.0.0.1", lst_->port(), client_ctx_.get(), {}, &client, ec));
  ASSERT_TRUE(run_until(l_, [&] { return client.connects == 1 || client.closes == 1; }));
  EXPECT_EQ(client.connects, 1) << client.close_ec.message();
}

TEST(TlsContext, MissingFilesAreReported) {
  std::error_code ec;
  EXPECT_FALSE(tls_context::server("/nonexistent/cert.pem", "/nonexistent/key.pem", ec));
  EXPECT_EQ(ec, errc::tls_error);
  EXPECT_FALSE(tls_context::client("/nonexistent/ca.pem", true, ec));
  EXPECT_EQ(ec, errc::tls_error);
}

}  // namespace
}  // namespace duplex::net
