#include "http/router.h"

#include <gtest/gtest.h>

namespace duplex::http {
namespace {

router make() {
  router r;
  r.add(method::get, "/health", 1);
  r.add(method::post, "/api/publish", 2);
  r.add(method::get, "/connection/websocket", 3);
  r.add_prefix(method::get, "/", 4);
  r.add_prefix(method::get, "/socket.io/", 5);
  r.add_prefix(method::post, "/socket.io/", 6);
  return r;
}

TEST(router, exact_routes) {
  const router r = make();
  const router::match m = r.find(method::get, "/health");
  EXPECT_EQ(m.err, no_error);
  EXPECT_EQ(m.id, 1u);
  EXPECT_EQ(r.find(method::post, "/api/publish").id, 2u);
}

TEST(router, longest_prefix_wins_and_rest) {
  const router r = make();
  const router::match m = r.find(method::post, "/socket.io/x/y");
  EXPECT_EQ(m.err, no_error);
  EXPECT_EQ(m.id, 6u);
  EXPECT_EQ(m.rest, "x/y");
  const router::match s = r.find(method::get, "/css/app.css");
  EXPECT_EQ(s.id, 4u);
  EXPECT_EQ(s.rest, "css/app.css");
}

TEST(router, method_not_allowed_with_allow) {
  const router r = make();
  const router::match m = r.find(method::get, "/api/publish");
  EXPECT_EQ(m.err, error::method_not_allowed);
  EXPECT_EQ(m.allow, "POST");
  const router::match h = r.find(method::del, "/health");
  EXPECT_EQ(h.err, error::method_not_allowed);
  EXPECT_EQ(h.allow, "GET, HEAD");
  EXPECT_EQ(r.find(method::other, "/health").err, error::method_not_allowed);
  // The most specific path decides: no fallback to the "/" prefix's GET.
  EXPECT_EQ(r.find(method::put, "/socket.io/").allow, "GET, HEAD, POST");
}

TEST(router, head_falls_back_to_get) {
  const router r = make();
  const router::match m = r.find(method::head, "/health");
  EXPECT_EQ(m.err, no_error);
  EXPECT_EQ(m.id, 1u);
}

TEST(router, not_found_without_catch_all) {
  router r;
  r.add(method::get, "/a", 1);
  r.add_prefix(method::get, "/static/", 2);
  EXPECT_EQ(r.find(method::get, "/b").err, error::not_found);
  EXPECT_EQ(r.find(method::get, "/static").err, error::not_found);
  EXPECT_EQ(r.find(method::get, "/a/").err, error::not_found);
  EXPECT_EQ(r.find(method::get, "/static/").id, 2u);
}

TEST(router, later_add_replaces) {
  router r;
  r.add(method::get, "/a", 1);
  r.add(method::get, "/a", 7);
  r.add(method::options, "/a", 8);
  EXPECT_EQ(r.find(method::get, "/a").id, 7u);
  EXPECT_EQ(r.find(method::post, "/a").allow, "GET, HEAD, OPTIONS");
}

}  // namespace
}  // namespace duplex::http
