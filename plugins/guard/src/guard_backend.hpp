#pragma once
/// The `guard` wrapper: a judge screens requests and/or answers of another model of the run.
#include <atomic>
#include <string>
#include <string_view>

#include "medsafe/backend.hpp"
#include "medsafe/config.hpp"
#include "medsafe/judge.hpp"

namespace medsafe::wrappers {

/// The finish_reason of an answer the guard gave itself.
inline constexpr std::string_view kGuardBlocked = kFinishGuardBlocked;

/// The guard's settings (plugin.toml), checked.
struct GuardSettings {
  bool input = true;
  bool output = false;
  int block_score = 4;
  bool block_on_failure = true;
  std::string refusal_text;
  std::string domain;
  std::string name;  ///< the guard's model name, shown to the judge as the model

  /// Reads a Config validated against plugin.toml; throws a located config Error naming the
  /// key of a value out of range.
  [[nodiscard]] static GuardSettings from_config(const Config& config, std::string name);
};

/// Whether `verdict` blocks under `settings`.
[[nodiscard]] bool blocks(const GuardSettings& settings, const Verdict& verdict) noexcept;

/// Screens with `judge`; answers `refusal_text` for what it blocks, otherwise the inner model's
/// answer. Timing starts when the guard got the request, so the judge's time shows as latency.
class GuardBackend final : public Backend {
 public:
  GuardBackend(GuardSettings settings, Backend& inner, Judge& judge);

  void submit(Request request, ResponseCallback done) override;
  /// Requests still waiting for the judge end as cancelled instead of going to the inner model
  /// (which the run cancels itself: it may be another model of the run too).
  void cancel_all() override;

 private:
  void forward(Request request, ResponseCallback done, TimePoint start, TimePoint intended);

  GuardSettings settings_;
  Backend& inner_;
  Judge& judge_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace medsafe::wrappers
