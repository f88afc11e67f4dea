#include <memory>

#include "medsafe/plugin.hpp"
#include "plainchat_backend.hpp"

namespace {

void register_plainchat(medsafe::Registrar& registrar) {
  registrar.add_backend("plainchat", [](const medsafe::ComponentContext& context) {
    return std::make_unique<plainchat::PlainChatBackend>(context);
  });
}

}  // namespace

MEDSAFE_PLUGIN("plainchat", register_plainchat)
