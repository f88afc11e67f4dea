#include "medsafe/http/backend_base.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <limits>

#include "medsafe/http/wire_text.hpp"
#include "medsafe/json_text.hpp"
#include "medsafe/log.hpp"

namespace medsafe::http_backend {

HttpBackend::HttpBackend(const ComponentContext& context, Endpoint endpoint)
    : http_(context.http), endpoint_(std::make_shared<const Endpoint>(std::move(endpoint))) {
  if (!endpoint_->api_key.empty()) context.log.add_secret(endpoint_->api_key);
  if (endpoint_->replicas.size() > 1) replicas_ = std::make_shared<ReplicaSet>(endpoint_->replicas);
}

HttpBackend::~HttpBackend() {
  if (replicas_) {
    // No callback sends on to another replica once we are going (they would use `this`).
    const std::lock_guard lock(replicas_->send_mutex());
    replicas_->closing = true;
  }
  // Requests in flight end now, so none calls back into a runner that outlives us by little.
  http_.cancel(this);
}

void HttpBackend::submit(Request request, ResponseCallback done) {
  if (replicas_) {
    submit_replicated(std::move(request), std::move(done));
    return;
  }
  HttpRequest http;
  try {
    http = make_http_request(*endpoint_, request, build_body(request), this);
  } catch (const std::exception& error) {
    Response response;
    response.outcome = Outcome::backend_error;
    response.error =
        redact(std::string("cannot build the request: ") + error.what(), {endpoint_->api_key});
    done(std::move(response));
    return;
  }
  std::shared_ptr<HttpExchange> exchange = make_exchange(request, std::move(done));
  http_.start(std::move(http), std::move(exchange));
}

void HttpBackend::cancel_all() { http_.cancel(this); }

bool HttpBackend::reentrant_submit() const noexcept { return true; }

void FailureSlot::fail(Outcome outcome, std::string error) {
  if (outcome_ != Outcome::ok) return;
  outcome_ = outcome;
  error_ = std::move(error);
}

void FailureSlot::move_to(Response& response) {
  if (outcome_ == Outcome::ok) return;
  response.outcome = outcome_;
  response.error = std::move(error_);
}

namespace {

// Fills what every exchange's Response has; returns true when it got a 2xx answer to decode.
bool begin_response(const HttpResult& result, TimePoint intended_send, std::uint64_t events,
                    Response& response) {
  response.http_status = result.status;
  response.timing.intended_send = intended_send == TimePoint{} ? result.sent : intended_send;
  response.timing.sent = result.sent;
  response.timing.first_byte = result.first_byte;
  response.timing.finished = result.finished;
  response.wire_sends = std::max(result.sends, 1);
  if (const std::string* retry_after = result.header("retry-after")) {
    response.retry_after_s = parse_retry_after(*retry_after, std::chrono::system_clock::now());
  }
  if (result.outcome != Outcome::ok) {
    response.outcome = result.outcome;
    response.error = result.error;
    response.unreachable = result.unreachable;
    if (events > 0) response.error += " (after " + std::to_string(events) + " stream events)";
    return false;
  }
  if (result.status < 200 || result.status >= 300) {
    response.outcome = Outcome::http_error;
    response.error =
        "HTTP " + std::to_string(result.status) + ": " +
        (result.body.empty() ? std::string("(empty body)") : error_message(result.body));
    return false;
  }
  return true;
}

// What the body was, for a message about one that could not be read. A result made without
// the transport (tests, benchmarks) may carry only `body`.
std::string describe_arrival(const HttpResult& result) {
  const std::string* type = result.header("content-type");
  const std::uint64_t bytes = std::max<std::uint64_t>(result.body_bytes, result.body.size());
  const std::string_view head = result.body_head.empty()
                                    ? std::string_view(result.body).substr(0, kBodyHeadBytes)
                                    : std::string_view(result.body_head);
  return describe_body(type != nullptr ? std::string_view(*type) : std::string_view(), bytes, head);
}

}  // namespace

AssemblerBase::AssemblerBase(std::string secret, TimePoint intended_send,
                             std::string_view end_marker, std::size_t max_text_bytes)
    : secret_(std::move(secret)),
      intended_send_(intended_send),
      end_marker_(end_marker),
      max_text_bytes_(max_text_bytes) {}

AssemblerBase::~AssemblerBase() = default;
AssemblerBase::AssemblerBase(AssemblerBase&&) noexcept = default;
AssemblerBase& AssemblerBase::operator=(AssemblerBase&&) noexcept = default;

std::string AssemblerBase::finish_reason() const { return finish_reason_; }

void AssemblerBase::append_text(std::string_view piece) {
  if (truncated_) return;
  if (max_text_bytes_ == 0 || text_.size() + piece.size() <= max_text_bytes_) {
    text_.append(piece);
    return;
  }
  text_.append(piece.substr(0, utf8_prefix_length(piece, max_text_bytes_ - text_.size())));
  truncated_ = true;
}

void AssemblerBase::set_text(std::string text) {
  text_ = std::move(text);
  if (max_text_bytes_ > 0 && text_.size() > max_text_bytes_) {
    text_.resize(utf8_prefix_length(text_, max_text_bytes_));
    truncated_ = true;
  }
}

std::size_t AssemblerBase::text_room() const noexcept {
  if (max_text_bytes_ == 0) return std::numeric_limits<std::size_t>::max();
  return max_text_bytes_ > text_.size() ? max_text_bytes_ - text_.size() : 0;
}

void AssemblerBase::on_cut_event(const SseEvent& event) {
  ++events_;
  if (failure_.failed() || ended_ || truncated_) return;
  const std::vector<std::string_view> path = text_path(true, event.event);
  const JsonStrings found =
      path.empty() ? JsonStrings{} : json_strings_at(event.data, path, text_room());
  if (found.found == 0) {
    failure_.fail(Outcome::malformed,
                  "stream event " + std::to_string(events_) + " outgrew the " +
                      std::to_string(event.data.size()) +
                      " bytes kept (max_response_bytes) before any answer text: it begins " +
                      quoted_bytes(event.data));
    return;
  }
  if (!found.text.empty()) token_events_.push_back(event.completed);
  append_text(found.text);
  truncated_ = true;  // the event went on past what was kept
}

void AssemblerBase::finish_stream(const HttpResult& result, Response& response) {
  if (failure_.failed()) {
    failure_.move_to(response);
  } else if (!ended_ && result.cut && truncated_) {
    // Ended here on purpose, at the answer's bound: the answer, cut, is the result.
  } else if (!ended_ && events_ == 0) {
    // Nothing in it was an event: say what it was rather than guess it was a cut stream.
    response.outcome = Outcome::stream_error;
    response.error = "the stream ended without a single event (nor " + std::string(end_marker_) +
                     "): " + describe_arrival(result);
  } else if (!ended_) {
    response.outcome = Outcome::stream_error;
    response.error = "stream ended after " + std::to_string(events_) + " events without " +
                     std::string(end_marker_);
    if (result.sse_truncated) response.error += " (cut inside an event)";
  }
}

void AssemblerBase::finish_body(const HttpResult& result, Response& response) {
  std::string error;
  if (result.cut) {
    // Too large to parse whole (and never buffered whole): the answer is read from the
    // beginning that was kept.
    const JsonStrings found = json_strings_at(result.body, text_path(false, {}), text_room());
    if (found.found == 0) {
      response.outcome = Outcome::malformed;
      response.error = "the body outgrew the " + std::to_string(result.body.size()) +
                       " bytes kept (max_response_bytes) before any answer text (" +
                       describe_arrival(result) + ")";
      return;
    }
    set_text(found.text);
    truncated_ = true;
    return;
  }
  // JSON text never holds a raw NUL, and the JSON reader takes one for the end of its input
  // ("unexpected end of input"), which hides what arrived.
  if (const std::size_t nul = result.body.find('\0'); nul != std::string::npos) {
    response.outcome = Outcome::malformed;
    response.error = "the body is not valid JSON: a NUL byte at offset " + std::to_string(nul) +
                     " (" + describe_arrival(result) + ")";
    return;
  }
  switch (decode_body(result.body, error)) {
    case DecodeStatus::error_object:
      response.outcome = Outcome::stream_error;
      response.error = "the server returned an error object: " + error;
      return;
    case DecodeStatus::malformed:
      response.outcome = Outcome::malformed;
      response.error = std::move(error) + " (" + describe_arrival(result) + ")";
      return;
    case DecodeStatus::ok:
      return;
  }
}

Response AssemblerBase::finish(HttpResult&& result) {
  Response response;
  const bool streamed = result.sse || events_ > 0;
  if (begin_response(result, intended_send_, events_, response)) {
    if (streamed) {
      finish_stream(result, response);
    } else {
      finish_body(result, response);
    }
  }
  response.text = std::move(text_);
  response.truncated = truncated_;
  response.finish_reason = finish_reason();
  response.timing.token_events = std::move(token_events_);
  response.usage.prompt_tokens = prompt_tokens_;
  if (completion_tokens_ >= 0) {
    response.usage.completion_tokens = completion_tokens_;
    response.usage.source = TokenSource::usage;
  } else if (streamed) {
    response.usage.completion_tokens =
        static_cast<std::int64_t>(response.timing.token_events.size());
    response.usage.source = TokenSource::events;
  }
  // A hostile or careless server may echo the request's credentials back in its error text.
  if (!secret_.empty()) {
    response.error = redact(std::move(response.error), {secret_});
    response.text = redact(std::move(response.text), {secret_});
  }
  return response;
}

}  // namespace medsafe::http_backend
