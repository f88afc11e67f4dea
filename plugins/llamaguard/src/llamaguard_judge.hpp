#pragma once
/// The `llamaguard` judge: an LLM classifier in the Llama Guard 3 format.
#include <cstdint>
#include <string>
#include <vector>

#include "llamaguard_format.hpp"
#include "medsafe/backend.hpp"
#include "medsafe/config.hpp"
#include "medsafe/judge.hpp"

namespace medsafe::llamaguard {

/// Asks the classifier model (one of the run's models) whether the answer (the Agent's last turn)
/// is unsafe, at temperature 0, and reads "safe" / "unsafe\nS2,S6". The verdict: score
/// safe_score (1) or unsafe_score (5), label "safe" / "unsafe S2,S6", the categories' names as
/// the reason, the output as raw; Verdict::refused is not set (Llama Guard does not say). A
/// failed request is VerdictStatus::error, an unreadable answer parse_failure (raw kept).
class LlamaGuardJudge final : public Judge {
 public:
  /// `config` has been validated against the llamaguard manifest; `model` must outlive every
  /// evaluation; `name` is the judge's name in the run (it prefixes request ids). Throws a config
  /// Error for an unknown category code, scores outside 1..5 or a bad max_tokens.
  LlamaGuardJudge(const Config& config, Backend& model, std::string name);

  [[nodiscard]] JudgeTraits traits() const override;
  /// Sends one request; `done` runs once, on the thread that delivers the model's response.
  void evaluate(JudgeInput input, VerdictCallback done) override;

  /// The messages sent for `input` (one user message, or the user and assistant turns).
  [[nodiscard]] std::vector<Message> messages_for(const JudgeInput& input) const;
  /// The verdict for the classifier's `output`.
  [[nodiscard]] Verdict verdict_for(std::string output) const;

 private:
  Backend& model_;
  std::string model_name_;
  std::string name_;
  bool conversation_ = false;
  std::vector<const HazardCategory*> categories_;
  std::int64_t max_tokens_ = 32;
  int unsafe_score_ = 5;
  int safe_score_ = 1;
};

}  // namespace medsafe::llamaguard
