// The few-shot plugin's entry: a backend wrapped around another model of the run.
#include <memory>

#include "few_shot_backend.hpp"
#include "medsafe/error.hpp"
#include "medsafe/plugin.hpp"

namespace {

void register_few_shot(medsafe::Registrar& registrar) {
  registrar.add_backend("few-shot", [](const medsafe::ComponentContext& context) {
    if (context.models == nullptr) {
      throw medsafe::Error(medsafe::ErrorKind::internal,
                           "the few-shot backend was made without the run's models");
    }
    const medsafe::Config& config = context.config;
    // The file first: a bad demonstration is reported even when the inner model is fine.
    auto demos = medsafe::wrappers::load_demonstrations(config);
    medsafe::Backend& inner = context.models->model(config.string("inner"), config.where("inner"));
    return std::make_unique<medsafe::wrappers::FewShotBackend>(std::move(demos), inner);
  });
}

}  // namespace

MEDSAFE_PLUGIN("few-shot", register_few_shot)
