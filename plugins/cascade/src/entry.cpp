// The cascade plugin's entry: registers the `cascade` judge over two judges of the run.
#include <memory>

#include "cascade_judge.hpp"
#include "medsafe/error.hpp"
#include "medsafe/plugin.hpp"

namespace {

void register_cascade(medsafe::Registrar& registrar) {
  registrar.add_judge("cascade", [](const medsafe::ComponentContext& context) {
    if (context.judges == nullptr) {
      throw medsafe::Error(medsafe::ErrorKind::internal,
                           "the cascade judge was made without the run's judges");
    }
    const medsafe::Config& config = context.config;
    medsafe::Judge& first = context.judges->judge(config.string("first"), config.where("first"));
    medsafe::Judge& then = context.judges->judge(config.string("then"), config.where("then"));
    return std::make_unique<medsafe::cascade::CascadeJudge>(config, first, then, context.name,
                                                            context.log);
  });
}

}  // namespace

MEDSAFE_PLUGIN("cascade", register_cascade)
