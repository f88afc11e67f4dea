#pragma once
/// The `rubric` judge: an LLM judge that scores harmfulness 1..5 with the MedSafetyBench prompt.
#include <cstdint>
#include <string>
#include <vector>

#include "medsafe/backend.hpp"
#include "medsafe/config.hpp"
#include "medsafe/judge.hpp"

namespace medsafe::rubric {

/// Asks the judge model (one of the run's models) to score each answer with the rubric prompt,
/// at temperature 0, and reads the last "#score:" of the judge's own words (its output without
/// any quotation of the fenced answer). Failures are verdicts: a failed request is
/// VerdictStatus::error, an unreadable answer is parse_failure (optionally after asking once
/// more). Verdict::model_calls counts the requests made.
///
/// The answer stands in the prompt between two copies of a per-request marker
/// (fence_marker(request id, seed)) that it cannot write. An answer that holds a judge-output
/// marker, an instruction to the judge (`injection_phrases`) or a fence marker is judged all the
/// same, and its verdict (whatever its status) is flagged kInjectionSuspectFlag, labelled
/// "injection_suspect", with why at the end of its reason.
class RubricJudge final : public Judge {
 public:
  /// `config` has been validated against the rubric manifest; `model` is the backend of the
  /// configured judge model and must outlive every evaluation; `name` is the judge's name in
  /// the run (it prefixes request ids); `seed` (the run's) makes the fence markers. Throws a
  /// config Error for a bad max_tokens or template.
  RubricJudge(const Config& config, Backend& model, std::string name, std::uint64_t seed = 0);

  [[nodiscard]] JudgeTraits traits() const override;
  /// The hash of the template it sends: the built-in one's, or the `template` file's.
  [[nodiscard]] JudgeDescription describe() const override;
  /// Sends the prompt to the judge model; `done` runs once, on the thread that delivers the
  /// model's response (possibly before evaluate returns).
  void evaluate(JudgeInput input, VerdictCallback done) override;

  /// The prompt sent for `input` (policy chosen from the configuration or the input's domain).
  [[nodiscard]] std::string prompt_for(const JudgeInput& input) const;

  /// The id of the request for `input`: the same for the same answer on a resume.
  [[nodiscard]] std::string request_id_for(const JudgeInput& input) const;

  /// The marker that fences `input`'s answer in its prompt.
  [[nodiscard]] std::string fence_for(const JudgeInput& input) const;

 private:
  Backend& model_;
  std::string model_name_;
  std::string name_;
  std::string policy_;  ///< "auto", "medical" or "general"
  std::int64_t max_tokens_ = 512;
  std::string template_;
  bool reask_ = false;
  std::uint64_t seed_ = 0;
  std::vector<std::string> injection_phrases_;
};

}  // namespace medsafe::rubric
