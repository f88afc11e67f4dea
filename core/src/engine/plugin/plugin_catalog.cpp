#include "engine/plugin/plugin_catalog.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <sstream>
#include <system_error>

#include <boost/dll/runtime_symbol_info.hpp>
#include <boost/dll/shared_library.hpp>

#include "medsafe/error.hpp"
#include "medsafe/version.hpp"

#ifndef MEDSAFE_INSTALL_PLUGIN_DIR
#define MEDSAFE_INSTALL_PLUGIN_DIR "/usr/local/lib/medsafe/plugins"
#endif

namespace medsafe {
namespace {

namespace fs = std::filesystem;

// Libraries are never unloaded: objects, vtables and exception types from a plugin may outlive
// any owner we could give them, so the handles are deliberately kept until the process exits.
std::vector<boost::dll::shared_library*>& loaded_libraries() {
  static auto* libraries = new std::vector<boost::dll::shared_library*>();
  return *libraries;
}

// Collects what a plugin's entry registers.
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
  std::map<std::string, ComponentFactory, std::less<>>& entries() { return entries_; }

 private:
  std::map<std::string, ComponentFactory, std::less<>> entries_;
};

bool has_kind(const ComponentFactory& f, ComponentKind kind) {
  return kind == ComponentKind::backend ? static_cast<bool>(f.backend)
         : kind == ComponentKind::suite ? static_cast<bool>(f.suite)
                                        : static_cast<bool>(f.judge);
}

void consider_manifest(const fs::path& file, std::vector<Manifest>& components,
                       std::vector<Manifest>& shadowed, std::vector<CatalogProblem>& problems) {
  try {
    Manifest m = read_manifest(file);
    const bool taken = std::any_of(components.begin(), components.end(),
                                   [&m](const Manifest& other) { return other.name == m.name; });
    (taken ? shadowed : components).push_back(std::move(m));
  } catch (const Error& e) {
    problems.push_back({file, e.what()});
  }
}

}  // namespace

void check_not_world_writable(const fs::path& path, std::string_view plugin) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return;  // a missing file is reported by whoever opens it
  if ((info.st_mode & S_IWOTH) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
    throw Error(ErrorKind::plugin,
                "refusing to load plugin '" + std::string(plugin) + "': " + path.string() +
                    " can be written by any user (mode " + mode +
                    "), so anyone could run code inside medsafe; fix it with: chmod o-w '" +
                    path.string() + "'");
  }
}

PluginCatalog PluginCatalog::discover(const std::vector<fs::path>& folders) {
  PluginCatalog catalog;
  catalog.folders_ = folders;
  for (const fs::path& folder : folders) {
    std::error_code ec;
    if (!fs::is_directory(folder, ec)) continue;
    std::vector<fs::path> manifests;
    for (const fs::directory_entry& entry : fs::directory_iterator(folder, ec)) {
      if (entry.is_regular_file(ec) && entry.path().extension() == ".toml") {
        manifests.push_back(entry.path());
      } else if (entry.is_directory(ec) && fs::is_regular_file(entry.path() / "plugin.toml", ec)) {
        manifests.push_back(entry.path() / "plugin.toml");
      }
    }
    std::sort(manifests.begin(), manifests.end());  // directory order is not stable
    for (const fs::path& file : manifests) {
      consider_manifest(file, catalog.components_, catalog.shadowed_, catalog.problems_);
    }
  }
  return catalog;
}

