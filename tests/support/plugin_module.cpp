#include "support/plugin_module.hpp"

#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <string>
#include <system_error>
#include <utility>

#include "medsafe/error.hpp"
#include "medsafe/plugin_module.hpp"

namespace medsafe::testing {
namespace {

namespace fs = std::filesystem;

// What this process has loaded. Never destroyed, like the modules themselves: components made
// from a module may outlive any owner we could give them (STYLE.md: never unload a plugin).
struct LoadedModules {
  std::mutex mutex;
  std::map<fs::path, Registrations> registrations;  ///< by module path
  std::map<fs::path, ModuleComponent> components;   ///< by manifest path
};

LoadedModules& loaded_modules() {
  static auto* modules = new LoadedModules();
  return *modules;
}

Error plugin_error(const std::string& message) { return Error(ErrorKind::plugin, message); }

Error wrong_kind(const Manifest& manifest, ComponentKind wanted) {
  return plugin_error(manifest.file.string() + ": '" + manifest.name + "' is a " +
                      std::string(to_string(manifest.kind)) + " plugin, not a " +
                      std::string(to_string(wanted)));
}

std::string manifests_in(const fs::path& folder) {
  std::string names;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder, ec)) {
    if (entry.path().extension() != ".toml") continue;
    names += (names.empty() ? "" : ", ") + entry.path().stem().string();
  }
  return names.empty() ? "none" : names;
}

// Copies the registration's factory of `kind` into `component`; false when it has none.
bool take_factory(const Registered& registered, ComponentKind kind, ModuleComponent& component) {
  if (!registered.has(kind)) return false;
  component.backend = registered.backend;
  component.suite = registered.suite;
  component.judge = registered.judge;
  return true;
}

}  // namespace

const ModuleComponent& load_module_component(const fs::path& folder, std::string_view name,
                                             ComponentKind kind) {
  LoadedModules& modules = loaded_modules();
  const std::lock_guard<std::mutex> lock(modules.mutex);
  const fs::path file = folder / (std::string(name) + ".toml");
  if (auto found = modules.components.find(file); found != modules.components.end()) {
    if (found->second.manifest.kind != kind) throw wrong_kind(found->second.manifest, kind);
    return found->second;
  }

  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    throw plugin_error("no plugin manifest " + file.string() + " (is its module built?); " +
                       "manifests in that folder: " + manifests_in(folder));
  }
  Manifest manifest = read_manifest(file);
  if (manifest.name != name) {
    throw plugin_error(file.string() + ": names the component '" + manifest.name + "', not '" +
                       std::string(name) + "'");
  }
  if (manifest.kind != kind) throw wrong_kind(manifest, kind);
  const std::string who = "plugin '" + manifest.name + "' (" + manifest.library.string() + ")";
  if (manifest.abi != kAbiVersion) {
    throw plugin_error(who + ": its manifest " + file.string() + " says ABI " +
                       std::to_string(manifest.abi) + ", this medsafe supports " +
                       std::to_string(kAbiVersion) + ": rebuild the plugin");
  }

  // One module may hold several components (exec: a backend and a judge): load it once.
  auto registered = modules.registrations.find(manifest.library);
  if (registered == modules.registrations.end()) {
    registered =
        modules.registrations.emplace(manifest.library, open_plugin_module(manifest.library, who))
            .first;
  }
  ModuleComponent component{std::move(manifest), {}, {}, {}};
  const auto entry = registered->second.find(name);
  if (entry == registered->second.end() || !take_factory(entry->second, kind, component)) {
    throw plugin_error(who + " does not register a " + std::string(to_string(kind)) + " named '" +
                       std::string(name) + "' that its manifest " + file.string() + " declares");
  }
  return modules.components.emplace(file, std::move(component)).first->second;
}

}  // namespace medsafe::testing
