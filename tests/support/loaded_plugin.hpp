#pragma once
/// Test support: loads one of the built plugin modules from the build's plugin folder, with the
/// SDK only (support/plugin_module.hpp, not the engine's catalog), and makes its component, to
/// check the module's entry and registration.
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "medsafe/config.hpp"
#include "medsafe/http/transport.hpp"
#include "medsafe/log.hpp"
#include "medsafe/plugin.hpp"
#include "support/plugin_module.hpp"

namespace medsafe::testing {

/// The built module of one component with what its factory needs.
class LoadedPlugin {
 public:
  /// Loads `name` of `kind` from the build's plugin folder (MEDSAFE_PLUGIN_BUILD_DIR).
  LoadedPlugin(std::string_view name, ComponentKind kind)
      : component_(&load_module_component(MEDSAFE_PLUGIN_BUILD_DIR, name, kind)),
        log_(make_console_log(LogLevel::off)) {}

  /// A configuration validated against the loaded manifest, from TOML text.
  [[nodiscard]] Config config(std::string_view toml) const {
    return Config::from_toml(toml, component_->manifest.config, "run.toml");
  }

  /// The context a run would give a component named `name`.
  [[nodiscard]] ComponentContext context(const Config& config, ModelDirectory* models = nullptr,
                                         std::filesystem::path cache = {},
                                         JudgeDirectory* judges = nullptr) {
    return ComponentContext{.name = "under-test",
                            .config = config,
                            .http = http_,
                            .log = *log_,
                            .models = models,
                            .cache_dir = std::move(cache),
                            .judges = judges};
  }

  /// The component's manifest and factory (only the one of its kind is set).
  [[nodiscard]] const ModuleComponent& factory() const noexcept { return *component_; }

 private:
  const ModuleComponent* component_;
  HttpTransport http_;
  std::unique_ptr<Log> log_;
};

}  // namespace medsafe::testing
