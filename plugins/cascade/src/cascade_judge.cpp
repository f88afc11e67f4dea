#include "cascade_judge.hpp"

#include <cstdio>
#include <memory>
#include <utility>

namespace medsafe::cascade {
namespace {

std::string two_decimals(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", value);
  return buf;
}

std::string percent(std::uint64_t part, std::uint64_t whole) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%",
                whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole));
  return buf;
}

// Why `first` did not settle an answer, for the reason of the verdict `then` gave.
std::string why_not_settled(const std::string& first_name, const Verdict& first,
                            double min_confidence) {
  const std::string who = "'" + first_name + "' ";
  if (first.status != VerdictStatus::ok) {
    return who + "failed (" + std::string(to_string(first.status)) + ": " + first.reason + ")";
  }
  if (has_flag(first, kUncertainFlag)) return who + "was uncertain (" + first.reason + ")";
  if (first.refused != true) return who + "found no refusal";
  if (!first.confidence) return who + "found a refusal but gave no confidence";
  return who + "found a refusal with confidence " + two_decimals(*first.confidence) + " < " +
         two_decimals(min_confidence);
}

}  // namespace

bool settles(const Verdict& first, double min_confidence) noexcept {
  return first.status == VerdictStatus::ok && first.refused == true &&
         !has_flag(first, kUncertainFlag) && first.confidence.value_or(0.0) >= min_confidence;
}

CascadeJudge::CascadeJudge(const Config& config, Judge& first, Judge& then, std::string name,
                           Log& log)
    : name_(std::move(name)), log_(log) {
  State& s = *state_;
  s.first = &first;
  s.then = &then;
  s.first_name = config.string("first");
  s.then_name = config.string("then");
  s.min_confidence = config.number("min_confidence");
  if (s.first_name == s.then_name) {
    throw config.error("then", "names the same judge as 'first'; a cascade needs two judges");
  }
  if (!(s.min_confidence >= 0.0 && s.min_confidence <= 1.0)) {
    throw config.error("min_confidence", "must be a number from 0 to 1");
  }
  if (!first.traits().refusal) {
    throw config.error("first", "names '" + s.first_name +
                                    "', which gives no refusal decisions; the cascade's first "
                                    "judge must (e.g. a 'refusal' judge)");
  }
  s.traits = then.traits();
  if (!s.traits.harm_score && !s.traits.refusal) {
    throw config.error("then",
                       "names '" + s.then_name + "', which gives neither scores nor refusals");
  }
}

CascadeJudge::~CascadeJudge() {
  if (state_->evaluated.load() > 0) log_.info("judges", summary());
}

JudgeTraits CascadeJudge::traits() const { return state_->traits; }

CascadeStats CascadeJudge::stats() const noexcept {
  return CascadeStats{state_->evaluated.load(), state_->settled.load(), state_->then_called.load()};
}

std::string CascadeJudge::summary() const {
  const CascadeStats s = stats();
  const State& st = *state_;
  return "cascade '" + name_ + "': " + std::to_string(s.evaluated) + " answers; '" + st.first_name +
         "' settled " + std::to_string(s.settled) + " (" + percent(s.settled, s.evaluated) +
         " of the calls of '" + st.then_name + "' saved), '" + st.then_name + "' called " +
         std::to_string(s.then_called) + " times";
}

void CascadeJudge::evaluate(JudgeInput input, VerdictCallback done) {
  std::shared_ptr<State> state = state_;
  state->evaluated.fetch_add(1);
  JudgeInput for_first = input;
  // The callbacks own what they use (the state, the input for `then`, `done`), so a verdict
  // that arrives on another thread never touches this object.
  state->first->evaluate(std::move(for_first), [state, input = std::move(input),
                                                done = std::move(done)](Verdict&& first) mutable {
    if (settles(first, state->min_confidence)) {
      state->settled.fetch_add(1);
      Verdict verdict;
      verdict.status = VerdictStatus::ok;
      if (state->traits.harm_score) verdict.score = 1;
      verdict.refused = true;
      verdict.confidence = first.confidence;
      verdict.label = "first: refused";
      verdict.reason = "'" + state->first_name + "' found a refusal with confidence " +
                       two_decimals(*first.confidence) +
                       " >= " + two_decimals(state->min_confidence) + " (" + first.reason + "); '" +
                       state->then_name + "' not called";
      verdict.model_calls = first.model_calls;
      done(std::move(verdict));
      return;
    }
    state->then_called.fetch_add(1);
    std::string note = why_not_settled(state->first_name, first, state->min_confidence);
    state->then->evaluate(std::move(input),
                          [state, note = std::move(note), first_calls = first.model_calls,
                           done = std::move(done)](Verdict&& then) mutable {
                            then.label = then.label.empty() ? "then" : "then: " + then.label;
                            then.reason = note + "; '" + state->then_name + "': " + then.reason;
                            then.model_calls += first_calls;
                            done(std::move(then));
                          });
  });
}

}  // namespace medsafe::cascade
