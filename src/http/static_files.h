// static_files: serving files under a root directory (the demo pages in web/, docs).
//
// Safety: the request path is percent-decoded and normalised; a ".." segment, an encoded NUL
// or a backslash is refused, dot-files (".git", ".env") are not served, and the resolved file
// must lie under the root after following symlinks. Reading uses std::ifstream: these are small
// files read off the hot path (STYLE.md allows file reads where they are needed).
//
// Thread safety: serve() is const and may run on several loop threads at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "http/error.h"
#include "http/message.h"

namespace duplex::http {

// Content-Type for a file name by extension (case-insensitive): html, js, mjs, css, json,
// png, jpg, gif, webp, svg, ico, txt, wasm, map, woff2; "application/octet-stream" otherwise.
std::string_view mime_type(std::string_view file_name) noexcept;

// Percent-decodes `raw` (a path, without query) and normalises it into `out` as a relative path
// ("a/b.html"; empty for the root), dropping empty and "." segments and keeping one trailing
// '/' when raw ends with one. Returns bad_target for a bad escape, an encoded or raw NUL or a
// backslash, and forbidden for any ".." segment.
error normalize_path(std::string_view raw, std::string& out);

class static_files {
 public:
  struct options {
    std::string index = "index.html";     // served for a directory
    std::uint64_t max_file_bytes = 64ull * 1024 * 1024;  // larger files -> 403
    bool validators = true;               // ETag / Last-Modified and conditional 304s
    std::string cache_control;            // sent when not empty, e.g. "max-age=60"
  };

  // `root` must be an existing directory (made canonical here; throws
  // std::filesystem::filesystem_error otherwise, at start-up, never while serving).
  explicit static_files(const std::filesystem::path& root);
  static_files(const std::filesystem::path& root, options opts);

  // Appends to `out` the full reply to `req` for the file at `rel` (the path under the mount
  // point, raw as in the target, e.g. "/css/app.css") and returns its status: 200, 304, 301
  // (directory without trailing '/', to `req.path()` + "/"), or an error reply: 400, 403, 404,
  // 405 (non GET/HEAD, with Allow), 500. HEAD gets the GET's fields without the body. Error
  // replies do not close the connection. `date` is the Date value (empty: no Date field).
  int serve(const request_head& req, std::string_view rel, std::string& out,
            std::string_view date) const;

 private:
  int fail(std::string& out, error e, std::string_view date, std::string_view extra = {}) const;

  std::filesystem::path root_;
  std::string root_prefix_;  // canonical root with a trailing '/'
  options opts_;
};

}  // namespace duplex::http
