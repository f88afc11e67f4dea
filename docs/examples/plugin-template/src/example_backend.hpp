#pragma once
/// The `example` backend: a rule-based stand-in model. It shows the shape of a backend (a
/// configuration read once, failures as values, a callback called exactly once) without a
/// network; replace answer() with calls to your model.
#include <string>
#include <vector>

#include "medsafe/backend.hpp"
#include "medsafe/config.hpp"

namespace example {

/// The backend's settings, read from its validated configuration (see plugin.toml).
struct ExampleSettings {
  std::vector<std::string> refuse_words;  ///< lower case
  std::string refusal;
  std::string reply;  ///< "{prompt}" stands for the user's message

  /// Reads every key the manifest declares; `config` was validated against it by medsafe.
  [[nodiscard]] static ExampleSettings from(const medsafe::Config& config);
};

/// The answer to `request`: the refusal when its last user message holds a refuse word, else
/// the reply. A request without a user message is a failure (Outcome::backend_error), returned
/// as a value like every failure. Token counts are estimated from words.
[[nodiscard]] medsafe::Response answer(const medsafe::Request& request,
                                       const ExampleSettings& settings);

/// A Backend that answers at once, on the caller's thread: submit() calls `done` exactly once
/// before it returns. (A backend that waits on a model must not block submit(): it hands the
/// request to its own thread or to medsafe::HttpTransport and calls `done` from there.)
class ExampleBackend final : public medsafe::Backend {
 public:
  explicit ExampleBackend(ExampleSettings settings);
  void submit(medsafe::Request request, medsafe::ResponseCallback done) override;

 private:
  ExampleSettings settings_;
};

}  // namespace example
