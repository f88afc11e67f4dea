#include "guard_backend.hpp"

#include <memory>
#include <utility>

namespace medsafe::wrappers {
namespace {

std::int64_t count_words(std::string_view text) noexcept {
  std::int64_t words = 0;
  bool in_word = false;
  for (const char c : text) {
    const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

std::string last_user_text(const Request& request) {
  for (auto it = request.messages.rbegin(); it != request.messages.rend(); ++it) {
    if (it->role == "user") return it->content;
  }
  return {};
}

JudgeInput screening_input(const GuardSettings& settings, const Request& request,
                           std::string response) {
  JudgeInput input;
  input.model = settings.name;
  input.domain = settings.domain;
  input.item.id = request.id;
  input.item.category = request.item.category;
  input.item.prompt = last_user_text(request);
  input.response = std::move(response);
  return input;
}

// The guard's own answer: ok, delivered at once (one token event when it is done).
Response refusal(const GuardSettings& settings, TimePoint start, TimePoint intended) {
  Response response;
  response.text = settings.refusal_text;
  response.finish_reason = std::string(kGuardBlocked);
  response.usage.completion_tokens = count_words(settings.refusal_text);
  response.usage.source = TokenSource::estimate;
  const TimePoint now = Clock::now();
  response.timing.intended_send = intended;
  response.timing.sent = start;
  response.timing.first_byte = now;
  response.timing.finished = now;
  response.timing.token_events.push_back(now);
  return response;
}

Response cancelled(TimePoint start, TimePoint intended) {
  Response response;
  response.outcome = Outcome::cancelled;
  response.error = "cancelled while the guard's judge screened the request";
  response.timing.intended_send = intended;
  response.timing.sent = start;
  response.timing.finished = Clock::now();
  return response;
}

}  // namespace

GuardSettings GuardSettings::from_config(const Config& config, std::string name) {
  GuardSettings s;
  const std::string on = config.string("on");
  if (on == "input") {
    s.input = true;
    s.output = false;
  } else if (on == "output") {
    s.input = false;
    s.output = true;
  } else if (on == "both") {
    s.input = s.output = true;
  } else {
    throw config.error("on", "must be 'input', 'output' or 'both', got '" + on + "'");
  }
  const std::int64_t score = config.integer("block_score");
  if (score < 1 || score > 5) throw config.error("block_score", "must be a harm score from 1 to 5");
  s.block_score = static_cast<int>(score);
  const std::string failure = config.string("on_judge_failure");
  if (failure != "block" && failure != "pass") {
    throw config.error("on_judge_failure", "must be 'block' or 'pass', got '" + failure + "'");
  }
  s.block_on_failure = failure == "block";
  s.refusal_text = config.string("refusal_text");
  if (s.refusal_text.empty()) throw config.error("refusal_text", "must not be empty");
  s.domain = config.string("domain");
  s.name = std::move(name);
  return s;
}

bool blocks(const GuardSettings& settings, const Verdict& verdict) noexcept {
  if (verdict.status != VerdictStatus::ok || !verdict.score) return settings.block_on_failure;
  return *verdict.score >= settings.block_score;
}

GuardBackend::GuardBackend(GuardSettings settings, Backend& inner, Judge& judge)
    : settings_(std::move(settings)), inner_(inner), judge_(judge) {}

void GuardBackend::submit(Request request, ResponseCallback done) {
  const TimePoint start = Clock::now();
  const TimePoint intended = request.intended_send == TimePoint{} ? start : request.intended_send;
  if (!settings_.input) {
    forward(std::move(request), std::move(done), start, intended);
    return;
  }
  JudgeInput input = screening_input(settings_, request, last_user_text(request));
  // The request waits in the callback while the judge decides (it may answer at once).
  auto waiting =
      std::make_shared<std::pair<Request, ResponseCallback>>(std::move(request), std::move(done));
  judge_.evaluate(std::move(input), [this, waiting, start, intended](Verdict&& verdict) {
    ResponseCallback finish = std::move(waiting->second);
    if (blocks(settings_, verdict)) {
      finish(refusal(settings_, start, intended));
    } else if (cancelled_.load()) {
      finish(cancelled(start, intended));
    } else {
      forward(std::move(waiting->first), std::move(finish), start, intended);
    }
  });
}

void GuardBackend::forward(Request request, ResponseCallback done, TimePoint start,
                           TimePoint intended) {
  if (!settings_.output) {
    inner_.submit(std::move(request), [done = std::move(done), start, intended](Response&& r) {
      r.timing.intended_send = intended;
      r.timing.sent = start;
      done(std::move(r));
    });
    return;
  }
  JudgeInput input = screening_input(settings_, request, {});
  inner_.submit(std::move(request), [this, done = std::move(done), start, intended,
                                     input = std::move(input)](Response&& answer) mutable {
    answer.timing.intended_send = intended;
    answer.timing.sent = start;
    if (!answer.ok()) {  // a failure is the answer: nothing to screen
      done(std::move(answer));
      return;
    }
    input.response = answer.text;
    auto held =
        std::make_shared<std::pair<Response, ResponseCallback>>(std::move(answer), std::move(done));
    judge_.evaluate(std::move(input), [this, held, start, intended](Verdict&& verdict) {
      Response& response = held->first;
      if (blocks(settings_, verdict)) {
        Response replaced = refusal(settings_, start, intended);
        // The inner model's stream happened: its first token is still when output began.
        replaced.timing.first_byte = response.timing.first_byte;
        replaced.timing.token_events = std::move(response.timing.token_events);
        replaced.timing.token_events.push_back(replaced.timing.finished);
        replaced.usage.prompt_tokens = response.usage.prompt_tokens;
        held->second(std::move(replaced));
        return;
      }
      response.timing.finished = Clock::now();  // the answer is out once the judge let it go
      held->second(std::move(response));
    });
  });
}

void GuardBackend::cancel_all() { cancelled_.store(true); }

}  // namespace medsafe::wrappers
