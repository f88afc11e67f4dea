#include "support/plugin_module.hpp"

#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <string>
#include <system_error>
#include <utility>

#include <boost/dll/shared_library.hpp>

#include "medsafe/error.hpp"
#include "medsafe/version.hpp"

namespace medsafe::testing {
namespace {

namespace fs = std::filesystem;

// The factories one module registered under one component name.
struct Registered {
  BackendFactory backend;
  SuiteFactory suite;
  JudgeFactory judge;
};
using Registrations = std::map<std::string, Registered, std::less<>>;

class CollectingRegistrar final : public Registrar {
 public:
  void add_backend(std::string_view name, BackendFactory make) override {
    entries_[std::string(name)].backend = std::move(make);
  }
  void add_suite(std::string_view name, SuiteFactory make) override {
    entries_[std::string(name)].suite = std::move(make);
  }
  void add_judge(std::string_view name, JudgeFactory make) override {
    entries_[std::string(name)].judge = std::move(make);
  }
  Registrations take() { return std::move(entries_); }

 private:
  Registrations entries_;
};

// What this process has loaded. Never destroyed, like the modules themselves: components made
// from a module may outlive any owner we could give them (STYLE.md: never unload a plugin).
struct LoadedModules {
  std::mutex mutex;
  std::map<fs::path, boost::dll::shared_library*> libraries;  ///< by module path
  std::map<fs::path, Registrations> registrations;            ///< by module path
  std::map<fs::path, ModuleComponent> components;             ///< by manifest path
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

// Loads the module, checks its handshake and collects what it registers.
Registrations register_module(const Manifest& manifest, const std::string& who) {
  auto library = std::make_unique<boost::dll::shared_library>();
  try {
    library->load(manifest.library,
                  boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    throw plugin_error(who + ": cannot load the module: " + e.what());
  }
  // Kept before anything of the plugin runs: whatever happens next, it stays loaded.
  boost::dll::shared_library& module = *library;
  loaded_modules().libraries.emplace(manifest.library, library.release());
  if (!module.has(kPluginEntrySymbol)) {
    throw plugin_error(who + ": not a medsafe plugin module (no '" +
                       std::string(kPluginEntrySymbol) + "' entry; built with MEDSAFE_PLUGIN?)");
  }
  const PluginInfo* info = nullptr;
  try {
    info = module.get_alias<PluginEntry>(kPluginEntrySymbol)();
  } catch (const std::exception& e) {
    throw plugin_error(who + ": its entry failed: " + e.what());
  }
  if (info == nullptr) throw plugin_error(who + ": its entry returned nothing");
  if (info->abi != kAbiVersion) {
    throw plugin_error(who + ": built for medsafe ABI " + std::to_string(info->abi) +
                       ", this medsafe supports ABI " + std::to_string(kAbiVersion) +
                       ": rebuild the plugin");
  }
  if (info->build_id == nullptr || std::strcmp(info->build_id, MEDSAFE_BUILD_ID) != 0) {
    throw plugin_error(who + ": built as '" +
                       std::string(info->build_id != nullptr ? info->build_id : "?") +
                       "', this test is '" MEDSAFE_BUILD_ID "': rebuild the plugin");
  }
  CollectingRegistrar registrar;
  try {
    info->register_components(registrar);
  } catch (const std::exception& e) {
    throw plugin_error(who + ": registering its components threw: " + e.what());
  } catch (...) {
    throw plugin_error(who + ": registering its components threw");
  }
  return registrar.take();
}

// Copies the registration's factory of `kind` into `component`; false when it has none.
bool take_factory(const Registered& registered, ComponentKind kind, ModuleComponent& component) {
  switch (kind) {
    case ComponentKind::backend:
      component.backend = registered.backend;
      return static_cast<bool>(component.backend);
    case ComponentKind::suite:
      component.suite = registered.suite;
      return static_cast<bool>(component.suite);
    case ComponentKind::judge:
      component.judge = registered.judge;
      return static_cast<bool>(component.judge);
  }
  return false;
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
    if (modules.libraries.count(manifest.library) != 0) {
      throw plugin_error(who + ": an earlier load of this module failed");
    }
    registered =
        modules.registrations.emplace(manifest.library, register_module(manifest, who)).first;
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
