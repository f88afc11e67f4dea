// The system-prompt plugin's entry: a backend wrapped around another model of the run.
#include <memory>

#include "medsafe/error.hpp"
#include "medsafe/plugin.hpp"
#include "system_prompt_backend.hpp"

namespace {

void register_system_prompt(medsafe::Registrar& registrar) {
  registrar.add_backend("system-prompt", [](const medsafe::ComponentContext& context) {
    if (context.models == nullptr) {
      throw medsafe::Error(medsafe::ErrorKind::internal,
                           "the system-prompt backend was made without the run's models");
    }
    const medsafe::Config& config = context.config;
    medsafe::Backend& inner = context.models->model(config.string("inner"), config.where("inner"));
    return std::make_unique<medsafe::wrappers::SystemPromptBackend>(config, inner);
  });
}

}  // namespace

MEDSAFE_PLUGIN("system-prompt", register_system_prompt)
