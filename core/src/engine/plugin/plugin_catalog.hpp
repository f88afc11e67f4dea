#pragma once
/// Finding plugins (manifests in search folders) and loading their libraries, once each, never
/// unloading them.
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "medsafe/manifest.hpp"
#include "medsafe/plugin.hpp"
#include "medsafe/plugin_module.hpp"

namespace medsafe {

/// A loaded component: its manifest and the factories its module registered under its name.
struct ComponentFactory : Registered {
  ComponentFactory(const Manifest* manifest_in, Registered factories)
      : Registered(std::move(factories)), manifest(manifest_in) {}
  const Manifest* manifest = nullptr;
};

/// A manifest that could not be read, kept to be shown rather than stopping discovery.
struct CatalogProblem {
  std::filesystem::path file;
  std::string message;
};

/// Every component found in the search folders. The first folder that provides a name wins;
/// later ones with the same name are recorded as shadowed.
class PluginCatalog {
 public:
  /// Scans each folder for `*.toml` manifests and `*/plugin.toml` one level down.
  /// Missing folders are skipped; unreadable manifests become problems().
  static PluginCatalog discover(const std::vector<std::filesystem::path>& folders);

  [[nodiscard]] const std::vector<Manifest>& components() const noexcept { return components_; }
  [[nodiscard]] const std::vector<Manifest>& shadowed() const noexcept { return shadowed_; }
  [[nodiscard]] const std::vector<CatalogProblem>& problems() const noexcept { return problems_; }
  [[nodiscard]] const std::vector<std::filesystem::path>& folders() const noexcept {
    return folders_;
  }
  [[nodiscard]] const Manifest* find(std::string_view name) const noexcept;

  /// Loads the component's library (once per library: checks permissions, the ABI number and
  /// the build id before anything else of the plugin runs) and returns its factory.
  /// `where` locates the run-file line that asked for it, for messages.
  const ComponentFactory& load(std::string_view name, ComponentKind kind,
                               const SourceLocation& where);

 private:
  std::vector<std::filesystem::path> folders_;
  std::vector<Manifest> components_;
  std::vector<Manifest> shadowed_;
  std::vector<CatalogProblem> problems_;
  std::map<std::string, ComponentFactory, std::less<>> loaded_;
  std::set<std::filesystem::path> libraries_;  ///< libraries already loaded
};

/// The plugin search path, in order: `extra` (run file, --plugin-path), MEDSAFE_PLUGIN_PATH
/// (colon-separated), <executable>/../lib/medsafe/plugins (the build tree and relocatable
/// installs), and the install prefix's lib/medsafe/plugins.
[[nodiscard]] std::vector<std::filesystem::path> plugin_search_path(
    const std::vector<std::filesystem::path>& extra);

/// Throws a plugin Error when `path` (a plugin file or folder) can be written by others than
/// its owner's group and owner — anyone on the machine could then run code inside medsafe.
void check_not_world_writable(const std::filesystem::path& path, std::string_view plugin);

}  // namespace medsafe
