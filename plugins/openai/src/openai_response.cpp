#include "openai_response.hpp"

#include <chrono>
#include <string>
#include <utility>

#include "medsafe/log.hpp"
#include "openai_protocol.hpp"

namespace medsafe::openai {

ResponseAssembler::ResponseAssembler(std::string secret, TimePoint intended_send)
    : secret_(std::move(secret)), intended_send_(intended_send) {}

void ResponseAssembler::fail(Outcome outcome, std::string error) {
  if (failure_ != Outcome::ok) return;
  failure_ = outcome;
  failure_error_ = std::move(error);
}

void ResponseAssembler::on_event(const SseEvent& event) {
  ++events_;
  // After the end marker or a failure the rest of the stream is not part of the answer.
  if (failure_ != Outcome::ok || done_) return;
  if (event.data == "[DONE]") {
    done_ = true;
    return;
  }
  if (event.event == "error") {
    fail(Outcome::stream_error, "the server sent an error event: " + error_message(event.data));
    return;
  }
  Decoded chunk = decode_stream_chunk(event.data);
  switch (chunk.status) {
    case DecodeStatus::error_object:
      fail(Outcome::stream_error, "the server reported an error in the stream: " + chunk.message);
      return;
    case DecodeStatus::malformed:
      fail(Outcome::malformed, "stream event " + std::to_string(events_) + ": " + chunk.message);
      return;
    case DecodeStatus::ok:
      break;
  }
  text_ += chunk.content;
  if (chunk.token_bearing()) token_events_.push_back(event.completed);
  if (!chunk.finish_reason.empty()) finish_reason_ = std::move(chunk.finish_reason);
  if (chunk.prompt_tokens >= 0) prompt_tokens_ = chunk.prompt_tokens;
  if (chunk.completion_tokens >= 0) completion_tokens_ = chunk.completion_tokens;
}

void ResponseAssembler::finish_stream(const HttpResult& result, Response& response) {
  if (failure_ != Outcome::ok) {
    response.outcome = failure_;
    response.error = std::move(failure_error_);
  } else if (!done_) {
    response.outcome = Outcome::stream_error;
    response.error = "stream ended after " + std::to_string(events_) + " events without [DONE]";
    if (result.sse_truncated) response.error += " (cut inside an event)";
  }
}

void ResponseAssembler::finish_body(const HttpResult& result, Response& response) {
  Decoded body = decode_completion(result.body);
  switch (body.status) {
    case DecodeStatus::error_object:
      response.outcome = Outcome::stream_error;
      response.error = "the server returned an error object: " + body.message;
      return;
    case DecodeStatus::malformed:
      response.outcome = Outcome::malformed;
      response.error = body.message;
      return;
    case DecodeStatus::ok:
      break;
  }
  text_ = std::move(body.content);
  finish_reason_ = std::move(body.finish_reason);
  prompt_tokens_ = body.prompt_tokens;
  completion_tokens_ = body.completion_tokens;
}

Response ResponseAssembler::finish(HttpResult&& result) {
  Response response;
  response.http_status = result.status;
  response.timing.intended_send = intended_send_ == TimePoint{} ? result.sent : intended_send_;
  response.timing.sent = result.sent;
  response.timing.first_byte = result.first_byte;
  response.timing.finished = result.finished;
  if (const std::string* retry_after = result.header("retry-after")) {
    response.retry_after_s = parse_retry_after(*retry_after, std::chrono::system_clock::now());
  }
  const bool streamed = result.sse || events_ > 0;
  if (result.outcome != Outcome::ok) {
    response.outcome = result.outcome;
    response.error = result.error;
    if (events_ > 0) response.error += " (after " + std::to_string(events_) + " stream events)";
  } else if (result.status < 200 || result.status >= 300) {
    response.outcome = Outcome::http_error;
    response.error =
        "HTTP " + std::to_string(result.status) + ": " +
        (result.body.empty() ? std::string("(empty body)") : error_message(result.body));
  } else if (streamed) {
    finish_stream(result, response);
  } else {
    finish_body(result, response);
  }
  response.text = std::move(text_);
  response.finish_reason = std::move(finish_reason_);
  response.usage.prompt_tokens = prompt_tokens_;
  if (completion_tokens_ >= 0) {
    response.usage.completion_tokens = completion_tokens_;
    response.usage.source = TokenSource::usage;
  } else if (streamed) {
    response.usage.completion_tokens = static_cast<std::int64_t>(token_events_.size());
    response.usage.source = TokenSource::events;
  }
  response.timing.token_events = std::move(token_events_);
  // A hostile or careless server may echo the request's credentials back in its error text.
  if (!secret_.empty()) {
    response.error = redact(std::move(response.error), {secret_});
    response.text = redact(std::move(response.text), {secret_});
  }
  return response;
}

}  // namespace medsafe::openai
