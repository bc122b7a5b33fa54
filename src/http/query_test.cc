#include "http/query.h"

#include <gtest/gtest.h>

namespace duplex::http {
namespace {

TEST(Query, FormDecode) {
  std::string out;
  EXPECT_TRUE(form_decode("a+b%20c%2Fd", out));
  EXPECT_EQ(out, "a b c/d");
  EXPECT_FALSE(form_decode("%", out));
  EXPECT_FALSE(form_decode("%4", out));
  EXPECT_FALSE(form_decode("%zz", out));
  EXPECT_FALSE(form_decode("a%00b", out));  // a NUL is never a parameter
}

TEST(Query, ValueOfTheFirstKey) {
  EXPECT_EQ(query_value("a=1&b=x%3Ay&b=2", "b"), "x:y");
  EXPECT_EQ(query_value("a&b=", "a"), "");
  EXPECT_EQ(query_value("a&b=", "b"), "");
  EXPECT_FALSE(query_value("ab=1", "a").has_value());
  EXPECT_FALSE(query_value("", "a").has_value());
  EXPECT_FALSE(query_value("a=%zz", "a").has_value());
}

}  // namespace
}  // namespace duplex::http
