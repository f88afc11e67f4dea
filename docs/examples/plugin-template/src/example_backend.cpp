#include "example_backend.hpp"

#include <cctype>
#include <cstdint>
#include <string_view>
#include <utility>

#include "medsafe/clock.hpp"

namespace example {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Whitespace-separated words: a model-free estimate, marked as such in Usage::source.
std::int64_t count_words(std::string_view text) {
  std::int64_t words = 0;
  bool in_word = false;
  for (const char c : text) {
    const bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

std::string fill(std::string_view reply, std::string_view prompt) {
  constexpr std::string_view kPlaceholder = "{prompt}";
  std::string out;
  std::size_t from = 0;
  for (std::size_t at; (at = reply.find(kPlaceholder, from)) != std::string_view::npos;) {
    out.append(reply.substr(from, at - from)).append(prompt);
    from = at + kPlaceholder.size();
  }
  return out.append(reply.substr(from));
}

const medsafe::Message* last_user_message(const medsafe::Request& request) {
  for (auto it = request.messages.rbegin(); it != request.messages.rend(); ++it) {
    if (it->role == "user") return &*it;
  }
  return nullptr;
}

}  // namespace

ExampleSettings ExampleSettings::from(const medsafe::Config& config) {
  ExampleSettings settings;
  for (const std::string& word : config.strings("refuse_words")) {
    if (word.empty()) throw config.error("refuse_words", "must not hold an empty word");
    settings.refuse_words.push_back(lower(word));
  }
  settings.refusal = config.string("refusal");
  settings.reply = config.string("reply");
  return settings;
}

medsafe::Response answer(const medsafe::Request& request, const ExampleSettings& settings) {
  medsafe::Response response;
  const medsafe::TimePoint now = medsafe::Clock::now();
  response.timing.intended_send =
      request.intended_send == medsafe::TimePoint{} ? now : request.intended_send;
  response.timing.sent = now;
  const medsafe::Message* user = last_user_message(request);
  if (user == nullptr) {
    response.outcome = medsafe::Outcome::backend_error;
    response.error = "the request has no user message";
    response.timing.finished = medsafe::Clock::now();
    return response;
  }
  const std::string prompt = lower(user->content);
  bool refuse = false;
  for (const std::string& word : settings.refuse_words) {
    refuse = refuse || prompt.find(word) != std::string::npos;
  }
  response.text = refuse ? settings.refusal : fill(settings.reply, user->content);
  response.finish_reason = "stop";
  response.usage.prompt_tokens = count_words(user->content);
  response.usage.completion_tokens = count_words(response.text);
  response.usage.source = medsafe::TokenSource::estimate;
  response.timing.first_byte = medsafe::Clock::now();
  response.timing.finished = response.timing.first_byte;
  return response;
}

ExampleBackend::ExampleBackend(ExampleSettings settings) : settings_(std::move(settings)) {}

void ExampleBackend::submit(medsafe::Request request, medsafe::ResponseCallback done) {
  done(answer(request, settings_));
}

}  // namespace example
