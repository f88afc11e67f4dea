#include "medsafe/plugin_module.hpp"

#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <boost/dll/shared_library.hpp>

#include "medsafe/error.hpp"
#include "medsafe/version.hpp"

namespace medsafe {
namespace {

// Every module ever opened, never unloaded and never freed (see open_plugin_module()), and why
// those that failed did: their code is not run a second time.
struct OpenedModules {
  std::mutex mutex;
  std::vector<boost::dll::shared_library*> libraries;
  std::map<std::filesystem::path, std::string> failures;
};

OpenedModules& opened_modules() {
  static auto* modules = new OpenedModules();
  return *modules;
}

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

Error plugin_error(const std::string& message) { return Error(ErrorKind::plugin, message); }

// open_plugin_module() without the memory of failures.
Registrations open_module(const std::filesystem::path& library, const std::string& who,
                          std::vector<boost::dll::shared_library*>& opened) {
  auto owned = std::make_unique<boost::dll::shared_library>();
  try {
    owned->load(library, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    throw plugin_error(who + ": cannot load the library: " + e.what());
  }
  // Kept from here on: the library's constructors have run, and its entry may run next.
  boost::dll::shared_library& module = *owned;
  opened.push_back(owned.release());
  // The entry's name before it was named for the handshake (medsafe 0.1 up to ABI 3's first
  // builds): such a plugin is ours, only old.
  if (!module.has(kPluginEntrySymbol) && module.has("medsafe_plugin_v1")) {
    throw plugin_error(who +
                       ": built with an older medsafe SDK (its entry is 'medsafe_plugin_v1', "
                       "this medsafe looks for '" +
                       std::string(kPluginEntrySymbol) + "'): rebuild the plugin");
  }
  if (!module.has(kPluginEntrySymbol)) {
    throw plugin_error(who + ": not a medsafe plugin (it has no '" +
                       std::string(kPluginEntrySymbol) +
                       "' entry; was it built with MEDSAFE_PLUGIN?)");
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
                       "', this medsafe is '" MEDSAFE_BUILD_ID
                       "': rebuild the plugin with the same compiler, toml++ and medsafe version");
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

}  // namespace

Registrations open_plugin_module(const std::filesystem::path& library, const std::string& who) {
  OpenedModules& modules = opened_modules();
  const std::lock_guard<std::mutex> lock(modules.mutex);
  if (auto failed = modules.failures.find(library); failed != modules.failures.end()) {
    throw plugin_error(who + ": an earlier load of this module failed: " + failed->second);
  }
  try {
    return open_module(library, who, modules.libraries);
  } catch (const Error& e) {
    // The reason without `who`, which the next caller puts in front again.
    const std::string message = e.what();
    modules.failures.emplace(
        library, message.rfind(who + ": ", 0) == 0 ? message.substr(who.size() + 2) : message);
    throw;
  }
}

}  // namespace medsafe
