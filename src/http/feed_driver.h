// feed_driver: runs an HTTP parser over a byte stream split into chunks, the way a connection
// would (keep the unconsumed tail, append, feed again), and records what came out as plain
// values. For tests and fuzz targets: comparing records of the same input split differently
// is the differential check of the buffer contract.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/message.h"
#include "http/parse_result.h"

namespace duplex::http::testing {

struct message_record {
  std::string start;  // "GET /x 1" or "101 Switching Protocols 1"
  std::vector<std::pair<std::string, std::string>> fields;
  std::uint64_t content_length = 0;
  bool chunked = false;
  bool keep_alive = false;
  std::string body;
  bool done = false;  // message_done was seen
};

struct run_record {
  std::vector<message_record> messages;
  error err = no_error;
  std::size_t left = 0;  // unconsumed bytes at the end
  bool contract_ok = true;  // consumed never exceeded the input, body views inside it

  bool operator==(const run_record&) const = default;
};

inline message_record record_head(const request_head& h) {
  message_record m;
  m.start = std::string(h.method_text) + " " + std::string(h.target) + " " +
            std::to_string(h.version_minor);
  for (const header& f : h.fields.list) m.fields.emplace_back(f.name, f.value);
  m.content_length = h.content_length;
  m.chunked = h.chunked;
  m.keep_alive = h.keep_alive;
  return m;
}

inline message_record record_head(const response_head& h) {
  message_record m;
  m.start = std::to_string(h.status) + " " + std::string(h.reason) + " " +
            std::to_string(h.version_minor);
  for (const header& f : h.fields.list) m.fields.emplace_back(f.name, f.value);
  m.content_length = h.content_length;
  m.chunked = h.chunked;
  m.keep_alive = h.keep_alive;
  return m;
}

inline bool operator==(const message_record& a, const message_record& b) {
  return a.start == b.start && a.fields == b.fields && a.content_length == b.content_length &&
         a.chunked == b.chunked && a.keep_alive == b.keep_alive && a.body == b.body &&
         a.done == b.done;
}

// Feeds `input` in chunks whose sizes come from next_chunk() (0 is read as 1), draining the
// parser after each append until it needs more or fails.
template <class Parser>
run_record drive(Parser& p, std::string_view input, const std::function<std::size_t()>& next_chunk) {
  run_record rec;
  std::string buf;  // the unconsumed tail, as a connection's spill buffer would hold it
  std::size_t pos = 0;
  while (pos < input.size()) {
    std::size_t n = next_chunk();
    if (n == 0) n = 1;
    n = std::min(n, input.size() - pos);
    buf.append(input.substr(pos, n));
    pos += n;
    for (;;) {
      const parse_result r = p.feed(std::string_view(buf));
      if (r.consumed > buf.size()) {
        rec.contract_ok = false;
        return rec;
      }
      if (r.status == parse_status::head_done) {
        rec.messages.push_back(record_head(p.head()));  // before the head bytes are dropped
      } else if (r.status == parse_status::body) {
        const char* b = buf.data();
        if (rec.messages.empty() || r.body.empty() || r.body.data() < b ||
            r.body.data() + r.body.size() > b + r.consumed) {
          rec.contract_ok = false;
          return rec;
        }
        rec.messages.back().body.append(r.body);
      } else if (r.status == parse_status::message_done) {
        if (rec.messages.empty()) {
          rec.contract_ok = false;
          return rec;
        }
        rec.messages.back().done = true;
      } else if (r.status == parse_status::error) {
        rec.err = r.err;  // `left` stays 0: how much was buffered depends on the split
        return rec;
      }
      buf.erase(0, r.consumed);
      if (r.status == parse_status::need_more) break;
    }
  }
  rec.left = buf.size();
  return rec;
}

template <class Parser>
run_record drive_all(Parser& p, std::string_view input) {
  return drive(p, input, [n = input.size()] { return n; });
}

template <class Parser>
run_record drive_bytes(Parser& p, std::string_view input) {
  return drive(p, input, [] { return std::size_t{1}; });
}

}  // namespace duplex::http::testing
