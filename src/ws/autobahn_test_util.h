// Table rows for the Autobahn|Testsuite port (autobahn_*_test.cc): one row = the bytes a
// client sends to our echo server, what the client must receive back, and how the
// connection must end, as the suite's case descriptions state them.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ws/protocol_test_util.h"

namespace duplex::ws::test {

struct outcome {
  enum kind_t { open, closed, failed } kind = open;
  std::uint16_t code = 0;  // closed: code the server echoed (1005: empty close); failed: sent
};
inline outcome stays_open() { return {outcome::open, 0}; }
inline outcome closes(std::uint16_t code) { return {outcome::closed, code}; }
inline outcome fails(std::uint16_t code) { return {outcome::failed, code}; }

struct ab_row {
  std::string id;                // Autobahn case id, plus a variant suffix
  std::vector<std::byte> input;  // client -> server bytes
  std::vector<event> expect;     // messages and pongs the client gets back, in order
  outcome result;
  std::size_t chop = 0;          // feed in pieces of this size; 0 = one buffer
  protocol_options options{};
};

inline void PrintTo(const ab_row& r, std::ostream* os) {
  *os << r.id << " (" << r.input.size() << " input bytes, chop " << r.chop << ")";
}

inline std::string row_name(const testing::TestParamInfo<ab_row>& info) {
  std::string s = "case_" + info.param.id;
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return s;
}

inline void run_row(const ab_row& row) {
  echo_pair e(row.options);
  e.run(row.input, row.chop);
  EXPECT_EQ(e.cli.messages_and_pongs(), row.expect);
  const auto server_fail = e.srv.last_of(event::fail);
  const auto client_close = e.cli.last_of(event::close);
  switch (row.result.kind) {
    case outcome::open:
      EXPECT_EQ(e.server.state(), protocol_state::open);
      EXPECT_FALSE(client_close) << "server sent close " << client_close->code;
      EXPECT_FALSE(server_fail) << name_of(server_fail->err);
      break;
    case outcome::closed:
      EXPECT_EQ(e.server.state(), protocol_state::closed);
      EXPECT_FALSE(server_fail) << name_of(server_fail->err);
      ASSERT_TRUE(client_close) << "no close frame from the server";
      EXPECT_EQ(client_close->code, row.result.code);
      break;
    case outcome::failed:
      EXPECT_EQ(e.server.state(), protocol_state::failed);
      ASSERT_TRUE(server_fail) << "connection was not failed";
      EXPECT_EQ(server_fail->code, row.result.code);
      ASSERT_TRUE(client_close) << "no close frame from the server";
      EXPECT_EQ(client_close->code, row.result.code);
      break;
  }
}

}  // namespace duplex::ws::test
