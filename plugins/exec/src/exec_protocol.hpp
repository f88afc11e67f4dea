#pragma once
/// The exec protocol (docs/exec-protocol.md), version 1: JSON lines between medsafe and a
/// program, over the program's stdin (medsafe writes) and stdout (the program writes). Pure
/// encoding and decoding, safe on any input (fuzzed).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "medsafe/backend.hpp"
#include "medsafe/judge.hpp"

namespace medsafe::exec {

/// The protocol version this medsafe speaks.
inline constexpr int kProtocolVersion = 1;

/// What a program's component plays.
enum class Role : std::uint8_t { backend, judge };

/// medsafe's first line: {"type":"hello","protocol":1,"role":"backend","name":...,
/// "max_in_flight":N,"options":{...}}. `options_json` is a JSON object's text.
[[nodiscard]] std::string encode_hello(Role role, std::string_view name, int max_in_flight,
                                       std::string_view options_json);
/// {"type":"request","id":...,"request_id":...,"messages":[{"role","content"}...],
/// "max_tokens"?,"temperature"?,"seed"?,"max_response_bytes"?,"ignore_eos","category"}; unset
/// options are left out.
[[nodiscard]] std::string encode_request(std::string_view id, const Request& request);
/// {"type":"judge","id":...,"prompt":...,"response":...,"category":...,"domain":...,
/// "model":...,"suite":...,"item_id":...,"reference":...}.
[[nodiscard]] std::string encode_judge(std::string_view id, const JudgeInput& input);
/// {"type":"cancel","id":...}: medsafe no longer waits for this id.
[[nodiscard]] std::string encode_cancel(std::string_view id);

/// The kinds of line a program writes.
enum class ReplyType : std::uint8_t { hello, delta, answer, verdict, error };

/// One decoded line of the program.
struct Reply {
  ReplyType type = ReplyType::hello;
  std::string id;  ///< empty for hello
  // hello
  int protocol = 0;
  std::string name;
  std::optional<int> max_in_flight;  ///< the program may lower medsafe's limit
  // delta, answer
  std::optional<std::string> text;  ///< an answer without text is the concatenated deltas
  /// The line outgrew the session's bound and `text` is its beginning (set by the session for
  /// a cut line, never decoded).
  bool truncated = false;
  std::string finish_reason;
  Usage usage;  ///< source = usage when the program gave completion_tokens
  // verdict
  Verdict verdict;
  // error
  std::string message;
  Outcome outcome = Outcome::backend_error;
  int http_status = 0;
  std::optional<double> retry_after_s;
};

/// The result of decoding one line: a reply, or the problem (and the id, when one was readable,
/// so that the request it belongs to can fail).
struct Decoded {
  std::optional<Reply> reply;
  std::string problem;
  std::string id;
};

/// Decodes one line (without its newline). Never throws.
[[nodiscard]] Decoded decode_reply(std::string_view line);

/// `text` cut to at most `max` bytes (at a UTF-8 character boundary) with "..." when cut, for
/// messages that quote a program's output.
[[nodiscard]] std::string shorten(std::string_view text, std::size_t max = 200);

}  // namespace medsafe::exec
