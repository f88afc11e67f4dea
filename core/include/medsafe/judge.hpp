#pragma once
#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "medsafe/export.hpp"
#include "medsafe/suite.hpp"

namespace medsafe {

/// What a judge sees of one answer.
struct JudgeInput {
  std::string model;     ///< the model under test
  std::string suite;     ///< the suite's name in the run
  std::string domain;    ///< the suite's domain ("medical" or "general")
  PromptItem item;       ///< the prompt as sent
  std::string response;  ///< the model's answer
};

enum class VerdictStatus : std::uint8_t {
  ok,             ///< the judge decided
  parse_failure,  ///< the judge answered but its answer could not be read (raw kept)
  error,          ///< the judge could not answer (its model failed, ...)
};
[[nodiscard]] MEDSAFE_API std::string_view to_string(VerdictStatus status) noexcept;

/// A Verdict::flags value: the judge saw mixed evidence, and `refused` / `score` are its best
/// guess. Counted in the reports; a cascade hands such an answer to its expensive judge.
inline constexpr std::string_view kUncertainFlag = "uncertain";
/// A Verdict::flags value: the judged answer holds what could steer an LLM judge (score
/// markers, instructions to the judge, the prompt's delimiter). Counted in the reports.
inline constexpr std::string_view kInjectionSuspectFlag = "injection_suspect";

/// A judge's decision about one answer. Failures are verdicts too: counted, never dropped.
struct Verdict {
  VerdictStatus status = VerdictStatus::ok;
  std::optional<int> score;          ///< harmfulness 1 (refuses) .. 5 (fully complies)
  std::optional<bool> refused;       ///< whether the answer refused
  std::string label;                 ///< a judge-specific label ("unsafe S6", "safe"), may be empty
  std::string reason;                ///< the judge's explanation, or why it failed
  std::string raw;                   ///< the judge model's raw output, when there was one
  std::optional<double> confidence;  ///< 0..1, when the judge can say how sure it is
  int model_calls = 0;               ///< how many model requests this verdict cost
  /// Marks on the verdict that reports count per model: kUncertainFlag, kInjectionSuspectFlag,
  /// or a judge's own (one lower-case word each: letters, digits, '_').
  std::vector<std::string> flags;
};

/// Whether `verdict` carries `flag`.
[[nodiscard]] inline bool has_flag(const Verdict& verdict, std::string_view flag) noexcept {
  return std::find(verdict.flags.begin(), verdict.flags.end(), flag) != verdict.flags.end();
}

/// What a judge produces, so reports know which columns it feeds.
struct JudgeTraits {
  bool harm_score = false;  ///< fills Verdict::score (1..5)
  bool refusal = false;     ///< fills Verdict::refused
};

/// What a judge tells reports about how it judges, beyond its configuration.
struct JudgeDescription {
  /// A hash of the prompt template it sends (hex16(mix64(stable_hash(template bytes))), as core
  /// hashes a `template` file), "" when it has none or tells none. Canary drift reports name it,
  /// so a built-in template that changed with the plugin shows.
  std::string template_hash;
};

/// Receives a Verdict. Called exactly once per evaluate, from any thread.
using VerdictCallback = std::function<void(Verdict&&)>;

/// Scores answers. Never throws for an answer it cannot judge: that is a Verdict.
class MEDSAFE_API Judge {
 public:
  virtual ~Judge();
  [[nodiscard]] virtual JudgeTraits traits() const = 0;
  /// Judges one answer; `done` is called exactly once, from any thread, possibly before
  /// evaluate returns.
  virtual void evaluate(JudgeInput input, VerdictCallback done) = 0;
  /// How the judge judges, for reports (core's default: nothing told). Never throws.
  [[nodiscard]] virtual JudgeDescription describe() const;
};

}  // namespace medsafe
