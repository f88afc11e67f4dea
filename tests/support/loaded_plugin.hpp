#pragma once
/// Test support: loads one of the built plugin modules through the engine's catalog (as a run
/// does) and makes its component, to check the module's entry and registration.
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "engine/plugin/plugin_catalog.hpp"
#include "medsafe/config.hpp"
#include "medsafe/http/transport.hpp"
#include "medsafe/log.hpp"
#include "medsafe/plugin.hpp"

namespace medsafe::testing {

/// The built module of one component with what its factory needs.
class LoadedPlugin {
 public:
  /// Loads `name` of `kind` from the build's plugin folder (MEDSAFE_PLUGIN_BUILD_DIR).
  LoadedPlugin(std::string_view name, ComponentKind kind)
      : catalog_(PluginCatalog::discover({MEDSAFE_PLUGIN_BUILD_DIR})),
        factory_(&catalog_.load(name, kind, SourceLocation{"test", 0, 0})),
        log_(make_console_log(LogLevel::off)) {}

  /// A configuration validated against the loaded manifest, from TOML text.
  [[nodiscard]] Config config(std::string_view toml) const {
    return Config::from_toml(toml, factory_->manifest->config, "run.toml");
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

  [[nodiscard]] const ComponentFactory& factory() const noexcept { return *factory_; }

 private:
  PluginCatalog catalog_;
  const ComponentFactory* factory_;
  HttpTransport http_;
  std::unique_ptr<Log> log_;
};

}  // namespace medsafe::testing
