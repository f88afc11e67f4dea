#pragma once
/// Turns what the transport reports for one chat-completions exchange (stream events, then the
/// HttpResult) into a medsafe::Response. No I/O: the backend feeds it from the transport's
/// callbacks, tests and benchmarks feed it directly.
#include <cstdint>
#include <string>
#include <vector>

#include "medsafe/backend.hpp"
#include "medsafe/http.hpp"

namespace medsafe::openai {

class ResponseAssembler {
 public:
  /// `secret` (the API key, may be empty) is removed from every error text;
  /// `intended_send` is the schedule's time (epoch: the actual send time).
  ResponseAssembler(std::string secret, TimePoint intended_send);

  /// One complete SSE event of a 2xx stream.
  void on_event(const SseEvent& event);
  /// The Response, once the exchange is over. Call once.
  [[nodiscard]] Response finish(HttpResult&& result);

 private:
  void fail(Outcome outcome, std::string error);
  void finish_stream(const HttpResult& result, Response& response);
  void finish_body(const HttpResult& result, Response& response);

  std::string secret_;
  TimePoint intended_send_;
  std::string text_;
  std::string finish_reason_;
  std::vector<TimePoint> token_events_;
  std::int64_t prompt_tokens_ = -1;
  std::int64_t completion_tokens_ = -1;
  std::uint64_t events_ = 0;  ///< SSE events seen, [DONE] included
  bool done_ = false;         ///< "[DONE]" arrived
  Outcome failure_ = Outcome::ok;
  std::string failure_error_;
};

}  // namespace medsafe::openai
