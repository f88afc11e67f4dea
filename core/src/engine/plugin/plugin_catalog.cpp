#include "engine/plugin/plugin_catalog.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <sstream>
#include <system_error>

#include <boost/dll/runtime_symbol_info.hpp>

#include "medsafe/error.hpp"
#include "medsafe/plugin_module.hpp"
#include "medsafe/version.hpp"

#ifndef MEDSAFE_INSTALL_PLUGIN_DIR
#define MEDSAFE_INSTALL_PLUGIN_DIR "/usr/local/lib/medsafe/plugins"
#endif

namespace medsafe {
namespace {

namespace fs = std::filesystem;

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

  Registrations registered = open_plugin_module(manifest->library, who);
  libraries_.insert(manifest->library);

  // Keep every component the library registered that has a manifest pointing at it.
  for (auto& [component, factories] : registered) {
    const Manifest* m = find(component);
    if (m == nullptr || m->library != manifest->library || !factories.has(m->kind)) continue;
    loaded_.emplace(component, ComponentFactory{m, std::move(factories)});
  }
  auto found = loaded_.find(name);
  if (found == loaded_.end() || !found->second.has(kind)) {
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
