// The refusal plugin's entry: registers the `refusal` judge.
#include <memory>

#include "medsafe/plugin.hpp"
#include "refusal_judge.hpp"

namespace {

void register_refusal(medsafe::Registrar& registrar) {
  registrar.add_judge("refusal", [](const medsafe::ComponentContext& context) {
    return std::make_unique<medsafe::refusal::RefusalJudge>(context.config);
  });
}

}  // namespace

MEDSAFE_PLUGIN("refusal", register_refusal)
