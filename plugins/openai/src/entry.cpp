#include <memory>

#include "medsafe/plugin.hpp"
#include "openai_backend.hpp"

namespace {

void register_openai(medsafe::Registrar& registrar) {
  registrar.add_backend("openai", [](const medsafe::ComponentContext& context) {
    return std::make_unique<medsafe::openai::OpenAiBackend>(context);
  });
}

}  // namespace

MEDSAFE_PLUGIN("openai", register_openai)
