#pragma once
/// Test support: loads one component of a built plugin module with the SDK only (its manifest,
/// Boost.DLL and the handshake of medsafe/plugin.hpp), never through the engine's catalog, so
/// that plugin tests stay on their side of the plugin boundary (tools/check-plugin-includes.sh).
#include <filesystem>
#include <string_view>

#include "medsafe/manifest.hpp"
#include "medsafe/plugin.hpp"

namespace medsafe::testing {

/// One component as its module registered it: its manifest and the factory of its kind (the
/// factories of the other kinds are empty).
struct ModuleComponent {
  Manifest manifest;
  BackendFactory backend;
  SuiteFactory suite;
  JudgeFactory judge;
};

/// Loads the component `name` of `kind` from `folder`, a plugin folder of the build that holds
/// `<name>.toml` (the manifest medsafe_add_plugin copies beside the module). Reads the manifest
/// with the SDK, checks its name, kind and ABI, loads the module it names once per process and
/// never unloads it, checks the entry's ABI and build id before any other plugin code runs, and
/// has the module register its components. Loading the same component again returns the same
/// object. Throws a plugin Error naming the manifest or the module when any of that fails.
[[nodiscard]] const ModuleComponent& load_module_component(const std::filesystem::path& folder,
                                                           std::string_view name,
                                                           ComponentKind kind);

}  // namespace medsafe::testing
