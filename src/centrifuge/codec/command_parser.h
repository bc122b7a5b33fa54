// command_parser: one WebSocket text frame (or one HTTP-streaming/SSE emulation body) of
// Centrifugo client protocol v2 JSON in, commands out. Sans-I/O (STYLE.md rule 2).
//
// Framing (centrifugal.dev docs/transports/client_protocol.md, "Top level batching"): a frame
// holds one or more commands, each a JSON object on its own line, joined by '\n'. Blank lines
// are skipped. `{}` alone is the client's pong (protocol v2 "Ping Pong").
//
// Validation is strict; unknown *fields* are ignored (SDKs add fields over time, e.g.
// centrifuge-js 5.x sends `flag` and `headers`), but must still be valid JSON.
//  - A frame or command that cannot be trusted (malformed JSON, wrong field types, framing or
//    size limits, unknown command, missing id) ends parsing with a parse_error; its only wire
//    reaction is reaction(e): disconnect 3501 "bad request", as Centrifugo does for commands it
//    cannot decode.
//  - A well-formed command with an id whose required field is missing or empty (no channel,
//    publish without data, refresh without token) becomes an invalid_request command: the
//    session replies error 107 "bad request" to its id and goes on with the frame.
//
// Thread safety: a command_parser is used by one thread at a time (one per loop thread is the
// intent: it holds simdjson's buffers, which grow to the largest frame seen and are then reused,
// so parsing does not allocate per message). Commands it produced are invalidated by its next
// parse.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "centrifuge/codec/codes.h"
#include "centrifuge/codec/command.h"

namespace duplex::centrifuge {

struct parse_limits {
  std::size_t max_frame_bytes = 64 * 1024;    // Centrifugo's default websocket message size limit
  std::size_t max_command_bytes = 64 * 1024;  // one line
  std::size_t max_commands = 128;             // lines per frame
  std::size_t max_connect_subs = 1024;        // entries of connect.subs
  std::size_t max_depth = 32;                 // JSON nesting inside one command, data included
};

enum class parse_error : std::uint8_t {
  none,
  empty_frame,          // no command at all (empty or whitespace-only frame)
  frame_too_large,      // frame.size() > max_frame_bytes
  command_too_large,    // one line > max_command_bytes
  too_many_commands,    // more than max_commands lines
  too_many_subs,        // connect.subs larger than max_connect_subs
  too_deep,             // nesting deeper than max_depth
  malformed_json,       // not JSON (syntax, bad UTF-8, control characters in strings, trailing bytes)
  not_an_object,        // a line that is valid JSON but not an object
  wrong_type,           // a known field with the wrong JSON type
  number_out_of_range,  // id > 2^32-1, limit outside int32, offset outside uint64
  missing_id,           // a command that expects a reply but has no id (or id 0)
  unknown_command,      // an object with no known request (other than the empty pong `{}`)
  multiple_requests,    // more than one request in one command
};

std::string_view to_string(parse_error e) noexcept;

// The one wire reaction for each parse_error (STYLE.md rule 11): all of them are
// disconnects::bad_request (3501), per centrifugal.dev docs/server/codes.md
// ("DisconnectBadRequest issued when client uses malformed protocol frames").
disconnect reaction(parse_error e) noexcept;

struct parse_result {
  parse_error error = parse_error::none;
  // Commands appended to `out`. On error: those of the lines before the failing one (the session
  // may run them before it disconnects, as Centrifugo does, or drop them).
  std::size_t commands = 0;
  std::size_t error_offset = 0;  // offset in the frame of the line that failed
  std::uint32_t error_id = 0;    // id of the failing command, if it was read before the error

  bool ok() const noexcept { return error == parse_error::none; }
};

class command_parser {
 public:
  // Bytes that parse_padded() may read past the end of the frame (simdjson's SIMDJSON_PADDING).
  static constexpr std::size_t padding = 64;

  explicit command_parser(parse_limits limits = {});
  ~command_parser();
  command_parser(command_parser&&) noexcept;
  command_parser& operator=(command_parser&&) noexcept;

  // Parses every command of `frame`. `out` is cleared first (its capacity is kept). The frame
  // is copied once into the parser's padded buffer; views in `out` point there or into the
  // parser's string arena.
  parse_result parse(std::string_view frame, std::vector<command>& out);

  // As parse(), without the copy: the caller guarantees that `padding` bytes after the frame
  // are readable (their content does not matter), e.g. in the loop's padded receive buffer.
  // Views in `out` then point into `frame`.
  parse_result parse_padded(std::string_view frame, std::vector<command>& out);

  const parse_limits& limits() const noexcept;
  void set_limits(const parse_limits& limits) noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Convenience: parses with a command_parser private to the calling thread, configured with
// `limits`. Views in `out` are valid until the next parse_commands() call on this thread.
parse_result parse_commands(std::string_view frame, const parse_limits& limits,
                            std::vector<command>& out);

}  // namespace duplex::centrifuge
