#include "openai_response.hpp"

#include <string>
#include <utility>

#include "openai_protocol.hpp"

namespace medsafe::openai {

ResponseAssembler::ResponseAssembler(std::string secret, TimePoint intended_send,
                                     std::size_t max_text_bytes)
    : AssemblerBase(std::move(secret), intended_send, "[DONE]", max_text_bytes) {}

void ResponseAssembler::on_event(const SseEvent& event) {
  ++events_;
  // After the end marker or a failure the rest of the stream is not part of the answer.
  if (failure_.failed() || ended_) return;
  if (event.data == "[DONE]") {
    ended_ = true;
    return;
  }
  if (event.event == "error") {
    failure_.fail(Outcome::stream_error,
                  "the server sent an error event: " + error_message(event.data));
    return;
  }
  Decoded chunk = decode_stream_chunk(event.data);
  switch (chunk.status) {
    case DecodeStatus::error_object:
      failure_.fail(Outcome::stream_error,
                    "the server reported an error in the stream: " + chunk.message);
      return;
    case DecodeStatus::malformed:
      failure_.fail(Outcome::malformed,
                    "stream event " + std::to_string(events_) + ": " + chunk.message);
      return;
    case DecodeStatus::ok:
      break;
  }
  append_text(chunk.content);
  if (chunk.token_bearing()) token_events_.push_back(event.completed);
  if (!chunk.finish_reason.empty()) finish_reason_ = std::move(chunk.finish_reason);
  if (chunk.prompt_tokens >= 0) prompt_tokens_ = chunk.prompt_tokens;
  if (chunk.completion_tokens >= 0) completion_tokens_ = chunk.completion_tokens;
}

DecodeStatus ResponseAssembler::decode_body(const std::string& body, std::string& error) {
  Decoded decoded = decode_completion(body);
  if (decoded.status != DecodeStatus::ok) {
    error = std::move(decoded.message);
    return decoded.status;
  }
  set_text(std::move(decoded.content));
  finish_reason_ = std::move(decoded.finish_reason);
  prompt_tokens_ = decoded.prompt_tokens;
  completion_tokens_ = decoded.completion_tokens;
  return DecodeStatus::ok;
}

std::vector<std::string_view> ResponseAssembler::text_path(bool stream,
                                                           std::string_view /*event_type*/) const {
  if (stream) return {"choices", "0", "delta", "content"};
  return {"choices", "0", "message", "content"};
}

}  // namespace medsafe::openai
