// The table plugin's entry: registers the `table` suite.
#include <memory>

#include "medsafe/plugin.hpp"
#include "table_suite.hpp"

namespace {

void register_table(medsafe::Registrar& registrar) {
  registrar.add_suite("table", [](const medsafe::ComponentContext& context) {
    return std::make_unique<medsafe::table::TableSuite>(context.config, &context.log);
  });
}

}  // namespace

MEDSAFE_PLUGIN("table", register_table)
