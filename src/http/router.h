// router: maps method + path to a handler id, answering 404 and 405 (with Allow).
//
// Handlers are plain ids, not callables: the router stays a pure table (testable, no
// knowledge of connections), and the server keeps a vector of its handlers indexed by id.
//
// Matching, on the raw (still percent-encoded) path, i.e. request_head::path():
//   - exact routes first ("/health"), then prefix routes ("/static/"), longest prefix first;
//   - the most specific path that matches decides: if it has no handler for the method, the
//     answer is method_not_allowed (405) with that path's Allow list, never a shorter prefix;
//   - HEAD falls back to the GET handler (RFC 9110 §9.3.2), and GET routes list HEAD in Allow.
// Build the table at start-up (add() allocates); find() is const, allocation-free and
// thread-safe once no add() runs concurrently.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "http/error.h"
#include "http/message.h"

namespace duplex::http {

class router {
 public:
  using handler_id = std::uint32_t;

  struct match {
    error err = error::not_found;  // no_error, not_found or method_not_allowed
    handler_id id = 0;             // valid when err == no_error
    std::string_view rest;         // prefix routes: the path after the prefix; else empty
    std::string_view allow;        // method_not_allowed: value for the Allow field
  };

  // A later add for the same method and path replaces the earlier handler. method::other
  // cannot be routed (such requests get 405 where the path exists).
  void add(method m, std::string_view path, handler_id id);
  void add_prefix(method m, std::string_view prefix, handler_id id);

  // The returned views point into the router (allow) or into `path` (rest).
  match find(method m, std::string_view path) const noexcept;

 private:
  static constexpr std::size_t n_methods = static_cast<std::size_t>(method::other);
  struct entry {
    std::string path;
    std::array<std::optional<handler_id>, n_methods> handlers{};
    std::string allow;
  };
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  static void set(entry& e, method m, handler_id id);
  static match resolve(const entry& e, method m, std::string_view rest) noexcept;

  std::unordered_map<std::string, entry, string_hash, std::equal_to<>> exact_;
  std::vector<entry> prefixes_;  // longest first
};

}  // namespace duplex::http
