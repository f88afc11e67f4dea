// The llamaguard plugin's entry: registers the `llamaguard` judge, bound to one of the run's
// models.
#include <memory>

#include "llamaguard_judge.hpp"
#include "medsafe/error.hpp"
#include "medsafe/plugin.hpp"

namespace {

void register_llamaguard(medsafe::Registrar& registrar) {
  registrar.add_judge("llamaguard", [](const medsafe::ComponentContext& context) {
    if (context.models == nullptr) {
      throw medsafe::Error(medsafe::ErrorKind::internal,
                           "the llamaguard judge was made without the run's models");
    }
    medsafe::Backend& model =
        context.models->model(context.config.string("model"), context.config.where("model"));
    return std::make_unique<medsafe::llamaguard::LlamaGuardJudge>(context.config, model,
                                                                  context.name);
  });
}

}  // namespace

MEDSAFE_PLUGIN("llamaguard", register_llamaguard)
