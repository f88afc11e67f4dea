#include "system_prompt_backend.hpp"

#include <utility>

namespace medsafe::wrappers {

Request with_system_prompt(Request request, const std::string& prompt, SystemPromptMode mode) {
  auto& messages = request.messages;
  if (!messages.empty() && messages.front().role == "system") {
    if (mode == SystemPromptMode::replace || messages.front().content.empty()) {
      messages.front().content = prompt;
    } else {
      messages.front().content = prompt + "\n\n" + messages.front().content;
    }
  } else {
    messages.insert(messages.begin(), Message{"system", prompt});
  }
  return request;
}

SystemPromptBackend::SystemPromptBackend(const Config& config, Backend& inner)
    : inner_(inner), prompt_(config.string("prompt")) {
  if (prompt_.empty()) throw config.error("prompt", "must not be empty");
  const std::string mode = config.string("mode");
  if (mode == "replace") {
    mode_ = SystemPromptMode::replace;
  } else if (mode != "prepend") {
    throw config.error("mode", "must be 'prepend' or 'replace', got '" + mode + "'");
  }
}

void SystemPromptBackend::submit(Request request, ResponseCallback done) {
  const TimePoint start = Clock::now();
  const TimePoint intended = request.intended_send == TimePoint{} ? start : request.intended_send;
  inner_.submit(with_system_prompt(std::move(request), prompt_, mode_),
                [done = std::move(done), start, intended](Response&& response) {
                  // The wrapper's own time (none to speak of here) counts like the model's.
                  response.timing.intended_send = intended;
                  response.timing.sent = start;
                  done(std::move(response));
                });
}

}  // namespace medsafe::wrappers
