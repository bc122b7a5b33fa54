#include "http/static_files.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "http/feed_driver.h"
#include "http/request_parser.h"
#include "http/response_parser.h"

namespace duplex::http {
namespace {
namespace fs = std::filesystem;

void write(const fs::path& p, const std::string& s) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << s;
}

class static_files_test : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() /
            ("duplex_static_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
             "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    root_ = base_ / "www";
    write(root_ / "index.html", "<h1>home</h1>");
    write(root_ / "app.js", "console.log(1)");
    write(root_ / "docs" / "index.html", "docs");
    write(root_ / "a b.txt", "space");
    write(root_ / ".env", "SECRET=1");
    write(base_ / "secret.txt", "outside");
    fs::create_symlink(base_ / "secret.txt", root_ / "link.txt");
  }
  void TearDown() override { fs::remove_all(base_); }

  // Serves `target` with `method` and parses the reply back.
  struct reply {
    int status = 0;
    std::string body;
    response_head head;  // views into `wire`
    std::string wire;
  };
  reply get(const std::string& target, const std::string& extra = {},
            const char* method_name = "GET") {
    const std::string req_bytes =
        std::string(method_name) + " " + target + " HTTP/1.1\r\nHost: a\r\n" + extra + "\r\n";
    request_parser rp;
    EXPECT_EQ(rp.feed(req_bytes).status, parse_status::head_done) << target;
    static_files files(root_);
    reply r;
    r.status = files.serve(rp.head(), rp.head().path(), r.wire, "Sun, 06 Nov 1994 08:49:37 GMT");
    response_parser p;
    p.expect_head_response(std::string_view(method_name) == "HEAD");
    const parse_result h = p.feed(r.wire);
    EXPECT_EQ(h.status, parse_status::head_done);
    r.head = p.head();
    EXPECT_EQ(r.head.status, r.status);
    std::string_view rest = std::string_view(r.wire).substr(h.consumed);
    for (;;) {
      const parse_result b = p.feed(rest);
      if (b.status == parse_status::body) r.body.append(b.body);
      rest.remove_prefix(b.consumed);
      if (b.status != parse_status::body) {
        EXPECT_EQ(b.status, parse_status::message_done);
        break;
      }
    }
    EXPECT_TRUE(rest.empty());
    return r;
  }

  fs::path base_, root_;
};

TEST_F(static_files_test, serves_files_with_types) {
  const reply r = get("/app.js");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "console.log(1)");
  EXPECT_EQ(r.head.fields.find("content-type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(r.head.fields.find("date"), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_TRUE(r.head.fields.find("etag").has_value());
  EXPECT_EQ(get("/a%20b.txt").body, "space");
}

TEST_F(static_files_test, index_and_directory_redirect) {
  EXPECT_EQ(get("/").body, "<h1>home</h1>");
  EXPECT_EQ(get("/docs/").body, "docs");
  const reply r = get("/docs?x=1");
  EXPECT_EQ(r.status, 301);
  EXPECT_EQ(r.head.fields.find("location"), "/docs/?x=1");
}

TEST_F(static_files_test, traversal_is_refused) {
  for (const char* t : {"/../secret.txt", "/docs/../../secret.txt", "/%2e%2e/secret.txt",
                        "/%2E%2E%2Fsecret.txt", "/..%2fsecret.txt", "/docs/%2e%2e/%2e%2e/secret.txt"}) {
    const reply r = get(t);
    EXPECT_EQ(r.status, 403) << t;
    EXPECT_EQ(r.body.find("outside"), std::string::npos) << t;
  }
  EXPECT_EQ(get("/a%00.txt").status, 400);
  EXPECT_EQ(get("/a%zz").status, 400);
  EXPECT_EQ(get("/a%2").status, 400);
  EXPECT_EQ(get("/..%5csecret.txt").status, 400);
  EXPECT_EQ(get("/link.txt").status, 403);  // symlink leaving the root
  EXPECT_EQ(get("/.env").status, 404);
  EXPECT_EQ(get("/missing.html").status, 404);
}

TEST_F(static_files_test, head_and_methods) {
  const reply h = get("/app.js", {}, "HEAD");
  EXPECT_EQ(h.status, 200);
  EXPECT_TRUE(h.body.empty());
  EXPECT_EQ(h.head.fields.find("content-length"), "14");
  const reply p = get("/app.js", {}, "POST");
  EXPECT_EQ(p.status, 405);
  EXPECT_EQ(p.head.fields.find("allow"), "GET, HEAD");
}

TEST_F(static_files_test, conditional_requests) {
  const reply first = get("/app.js");
  const std::string etag(*first.head.fields.find("etag"));
  const std::string lm(*first.head.fields.find("last-modified"));
  const reply again = get("/app.js", "If-None-Match: \"nope\", " + etag + "\r\n");
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(get("/app.js", "If-None-Match: \"other\"\r\n").status, 200);
  EXPECT_EQ(get("/app.js", "If-Modified-Since: " + lm + "\r\n").status, 304);
}

TEST(normalize_path, cases) {
  std::string out;
  EXPECT_EQ(normalize_path("/a//b/./c", out), no_error);
  EXPECT_EQ(out, "a/b/c");
  EXPECT_EQ(normalize_path("/a/b/", out), no_error);
  EXPECT_EQ(out, "a/b/");
  EXPECT_EQ(normalize_path("/", out), no_error);
  EXPECT_EQ(out, "");
  EXPECT_EQ(normalize_path("/a/../b", out), error::forbidden);
  EXPECT_EQ(normalize_path("/%2e%2E", out), error::forbidden);
  EXPECT_EQ(normalize_path("/a%5Cb", out), error::bad_target);
  EXPECT_EQ(normalize_path("/%41", out), no_error);
  EXPECT_EQ(out, "A");
}

TEST(mime_type, table) {
  EXPECT_EQ(mime_type("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(mime_type("a/b.MJS"), "text/javascript; charset=utf-8");
  EXPECT_EQ(mime_type("x.css"), "text/css; charset=utf-8");
  EXPECT_EQ(mime_type("x.json"), "application/json");
  EXPECT_EQ(mime_type("x.png"), "image/png");
  EXPECT_EQ(mime_type("x.svg"), "image/svg+xml");
  EXPECT_EQ(mime_type("favicon.ico"), "image/x-icon");
  EXPECT_EQ(mime_type("x.txt"), "text/plain; charset=utf-8");
  EXPECT_EQ(mime_type("x.wasm"), "application/wasm");
  EXPECT_EQ(mime_type("x.unknown"), "application/octet-stream");
  EXPECT_EQ(mime_type("dir.d/file"), "application/octet-stream");
}

}  // namespace
}  // namespace duplex::http
