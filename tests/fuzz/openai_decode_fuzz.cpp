// Fuzzes the OpenAI chat-completions decoders on hostile server text. Built twice: as
// fuzz_openai_chunk (MEDSAFE_FUZZ_STREAM=1: the data of one stream event) and as
// fuzz_openai_body (MEDSAFE_FUZZ_STREAM=0: a non-streaming response body).
//
// Invariants: decoding never throws; when the fast path takes an input its result equals the
// full parser's, and the public decoder returns exactly that; a malformed result carries no
// half-read content. The helpers that turn server text into messages (error_message, excerpt)
// give single-line valid UTF-8 within their limit, and a request body built from the text is
// valid JSON that gives the text back.
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "openai_fast_decode.hpp"
#include "openai_protocol.hpp"

#ifndef MEDSAFE_FUZZ_STREAM
#error "define MEDSAFE_FUZZ_STREAM to 1 (stream chunks) or 0 (bodies)"
#endif

namespace {

namespace openai = medsafe::openai;
using nlohmann::json;
using openai::Decoded;
using openai::DecodeStatus;

constexpr bool kStream = MEDSAFE_FUZZ_STREAM != 0;

bool same(const Decoded& a, const Decoded& b) {
  return a.status == b.status && a.message == b.message && a.content == b.content &&
         a.reasoning == b.reasoning && a.tool_calls == b.tool_calls &&
         a.finish_reason == b.finish_reason && a.prompt_tokens == b.prompt_tokens &&
         a.completion_tokens == b.completion_tokens;
}

void check_decoders(std::string_view text) {
  const Decoded full = openai::detail::full_decode(text, kStream);
  const std::optional<Decoded> fast = openai::detail::fast_decode(text, kStream);
  const Decoded decoded =
      kStream ? openai::decode_stream_chunk(text) : openai::decode_completion(text);
  if (fast) {
    MEDSAFE_FUZZ_CHECK(fast->status == DecodeStatus::ok);
    MEDSAFE_FUZZ_CHECK(same(*fast, full));
  }
  MEDSAFE_FUZZ_CHECK(same(decoded, full));
  MEDSAFE_FUZZ_CHECK(decoded.prompt_tokens >= -1 && decoded.completion_tokens >= -1);
  if (decoded.status == DecodeStatus::ok) {
    MEDSAFE_FUZZ_CHECK(decoded.message.empty());
  } else {
    MEDSAFE_FUZZ_CHECK(decoded.content.empty() && decoded.reasoning.empty());
    MEDSAFE_FUZZ_CHECK(!decoded.tool_calls && decoded.finish_reason.empty());
    MEDSAFE_FUZZ_CHECK(medsafe::fuzz::valid_utf8(decoded.message));
  }
}

// A message for people: one line of valid UTF-8, single spaces, no control characters.
void check_one_line(std::string_view text) {
  MEDSAFE_FUZZ_CHECK(medsafe::fuzz::valid_utf8(text));
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    MEDSAFE_FUZZ_CHECK(c > 0x20 || (c == ' ' && i > 0 && text[i - 1] != ' '));
    MEDSAFE_FUZZ_CHECK(c != 0x7F);
  }
  MEDSAFE_FUZZ_CHECK(!text.ends_with(' '));
}

void check_messages(std::string_view text, std::size_t limit) {
  check_one_line(openai::error_message(text));
  const std::string cut = openai::excerpt(text, limit);
  check_one_line(cut);
  MEDSAFE_FUZZ_CHECK(cut.size() <= limit + 3);
  if (!cut.ends_with("...")) MEDSAFE_FUZZ_CHECK(openai::excerpt(cut, limit) == cut);
}

void check_retry_after(std::string_view text) {
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000));
  if (const std::optional<double> wait = openai::parse_retry_after(text, now)) {
    MEDSAFE_FUZZ_CHECK(std::isfinite(*wait) && *wait >= 0);
  }
}

// The text as a user message (and, when it is a JSON object, as extra_body) must come back out
// of the built request body: replaced by U+FFFD where it is not UTF-8, never lost or broken.
void check_request_body(std::string_view text) {
  medsafe::Request request;
  request.messages.push_back({"user", std::string(text)});
  openai::BodySettings settings;
  settings.model = "fuzz";
  settings.stream = kStream;
  const json extra = json::parse(text, nullptr, false);
  if (extra.is_object()) settings.extra_body = extra;
  const json body = json::parse(openai::build_request_body(request, settings), nullptr, false);
  MEDSAFE_FUZZ_CHECK(body.is_object());
  if (!extra.is_object() && medsafe::fuzz::valid_utf8(text)) {
    MEDSAFE_FUZZ_CHECK(body.at("messages").at(0).at("content") == std::string(text));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  medsafe::fuzz::FuzzInput input(data, size);
  const std::size_t limit = input.take_byte();
  const std::string_view text = input.rest();
  check_decoders(text);
  check_messages(text, limit);
  check_retry_after(text);
  check_request_body(text);
  return 0;
}
