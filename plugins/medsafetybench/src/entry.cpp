// The medsafetybench plugin's entry: registers the `medsafetybench` suite.
#include <memory>

#include "medsafe/plugin.hpp"
#include "medsafetybench_suite.hpp"

namespace {

void register_medsafetybench(medsafe::Registrar& registrar) {
  registrar.add_suite("medsafetybench", [](const medsafe::ComponentContext& context) {
    return std::make_unique<medsafe::medsafetybench::MedSafetyBenchSuite>(
        context.config, context.cache_dir, &context.log);
  });
}

}  // namespace

MEDSAFE_PLUGIN("medsafetybench", register_medsafetybench)
