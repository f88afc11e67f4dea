// The library's one exported entry. Kept in a file of its own: the unit tests link the
// component (example_objects) without it.
#include <memory>

#include "example_backend.hpp"
#include "medsafe/plugin.hpp"

namespace {

void register_example(medsafe::Registrar& registrar) {
  // The name must match plugin.toml's `name`; the factory runs once per [models.X] table.
  registrar.add_backend("example", [](const medsafe::ComponentContext& context) {
    return std::make_unique<example::ExampleBackend>(
        example::ExampleSettings::from(context.config));
  });
}

}  // namespace

MEDSAFE_PLUGIN("example", register_example)
