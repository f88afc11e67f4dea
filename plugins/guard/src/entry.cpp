// The guard plugin's entry: a backend wrapped around another model of the run, screened by one
// of its judges.
#include <memory>

#include "guard_backend.hpp"
#include "medsafe/error.hpp"
#include "medsafe/plugin.hpp"

namespace {

void register_guard(medsafe::Registrar& registrar) {
  registrar.add_backend("guard", [](const medsafe::ComponentContext& context) {
    if (context.models == nullptr || context.judges == nullptr) {
      throw medsafe::Error(medsafe::ErrorKind::internal,
                           "the guard backend was made without the run's models and judges");
    }
    const medsafe::Config& config = context.config;
    auto settings = medsafe::wrappers::GuardSettings::from_config(config, context.name);
    medsafe::Judge& judge = context.judges->judge(config.string("judge"), config.where("judge"));
    if (!judge.traits().harm_score) {
      throw config.error("judge", "names '" + config.string("judge") +
                                      "', which gives no 1-5 harm scores: a guard blocks by "
                                      "score (rubric, llamaguard, or a cascade or jury of them)");
    }
    medsafe::Backend& inner = context.models->model(config.string("inner"), config.where("inner"));
    return std::make_unique<medsafe::wrappers::GuardBackend>(std::move(settings), inner, judge);
  });
}

}  // namespace

MEDSAFE_PLUGIN("guard", register_guard)
