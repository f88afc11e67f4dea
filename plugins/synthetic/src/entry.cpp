// The synthetic plugin's entry: registers the `synthetic` suite.
#include <memory>

#include "medsafe/plugin.hpp"
#include "synthetic_suite.hpp"

namespace {

void register_synthetic(medsafe::Registrar& registrar) {
  registrar.add_suite("synthetic", [](const medsafe::ComponentContext& context) {
    return std::make_unique<medsafe::synthetic::SyntheticSuite>(context.config, context.seed);
  });
}

}  // namespace

MEDSAFE_PLUGIN("synthetic", register_synthetic)
