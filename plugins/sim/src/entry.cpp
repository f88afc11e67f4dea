// The loadable module's only entry: registers the `sim` backend.
#include <memory>

#include "medsafe/plugin.hpp"
#include "sim_backend.hpp"

namespace {
void register_sim(medsafe::Registrar& registrar) {
  registrar.add_backend("sim", [](const medsafe::ComponentContext& context) {
    return std::make_unique<medsafe::sim::SimBackend>(context);
  });
}
}  // namespace

MEDSAFE_PLUGIN("sim", register_sim)
