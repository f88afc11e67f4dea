// The exec plugin's entry: registers the `exec` backend and the `exec-judge` judge (one library,
// two manifests).
#include <memory>

#include "exec_components.hpp"
#include "medsafe/plugin.hpp"

namespace {

void register_exec(medsafe::Registrar& registrar) {
  registrar.add_backend("exec", [](const medsafe::ComponentContext& context) {
    return std::make_unique<medsafe::exec::ExecBackend>(context.config, context.name, context.log);
  });
  registrar.add_judge("exec-judge", [](const medsafe::ComponentContext& context) {
    return std::make_unique<medsafe::exec::ExecJudge>(context.config, context.name, context.log);
  });
}

}  // namespace

MEDSAFE_PLUGIN("exec", register_exec)
