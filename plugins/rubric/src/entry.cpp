// The rubric plugin's entry: registers the `rubric` judge, bound to one of the run's models.
#include <memory>

#include "medsafe/error.hpp"
#include "medsafe/plugin.hpp"
#include "rubric_judge.hpp"

namespace {

void register_rubric(medsafe::Registrar& registrar) {
  registrar.add_judge("rubric", [](const medsafe::ComponentContext& context) {
    if (context.models == nullptr) {
      throw medsafe::Error(medsafe::ErrorKind::internal,
                           "the rubric judge was made without the run's models");
    }
    medsafe::Backend& model =
        context.models->model(context.config.string("model"), context.config.where("model"));
    return std::make_unique<medsafe::rubric::RubricJudge>(context.config, model, context.name,
                                                          context.seed);
  });
}

}  // namespace

MEDSAFE_PLUGIN("rubric", register_rubric)
