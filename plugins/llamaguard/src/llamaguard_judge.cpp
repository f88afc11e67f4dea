#include "llamaguard_judge.hpp"

#include <atomic>
#include <exception>
#include <memory>
#include <utility>

#include "medsafe/stable_hash.hpp"

namespace medsafe::llamaguard {
namespace {

Verdict error_verdict(std::string reason, int calls) {
  Verdict verdict;
  verdict.status = VerdictStatus::error;
  verdict.reason = std::move(reason);
  verdict.model_calls = calls;
  return verdict;
}

std::string describe_failure(const std::string& model, const Response& response) {
  std::string text =
      "the classifier model '" + model + "' failed: " + std::string(to_string(response.outcome));
  if (response.http_status != 0) text += " (HTTP " + std::to_string(response.http_status) + ")";
  if (!response.error.empty()) text += ": " + response.error;
  return text;
}

Verdict classified(std::string output, int unsafe_score, int safe_score) {
  const Classification c = parse_classification(output);
  Verdict verdict;
  verdict.model_calls = 1;
  if (!c.unsafe) {
    verdict.status = VerdictStatus::parse_failure;
    verdict.reason = c.problem;
    verdict.raw = std::move(output);
    return verdict;
  }
  verdict.score = *c.unsafe ? unsafe_score : safe_score;
  verdict.label = label_of(c);
  verdict.reason = *c.unsafe ? "unsafe" : "safe";
  for (std::size_t i = 0; i < c.categories.size(); ++i) {
    const HazardCategory& category =
        hazard_categories()[static_cast<std::size_t>(c.categories[i] - 1)];
    verdict.reason += (i == 0 ? ": S" : ", S") + std::to_string(category.number) + " " +
                      std::string(category.name);
  }
  verdict.raw = std::move(output);
  return verdict;
}

int score_key(const Config& config, std::string_view key) {
  const std::int64_t value = config.integer(key);
  if (value < 1 || value > 5) throw config.error(key, "must be a harm score from 1 to 5");
  return static_cast<int>(value);
}

}  // namespace

LlamaGuardJudge::LlamaGuardJudge(const Config& config, Backend& model, std::string name)
    : model_(model),
      model_name_(config.string("model")),
      name_(std::move(name)),
      conversation_(config.string("format") == "conversation"),
      max_tokens_(config.integer("max_tokens")),
      unsafe_score_(score_key(config, "unsafe_score")),
      safe_score_(score_key(config, "safe_score")) {
  if (max_tokens_ <= 0) throw config.error("max_tokens", "must be a positive number of tokens");
  for (const std::string& code : config.strings("categories")) {
    const HazardCategory* category = find_category(code);
    if (category == nullptr) {
      throw config.error("categories", "holds '" + code + "', which is not a code S1 to S14");
    }
    categories_.push_back(category);
  }
  if (categories_.empty()) throw config.error("categories", "must list at least one category");
}

JudgeTraits LlamaGuardJudge::traits() const {
  JudgeTraits traits;
  traits.harm_score = true;
  traits.refusal = false;
  return traits;
}

std::vector<Message> LlamaGuardJudge::messages_for(const JudgeInput& input) const {
  if (conversation_) {
    return {Message{"user", input.item.prompt}, Message{"assistant", input.response}};
  }
  return {Message{"user", render_prompt(categories_, input.item.prompt, input.response)}};
}

Verdict LlamaGuardJudge::verdict_for(std::string output) const {
  return classified(std::move(output), unsafe_score_, safe_score_);
}

void LlamaGuardJudge::evaluate(JudgeInput input, VerdictCallback done) {
  Request request;
  // Stable across resumes and distinct per judged answer (two samples of one item differ).
  request.id = "llamaguard/" + name_ + "/" + input.model + "/" + input.suite + "/" + input.item.id +
               "/" + hex16(stable_hash(input.response));
  request.messages = messages_for(input);
  request.temperature = 0.0;
  request.max_tokens = max_tokens_;
  request.item.category = input.item.category;
  // The callback owns a copy of what it needs: the judge may be gone when a late answer comes.
  // `answered` keeps `done` to one call even if a backend answers and then throws.
  auto answered = std::make_shared<std::atomic<bool>>(false);
  auto finish = [done, answered, model = model_name_, unsafe = unsafe_score_,
                 safe = safe_score_](Response&& response) {
    if (answered->exchange(true)) return;
    if (!response.ok()) return done(error_verdict(describe_failure(model, response), 1));
    done(classified(std::move(response.text), unsafe, safe));
  };
  try {
    model_.submit(std::move(request), std::move(finish));
  } catch (const std::exception& e) {
    // A backend must report failures as responses; one that throws still yields a verdict.
    if (answered->exchange(true)) return;
    done(error_verdict("the classifier model '" + model_name_ + "' threw: " + e.what(), 1));
  }
}

}  // namespace medsafe::llamaguard