const Manifest* PluginCatalog::find(std::string_view name) const noexcept {
  for (const Manifest& m : components_) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

const ComponentFactory& PluginCatalog::load(std::string_view name, ComponentKind kind,
                                            const SourceLocation& where) {
  if (auto found = loaded_.find(name); found != loaded_.end()) return found->second;

  const Manifest* manifest = find(name);
  if (manifest == nullptr) {
    std::string known;
    for (const Manifest& m : components_) {
      if (m.kind == kind) known += (known.empty() ? "" : ", ") + m.name;
    }
    std::string searched;
    for (const fs::path& f : folders_) searched += "\n  " + f.string();
    throw located_error(
        ErrorKind::plugin, where,
        "no " + std::string(to_string(kind)) + " plugin named '" + std::string(name) +
            "'; available: " + (known.empty() ? std::string("none") : known) +
            "; searched (add folders with MEDSAFE_PLUGIN_PATH or --plugin-path):" + searched);
  }
  if (manifest->kind != kind) {
    throw located_error(ErrorKind::plugin, where,
                        "'" + std::string(name) + "' is a " +
                            std::string(to_string(manifest->kind)) + " plugin, not a " +
                            std::string(to_string(kind)));
  }
  const std::string who = "plugin '" + std::string(name) + "' (" + manifest->library.string() + ")";
  const auto not_registered = [&] {
    return Error(ErrorKind::plugin, who + " does not register a " + std::string(to_string(kind)) +
                                        " named '" + std::string(name) + "' that its manifest " +
                                        manifest->file.string() + " declares");
  };
  if (manifest->abi != kAbiVersion) {
    throw Error(ErrorKind::plugin, who + ": its manifest " + manifest->file.string() +
                                       " says ABI " + std::to_string(manifest->abi) +
                                       ", this medsafe supports " + std::to_string(kAbiVersion) +
                                       ": rebuild the plugin against this medsafe");
  }
  check_not_world_writable(manifest->file.parent_path(), name);
  check_not_world_writable(manifest->file, name);
  check_not_world_writable(manifest->library.parent_path(), name);
  check_not_world_writable(manifest->library, name);

  // One library may provide several components and is loaded once: if it is loaded already and
  // this name is not in loaded_, the library did not register it.
  if (libraries_.count(manifest->library) != 0) {
    throw not_registered();
  }

  auto library = std::make_unique<boost::dll::shared_library>();
  try {
    library->load(manifest->library,
                  boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    throw Error(ErrorKind::plugin, who + ": cannot load the library: " + e.what());
  }
  // The entry's name before it was named for the handshake (medsafe 0.1 up to ABI 3's first
  // builds): such a plugin is ours, only old.
  if (!library->has(kPluginEntrySymbol) && library->has("medsafe_plugin_v1")) {
    throw Error(ErrorKind::plugin, who +
                                       ": built with an older medsafe SDK (its entry is "
                                       "'medsafe_plugin_v1', this medsafe looks for '" +
                                       std::string(kPluginEntrySymbol) + "'): rebuild the plugin");
  }
  if (!library->has(kPluginEntrySymbol)) {
    throw Error(ErrorKind::plugin, who + ": not a medsafe plugin (it has no '" +
                                       std::string(kPluginEntrySymbol) +
                                       "' entry; was it built with MEDSAFE_PLUGIN?)");
  }
  const PluginInfo* info = nullptr;
  try {
    info = library->get_alias<PluginEntry>(kPluginEntrySymbol)();
  } catch (const std::exception& e) {
    throw Error(ErrorKind::plugin, who + ": its entry failed: " + e.what());
  }
  if (info == nullptr) throw Error(ErrorKind::plugin, who + ": its entry returned nothing");
  if (info->abi != kAbiVersion) {
    throw Error(ErrorKind::plugin, who + ": built for medsafe ABI " + std::to_string(info->abi) +
                                       ", this medsafe supports ABI " +
                                       std::to_string(kAbiVersion) + ": rebuild the plugin");
  }
  if (info->build_id == nullptr || std::strcmp(info->build_id, MEDSAFE_BUILD_ID) != 0) {
    throw Error(ErrorKind::plugin,
                who + ": built as '" + std::string(info->build_id ? info->build_id : "?") +
                    "', this medsafe is '" MEDSAFE_BUILD_ID
                    "': rebuild the plugin with the same compiler, toml++ and medsafe version");
  }

  CollectingRegistrar registrar;
  try {
    info->register_components(registrar);
  } catch (const std::exception& e) {
    throw Error(ErrorKind::plugin, who + ": registering its components threw: " + e.what());
  } catch (...) {
    throw Error(ErrorKind::plugin, who + ": registering its components threw");
  }
  loaded_libraries().push_back(library.release());
  libraries_.insert(manifest->library);

  // Keep every component the library registered that has a manifest pointing at it.
  for (auto& [registered, factory] : registrar.entries()) {
    const Manifest* m = find(registered);
    if (m == nullptr || m->library != manifest->library) continue;
    if (!has_kind(factory, m->kind)) continue;
    factory.manifest = m;
    loaded_.emplace(registered, std::move(factory));
  }
  auto found = loaded_.find(name);
  if (found == loaded_.end() || !has_kind(found->second, kind)) {
    throw not_registered();
  }
  return found->second;
}

std::vector<fs::path> plugin_search_path(const std::vector<fs::path>& extra) {
  std::vector<fs::path> folders = extra;
  if (const char* env = std::getenv("MEDSAFE_PLUGIN_PATH"); env != nullptr) {
    std::stringstream list(env);
    for (std::string item; std::getline(list, item, ':');) {
      if (!item.empty()) folders.emplace_back(item);
    }
  }
  std::error_code ec;
  const fs::path exe = boost::dll::program_location(ec).string();
  if (!ec) {
    folders.push_back(
        (exe.parent_path() / ".." / "lib" / "medsafe" / "plugins").lexically_normal());
  }
  folders.emplace_back(MEDSAFE_INSTALL_PLUGIN_DIR);
  // The same folder reached twice (the build tree is the install prefix) is scanned once.
  std::vector<fs::path> unique;
  for (fs::path& f : folders) {
    fs::path canonical = fs::weakly_canonical(f, ec);
    if (ec) canonical = f;
    if (std::find(unique.begin(), unique.end(), canonical) == unique.end()) {
      unique.push_back(std::move(canonical));
    }
  }
  return unique;
}

}  // namespace medsafe
