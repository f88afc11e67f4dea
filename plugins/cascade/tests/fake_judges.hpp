#pragma once
/// Test support for composed judges: judges whose verdicts are scripted, answering at once or
/// when told to.
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "medsafe/judge.hpp"

namespace medsafe::testing {

/// A judge that answers every evaluation with `make(input)`, inside evaluate() unless
/// `deferred` (then deliver() answers what waits, in order).
class FakeJudge final : public Judge {
 public:
  FakeJudge(JudgeTraits traits, std::function<Verdict(const JudgeInput&)> make)
      : traits_(traits), make_(std::move(make)) {}

  [[nodiscard]] JudgeTraits traits() const override { return traits_; }

  void evaluate(JudgeInput input, VerdictCallback done) override {
    inputs.push_back(input);
    Verdict verdict = make_(input);
    if (deferred) {
      pending.emplace_back(std::move(done), std::move(verdict));
      return;
    }
    done(std::move(verdict));
  }

  /// Delivers the waiting verdicts, last first when `reverse`.
  void deliver(bool reverse = false) {
    while (!pending.empty()) {
      auto next = reverse ? std::move(pending.back()) : std::move(pending.front());
      if (reverse) {
        pending.pop_back();
      } else {
        pending.pop_front();
      }
      next.first(std::move(next.second));
    }
  }

  std::vector<JudgeInput> inputs;
  std::deque<std::pair<VerdictCallback, Verdict>> pending;
  bool deferred = false;

 private:
  JudgeTraits traits_;
  std::function<Verdict(const JudgeInput&)> make_;
};

inline JudgeTraits refusal_traits() {
  JudgeTraits t;
  t.refusal = true;
  return t;
}

inline JudgeTraits score_traits() {
  JudgeTraits t;
  t.harm_score = true;
  return t;
}

/// A verdict with the given fields.
inline Verdict make_verdict(std::optional<int> score, std::optional<bool> refused,
                            std::optional<double> confidence = std::nullopt, int model_calls = 0,
                            VerdictStatus status = VerdictStatus::ok) {
  Verdict v;
  v.status = status;
  v.score = score;
  v.refused = refused;
  v.confidence = confidence;
  v.model_calls = model_calls;
  v.reason = "scripted";
  return v;
}

}  // namespace medsafe::testing
