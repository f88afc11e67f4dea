#pragma once
/// Opening a plugin module: the one place that loads a shared library, checks its handshake and
/// collects what it registers. The engine's plugin catalog and the SDK-only loader of the plugin
/// tests both go through it, so that both refuse the same modules with the same words.
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "medsafe/export.hpp"
#include "medsafe/manifest.hpp"
#include "medsafe/plugin.hpp"

namespace medsafe {

/// The factories a module registered under one component name (each kind it registered).
struct Registered {
  BackendFactory backend;
  SuiteFactory suite;
  JudgeFactory judge;
  /// Whether it registered a factory of `kind`.
  [[nodiscard]] bool has(ComponentKind kind) const noexcept {
    switch (kind) {
      case ComponentKind::backend:
        return static_cast<bool>(backend);
      case ComponentKind::suite:
        return static_cast<bool>(suite);
      case ComponentKind::judge:
        return static_cast<bool>(judge);
    }
    return false;
  }
};

/// What one module registered, by component name.
using Registrations = std::map<std::string, Registered, std::less<>>;

/// Loads the module `library` (symbols resolved now, kept local), keeps it loaded until the
/// process exits whatever happens next (objects and exception types made by plugin code may
/// outlive any owner: STYLE.md, never unload a plugin), checks its entry's ABI and build id
/// before any other code of it runs, and has it register its components. `who` names the
/// plugin in errors ("plugin 'sim' (/.../libmedsafe_sim.so)"). Throws a plugin Error saying
/// which step failed: not loadable, an older SDK's entry, no entry, another ABI or build,
/// registration threw. Each call loads again: callers keep what they loaded.
[[nodiscard]] MEDSAFE_API Registrations open_plugin_module(const std::filesystem::path& library,
                                                           const std::string& who);

}  // namespace medsafe
