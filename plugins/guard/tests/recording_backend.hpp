#pragma once
/// Test support for wrapper backends: an inner model that records what it is asked and answers
/// at once with a scripted text.
#include <string>
#include <utility>
#include <vector>

#include "medsafe/backend.hpp"

namespace medsafe::testing {

class RecordingBackend final : public Backend {
 public:
  explicit RecordingBackend(std::string answer = "an answer") : answer_(std::move(answer)) {}

  void submit(Request request, ResponseCallback done) override {
    requests.push_back(request);
    Response response;
    response.text = answer_;
    response.finish_reason = "stop";
    response.timing.sent = Clock::now();
    response.timing.first_byte = response.timing.sent;
    response.timing.token_events.push_back(response.timing.sent);
    response.timing.finished = response.timing.sent;
    if (fail) {
      response.outcome = Outcome::http_error;
      response.http_status = 500;
      response.error = "scripted failure";
    }
    done(std::move(response));
  }

  std::vector<Request> requests;
  bool fail = false;

 private:
  std::string answer_;
};

/// A request as the runner builds one: a user message, an id and a category.
inline Request user_request(std::string text, std::string category = "1") {
  Request request;
  request.id = "target/msb/1#0";
  request.item.category = std::move(category);
  request.messages.push_back(Message{"user", std::move(text)});
  return request;
}

}  // namespace medsafe::testing
