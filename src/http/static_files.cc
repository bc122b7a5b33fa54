#include "http/static_files.h"

#include <array>
#include <chrono>
#include <fstream>
#include <system_error>

#include "http/chars.h"
#include "http/response.h"

namespace duplex::http {
namespace fs = std::filesystem;

namespace {

struct mime_row {
  std::string_view ext;
  std::string_view type;
};

constexpr std::array<mime_row, 18> mime_rows = {{
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"svg", "image/svg+xml"},
    {"ico", "image/x-icon"},
    {"txt", "text/plain; charset=utf-8"},
    {"wasm", "application/wasm"},
    {"woff2", "font/woff2"},
    {"xml", "application/xml"},
}};

std::string_view strip_weak(std::string_view tag) noexcept {
  while (!tag.empty() && chars::is_ows(tag.front())) tag.remove_prefix(1);
  while (!tag.empty() && chars::is_ows(tag.back())) tag.remove_suffix(1);
  if (tag.starts_with("W/")) tag.remove_prefix(2);
  return tag;
}

// If-None-Match uses weak comparison (RFC 9110 §13.1.2): "*" or any listed tag equal to ours.
bool etag_matches(std::string_view list, std::string_view etag) noexcept {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view item = strip_weak(list.substr(0, comma));
    if (item == "*" || item == strip_weak(etag)) return true;
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
  }
  return false;
}

void append_hex(std::string& out, std::uint64_t v) {
  static constexpr char digits[] = "0123456789abcdef";
  char buf[16];
  int n = 0;
  do {
    buf[n++] = digits[v & 15];
    v >>= 4;
  } while (v != 0);
  while (n > 0) out.push_back(buf[--n]);
}

}  // namespace

std::string_view mime_type(std::string_view file_name) noexcept {
  const std::size_t slash = file_name.rfind('/');
  const std::size_t dot = file_name.rfind('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
    return "application/octet-stream";
  }
  const std::string_view ext = file_name.substr(dot + 1);
  for (const mime_row& r : mime_rows) {
    if (iequals(r.ext, ext)) return r.type;
  }
  return "application/octet-stream";
}

error normalize_path(std::string_view raw, std::string& out) {
  out.clear();
  std::string decoded;
  decoded.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '%') {
      // RFC 3986 §2.1: "%" HEXDIG HEXDIG.
      if (i + 2 >= raw.size()) return error::bad_target;
      if (!chars::is_hex(raw[i + 1]) || !chars::is_hex(raw[i + 2])) return error::bad_target;
      c = static_cast<char>(chars::hex_value(raw[i + 1]) * 16 + chars::hex_value(raw[i + 2]));
      i += 2;
    }
    // A NUL would cut the name short in the OS; a backslash is a separator on some systems.
    if (c == '\0' || c == '\\') return error::bad_target;
    decoded.push_back(c);
  }
  // Segments are split after decoding, so "%2e%2e" and "..%2f" are caught like "..".
  std::string_view rest = decoded;
  while (!rest.empty()) {
    const std::size_t slash = rest.find('/');
    const std::string_view seg = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") return error::forbidden;
    if (!out.empty()) out.push_back('/');
    out.append(seg);
  }
  if (!decoded.empty() && decoded.back() == '/' && !out.empty()) out.push_back('/');
  return no_error;
}

static_files::static_files(const fs::path& root) : static_files(root, options{}) {}

static_files::static_files(const fs::path& root, options opts)
    : root_(fs::canonical(root)), opts_(std::move(opts)) {
  root_prefix_ = root_.string();
  if (root_prefix_.empty() || root_prefix_.back() != '/') root_prefix_.push_back('/');
}

int static_files::fail(std::string& out, error e, std::string_view date,
                       std::string_view extra) const {
  write_error_response(out, e, date, extra, /*close=*/false);
  return status_of(e);
}

int static_files::serve(const request_head& req, std::string_view rel, std::string& out,
                        std::string_view date) const {
  const bool head = req.verb == method::head;
  if (!head && req.verb != method::get) {
    return fail(out, error::method_not_allowed, date, "Allow: GET, HEAD\r\n");
  }
  std::string norm;
  if (const error e = normalize_path(rel, norm); e != no_error) return fail(out, e, date);
  // Dot-files and dot-directories are private (".git", ".env", ".htpasswd").
  if (norm.starts_with('.') || norm.find("/.") != std::string::npos) {
    return fail(out, error::not_found, date);
  }

  std::error_code ec;
  fs::path full = root_ / norm;
  fs::file_status st = fs::status(full, ec);
  if (!ec && fs::is_directory(st)) {
    if (!norm.empty() && norm.back() != '/') {
      // Relative links inside the index page need the trailing slash: redirect.
      std::string location(req.path());
      location.push_back('/');
      if (!req.query().empty()) location.append("?").append(req.query());
      response_writer w(out);
      w.status(301);
      if (!date.empty()) w.header("Date", date);
      w.header("Location", location);
      w.body({});
      return w.ok() ? 301 : fail(out, error::bad_target, date);
    }
    full /= opts_.index;
    st = fs::status(full, ec);
  }
  if (ec || !fs::is_regular_file(st)) return fail(out, error::not_found, date);
  const fs::path real = fs::canonical(full, ec);
  if (ec || !real.string().starts_with(root_prefix_)) return fail(out, error::forbidden, date);
  const std::uint64_t size = fs::file_size(real, ec);
  if (ec) return fail(out, error::not_found, date);
  if (size > opts_.max_file_bytes) return fail(out, error::forbidden, date);

  std::string etag;
  std::string_view last_modified;
  char lm_buf[32];
  if (opts_.validators) {
    const auto mtime = fs::last_write_time(real, ec);
    if (!ec) {
      const auto sys = std::chrono::file_clock::to_sys(mtime);
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(sys.time_since_epoch());
      etag.push_back('"');
      append_hex(etag, size);
      etag.push_back('-');
      append_hex(etag, static_cast<std::uint64_t>(ns.count()));
      etag.push_back('"');
      last_modified = format_http_date(std::chrono::system_clock::to_time_t(sys), lm_buf);
    }
  }

  bool not_modified = false;
  if (!etag.empty()) {
    // RFC 9110 §13.1.3: If-Modified-Since is ignored when If-None-Match is present.
    if (auto inm = req.fields.find("If-None-Match")) {
      not_modified = etag_matches(*inm, etag);
    } else if (auto ims = req.fields.find("If-Modified-Since")) {
      not_modified = *ims == last_modified;
    }
  }

  const std::size_t start = out.size();
  response_writer w(out);
  w.status(not_modified ? 304 : 200);
  if (!date.empty()) w.header("Date", date);
  if (!etag.empty()) {
    w.header("ETag", etag);
    w.header("Last-Modified", last_modified);
  }
  if (!opts_.cache_control.empty()) w.header("Cache-Control", opts_.cache_control);
  if (not_modified) {
    w.end_head();
    return 304;
  }
  w.header("Content-Type", mime_type(real.filename().string()));
  w.header("X-Content-Type-Options", "nosniff");
  w.body_length(size);
  if (head || size == 0) return 200;

  std::ifstream in(real, std::ios::binary);
  const std::size_t at = out.size();
  out.resize(at + static_cast<std::size_t>(size));
  if (!in.read(out.data() + at, static_cast<std::streamsize>(size))) {
    // The file shrank or vanished after stat: take back the head and answer 500.
    out.resize(start);
    return fail(out, error::internal_error, date);
  }
  return 200;
}

}  // namespace duplex::http
