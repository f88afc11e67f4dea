#include "anthropic_response.hpp"

#include <string>
#include <utility>

#include "anthropic_protocol.hpp"

namespace medsafe::anthropic {

ResponseAssembler::ResponseAssembler(std::string secret, TimePoint intended_send,
                                     std::size_t max_text_bytes)
    : AssemblerBase(std::move(secret), intended_send, "message_stop", max_text_bytes) {}

void ResponseAssembler::on_event(const SseEvent& event) {
  ++events_;
  // After the end marker or a failure the rest of the stream is not part of the answer.
  if (failure_.failed() || ended_) return;
  Decoded decoded = decode_event(event.event, event.data);
  switch (decoded.status) {
    case DecodeStatus::error_object:
      failure_.fail(Outcome::stream_error, "the server sent an error event: " + decoded.message);
      return;
    case DecodeStatus::malformed:
      failure_.fail(Outcome::malformed,
                    "stream event " + std::to_string(events_) + ": " + decoded.message);
      return;
    case DecodeStatus::ok:
      break;
  }
  if (decoded.kind == EventKind::message_stop) {
    ended_ = true;
    return;
  }
  append_text(decoded.text);
  if (decoded.token_bearing) token_events_.push_back(event.completed);
  if (!decoded.stop_reason.empty()) finish_reason_ = std::move(decoded.stop_reason);
  if (decoded.input_tokens >= 0) prompt_tokens_ = decoded.input_tokens;
  if (decoded.output_tokens >= 0) completion_tokens_ = decoded.output_tokens;
}

DecodeStatus ResponseAssembler::decode_body(const std::string& body, std::string& error) {
  Decoded decoded = decode_message(body);
  if (decoded.status != DecodeStatus::ok) {
    error = std::move(decoded.message);
    return decoded.status;
  }
  set_text(std::move(decoded.text));
  finish_reason_ = std::move(decoded.stop_reason);
  prompt_tokens_ = decoded.input_tokens;
  completion_tokens_ = decoded.output_tokens;
  return DecodeStatus::ok;
}

std::string ResponseAssembler::finish_reason() const { return finish_reason_of(finish_reason_); }

std::vector<std::string_view> ResponseAssembler::text_path(bool stream,
                                                           std::string_view event_type) const {
  // Text comes in content_block_delta events (delta.text); a body has it in its text blocks.
  if (stream) {
    if (event_type == "content_block_delta") return {"delta", "text"};
    return {};
  }
  return {"content", "*", "text"};
}

}  // namespace medsafe::anthropic
