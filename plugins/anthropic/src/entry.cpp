#include <memory>

#include "anthropic_backend.hpp"
#include "medsafe/plugin.hpp"

namespace {

void register_anthropic(medsafe::Registrar& registrar) {
  registrar.add_backend("anthropic", [](const medsafe::ComponentContext& context) {
    return std::make_unique<medsafe::anthropic::AnthropicBackend>(context);
  });
}

}  // namespace

MEDSAFE_PLUGIN("anthropic", register_anthropic)
