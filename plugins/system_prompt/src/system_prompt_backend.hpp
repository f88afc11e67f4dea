#pragma once
/// The `system-prompt` wrapper: another model of the run, asked with a safety system prompt.
#include <string>

#include "medsafe/backend.hpp"
#include "medsafe/config.hpp"

namespace medsafe::wrappers {

/// How a request's own system message is treated.
enum class SystemPromptMode : bool { prepend, replace };

/// `request` with `prompt` as its system message (see plugin.toml `mode`).
[[nodiscard]] Request with_system_prompt(Request request, const std::string& prompt,
                                         SystemPromptMode mode);

/// Sends each request to `inner` with the system prompt added; the answer is the inner model's,
/// its timing starting when this wrapper got the request (so the wrapper's overhead shows).
class SystemPromptBackend final : public Backend {
 public:
  /// Reads `prompt` and `mode` from `config` (validated against plugin.toml); throws a located
  /// config Error for an empty prompt or an unknown mode.
  SystemPromptBackend(const Config& config, Backend& inner);

  void submit(Request request, ResponseCallback done) override;

 private:
  Backend& inner_;
  std::string prompt_;
  SystemPromptMode mode_ = SystemPromptMode::prepend;
};

}  // namespace medsafe::wrappers
