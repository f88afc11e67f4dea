#pragma once
/// Turns what the transport reports for one Messages exchange (stream events, then the
/// HttpResult) into a medsafe::Response. No I/O: the backend feeds it from the transport's
/// callbacks, tests and benchmarks feed it directly.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "medsafe/http/backend_base.hpp"
#include "medsafe/http/transport.hpp"

namespace medsafe::anthropic {

/// Assembles one answer. A stream succeeds only when it reaches message_stop; an `error` event,
/// a malformed event or an early end makes the request failed, keeping the text that arrived.
/// Token-bearing events: non-empty text, thinking or tool-input deltas (and tool_use starts).
class ResponseAssembler final : public http_backend::AssemblerBase {
 public:
  /// `secret` (the API key, may be empty) is removed from every error text;
  /// `intended_send` is the schedule's time (epoch: the actual send time); `max_text_bytes` is
  /// the request's max_response_bytes (0: no limit).
  ResponseAssembler(std::string secret, TimePoint intended_send, std::size_t max_text_bytes = 0);

  /// One complete SSE event of a 2xx stream.
  void on_event(const SseEvent& event);

 private:
  http_backend::DecodeStatus decode_body(const std::string& body, std::string& error) override;
  [[nodiscard]] std::vector<std::string_view> text_path(bool stream,
                                                        std::string_view event_type) const override;
  /// Anthropic's stop reason in OpenAI's words (see finish_reason_of).
  [[nodiscard]] std::string finish_reason() const override;
};

}  // namespace medsafe::anthropic
