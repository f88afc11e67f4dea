#include "rubric_judge.hpp"

#include <atomic>
#include <exception>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "medsafe/stable_hash.hpp"
#include "rubric_injection.hpp"
#include "rubric_parse.hpp"
#include "rubric_prompt.hpp"

namespace medsafe::rubric {
namespace {

std::string read_template(const Config& config) {
  const std::filesystem::path file = config.path("template");
  std::ifstream in(file, std::ios::binary);
  if (!in) throw config.error("template", "names '" + file.string() + "', which cannot be read");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::vector<std::string> problems = template_problems(text);
  if (!problems.empty()) {
    std::string message = "names '" + file.string() + "', which is not a usable template: ";
    for (std::size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
    throw config.error("template", message);
  }
  return text;
}

std::string describe_failure(const std::string& model, const Response& response) {
  std::string text =
      "the judge model '" + model + "' failed: " + std::string(to_string(response.outcome));
  if (response.http_status != 0) text += " (HTTP " + std::to_string(response.http_status) + ")";
  if (!response.error.empty()) text += ": " + response.error;
  return text;
}

// One evaluation in flight: shared by the callbacks of its one or two requests.
struct Job {
  Backend* model = nullptr;
  std::string model_name;
  std::string request_id;
  std::string category;
  std::string prompt;
  std::int64_t max_tokens = 0;
  bool reask = false;
  VerdictCallback done;
  std::atomic<int> calls{0};
  std::atomic<bool> finished{false};
  std::string first_raw;                 ///< the unreadable first answer, when asked again
  std::string first_problem;             ///< why it was unreadable
  std::string fence;                     ///< the marker around the answer in the prompt
  std::optional<std::string> injection;  ///< why the answer looks like it steers the judge
};

void finish(const std::shared_ptr<Job>& job, Verdict verdict) {
  if (job->finished.exchange(true)) return;  // `done` runs exactly once
  verdict.model_calls = job->calls.load();
  if (job->injection) {
    verdict.flags.emplace_back(kInjectionSuspectFlag);
    verdict.label = std::string(kInjectionSuspectFlag);
    verdict.reason +=
        (verdict.reason.empty() ? "" : " ") + ("(injection suspect: " + *job->injection + ")");
  }
  VerdictCallback done = std::move(job->done);
  done(std::move(verdict));
}

Verdict error_verdict(std::string reason) {
  Verdict verdict;
  verdict.status = VerdictStatus::error;
  verdict.reason = std::move(reason);
  return verdict;
}

void send(const std::shared_ptr<Job>& job, std::string content, const std::string& id_suffix);

void on_response(const std::shared_ptr<Job>& job, Response&& response) noexcept {
  try {
    const bool second = job->calls.load() > 1;
    if (!response.ok()) {
      const std::string failure = describe_failure(job->model_name, response);
      if (!second) return finish(job, error_verdict(failure));
      // The first answer exists but was unreadable: that is the verdict, with both reasons.
      Verdict verdict;
      verdict.status = VerdictStatus::parse_failure;
      verdict.raw = std::move(job->first_raw);
      verdict.reason = job->first_problem + "; asking again failed: " + failure;
      return finish(job, std::move(verdict));
    }
    // Only the judge's own words count: a quotation of the fenced answer could hold a score.
    const std::string own = strip_fenced(response.text, job->fence);
    if (const std::optional<int> score = parse_rubric_score(own)) {
      Verdict verdict;
      verdict.score = score;
      verdict.reason = extract_rubric_reason(own);
      verdict.raw = std::move(response.text);
      return finish(job, std::move(verdict));
    }
    std::string problem = rubric_parse_problem(own);
    if (job->reask && !second) {
      job->first_raw = std::move(response.text);
      job->first_problem = std::move(problem);
      return send(job, job->prompt + std::string(reask_reminder()), "#reask");
    }
    Verdict verdict;
    verdict.status = VerdictStatus::parse_failure;
    verdict.reason = second ? problem + " (also after asking again)" : problem;
    verdict.raw = std::move(response.text);
    finish(job, std::move(verdict));
  } catch (const std::exception& e) {
    finish(job, error_verdict(std::string("the rubric judge failed: ") + e.what()));
  } catch (...) {
    finish(job, error_verdict("the rubric judge failed with an unknown exception"));
  }
}

void send(const std::shared_ptr<Job>& job, std::string content, const std::string& id_suffix) {
  Request request;
  request.id = job->request_id + id_suffix;
  request.messages.push_back(Message{"user", std::move(content)});
  request.temperature = 0.0;
  request.max_tokens = job->max_tokens;
  request.item.category = job->category;
  job->calls.fetch_add(1);
  try {
    job->model->submit(std::move(request),
                       [job](Response&& response) { on_response(job, std::move(response)); });
  } catch (const std::exception& e) {
    // A backend must report failures as responses; one that throws still yields a verdict.
    finish(job, error_verdict("the judge model '" + job->model_name + "' threw: " + e.what()));
  }
}

}  // namespace

RubricJudge::RubricJudge(const Config& config, Backend& model, std::string name, std::uint64_t seed)
    : model_(model),
      model_name_(config.string("model")),
      name_(std::move(name)),
      policy_(config.string("policy")),
      max_tokens_(config.integer("max_tokens")),
      template_(default_template()),
      reask_(config.boolean("reask_on_parse_failure")),
      seed_(seed),
      injection_phrases_(config.strings("injection_phrases")) {
  if (max_tokens_ <= 0) throw config.error("max_tokens", "must be a positive number of tokens");
  if (config.has("template")) template_ = read_template(config);
}

JudgeTraits RubricJudge::traits() const {
  JudgeTraits traits;
  traits.harm_score = true;
  traits.refusal = false;
  return traits;
}

JudgeDescription RubricJudge::describe() const { return {hex16(mix64(stable_hash(template_)))}; }

std::string RubricJudge::request_id_for(const JudgeInput& input) const {
  // Stable across resumes and distinct per judged answer (two samples of one item differ).
  return "rubric/" + name_ + "/" + input.model + "/" + input.suite + "/" + input.item.id + "/" +
         hex16(stable_hash(input.response));
}

std::string RubricJudge::fence_for(const JudgeInput& input) const {
  return fence_marker(request_id_for(input), seed_);
}

std::string RubricJudge::prompt_for(const JudgeInput& input) const {
  const bool medical = policy_ == "medical" || (policy_ == "auto" && input.domain == "medical");
  return render_prompt(template_, policy_text(medical ? Policy::medical : Policy::general),
                       input.item.prompt, input.response, fence_for(input));
}

void RubricJudge::evaluate(JudgeInput input, VerdictCallback done) {
  auto job = std::make_shared<Job>();
  job->model = &model_;
  job->model_name = model_name_;
  job->request_id = request_id_for(input);
  job->fence = fence_marker(job->request_id, seed_);
  job->injection = injection_evidence(input.response, injection_phrases_, job->fence);
  job->category = input.item.category;
  job->prompt = prompt_for(input);
  job->max_tokens = max_tokens_;
  job->reask = reask_;
  job->done = std::move(done);
  send(job, job->prompt, "");
}

}  // namespace medsafe::rubric
