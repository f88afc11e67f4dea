// The jury plugin's entry: registers the `jury` judge over judges of the run.
#include <memory>
#include <vector>

#include "jury_judge.hpp"
#include "medsafe/error.hpp"
#include "medsafe/plugin.hpp"

namespace {

void register_jury(medsafe::Registrar& registrar) {
  registrar.add_judge("jury", [](const medsafe::ComponentContext& context) {
    if (context.judges == nullptr) {
      throw medsafe::Error(medsafe::ErrorKind::internal,
                           "the jury judge was made without the run's judges");
    }
    std::vector<medsafe::Judge*> jurors;
    for (const std::string& name : context.config.strings("judges")) {
      jurors.push_back(&context.judges->judge(name, context.config.where("judges")));
    }
    return std::make_unique<medsafe::jury::JuryJudge>(context.config, std::move(jurors));
  });
}

}  // namespace

MEDSAFE_PLUGIN("jury", register_jury)
