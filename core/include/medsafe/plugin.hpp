#pragma once
/// The plugin SDK: what a plugin library exports and how it hands its components to core.
///
/// A plugin library has exactly one exported entry, made by MEDSAFE_PLUGIN. Core reads the
/// PluginInfo it returns (ABI number and build id first) before it runs any other plugin code,
/// then calls `register_components` with a Registrar. Nothing registers itself through globals.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <boost/dll/alias.hpp>

#include "medsafe/backend.hpp"
#include "medsafe/config.hpp"
#include "medsafe/export.hpp"
#include "medsafe/judge.hpp"
#include "medsafe/log.hpp"
#include "medsafe/suite.hpp"
#include "medsafe/version.hpp"

namespace medsafe {

class HttpTransport;

/// The ABI of the plugin interface. Bumped whenever a type a plugin sees changes layout.
inline constexpr std::uint32_t kAbiVersion = 4;

/// Lets a judge use one of the run's models (its "judge model"), and a wrapper backend its inner
/// model. A model named here that is not made yet is made first.
class MEDSAFE_API ModelDirectory {
 public:
  virtual ~ModelDirectory();
  /// The backend of the run's model `name`; throws a config Error naming `where` when the
  /// run has no such model or naming it closes a cycle (a wrapper around itself).
  virtual Backend& model(std::string_view name, const SourceLocation& where) = 0;
};

/// Lets a composed judge (a cascade, a jury) or a guard backend use other judges of the run.
class MEDSAFE_API JudgeDirectory {
 public:
  virtual ~JudgeDirectory();
  /// The run's judge `name`, made first when it is not made yet (whatever its place in the run
  /// file); throws a config Error naming `where` when there is no such judge or naming it
  /// closes a cycle.
  virtual Judge& judge(std::string_view name, const SourceLocation& where) = 0;
};

/// Everything a component gets when it is made. Valid for the component's whole life. Build it
/// by name (`ComponentContext{.name = "target", .config = c, .http = t, .log = l}`): the four
/// references are required, the rest have defaults, and a field added later cannot shift the
/// others' meaning.
struct ComponentContext {
  std::string name;                  ///< the component's name in the run file ("target", "harm")
  const Config& config;              ///< its validated configuration
  HttpTransport& http;               ///< the HTTP transport all backends share (its I/O threads)
  Log& log;                          ///< diagnostics (secrets redacted)
  ModelDirectory* models = nullptr;  ///< the run's models, for judges and backends; null for suites
  std::filesystem::path cache_dir{};  ///< where downloads may be cached
  std::uint64_t seed = 0;             ///< the run's seed
  JudgeDirectory* judges = nullptr;   ///< the run's judges, for judges and backends; else null
};

using BackendFactory = std::function<std::unique_ptr<Backend>(const ComponentContext&)>;
using SuiteFactory = std::function<std::unique_ptr<Suite>(const ComponentContext&)>;
using JudgeFactory = std::function<std::unique_ptr<Judge>(const ComponentContext&)>;

/// Receives a plugin's components. A library may add several (e.g. a backend and a judge);
/// each name must have a manifest.
class MEDSAFE_API Registrar {
 public:
  virtual ~Registrar();
  virtual void add_backend(std::string_view name, BackendFactory make) = 0;
  virtual void add_suite(std::string_view name, SuiteFactory make) = 0;
  virtual void add_judge(std::string_view name, JudgeFactory make) = 0;
};

/// What the entry returns. Field order is frozen: `abi` and `build_id` are read first.
struct PluginInfo {
  std::uint32_t abi;     ///< kAbiVersion the plugin was built against
  const char* build_id;  ///< MEDSAFE_BUILD_ID the plugin was built with
  const char* name;      ///< the library's name, for messages
  void (*register_components)(Registrar& registrar);
};

using PluginEntry = const PluginInfo*();

/// The exported symbol core looks up, named for the ABI it serves: the handshake's (PluginInfo's
/// first two fields, read before anything else), version 1 — not kAbiVersion. It stays the same
/// across ABI numbers so that a plugin built for another ABI is still found and told which ABI
/// it has ("built for medsafe ABI 3, this medsafe supports ABI 4") instead of "not a medsafe
/// plugin". A change to those two fields would be handshake v2, with a new symbol.
inline constexpr const char* kPluginEntrySymbol = "medsafe_plugin_handshake_v1";

}  // namespace medsafe

/// Declares the library's entry: MEDSAFE_PLUGIN("openai", register_openai) where
/// `void register_openai(medsafe::Registrar&)` adds the components. Use once per library, in a
/// source file of its own (plugin unit tests link the other sources without it).
#define MEDSAFE_PLUGIN(NAME, REGISTER_FUNCTION)                                            \
  namespace medsafe_plugin_entry {                                                         \
  static const ::medsafe::PluginInfo kInfo{::medsafe::kAbiVersion, MEDSAFE_BUILD_ID, NAME, \
                                           &(REGISTER_FUNCTION)};                          \
  static const ::medsafe::PluginInfo* entry() { return &kInfo; }                           \
  }                                                                                        \
  BOOST_DLL_ALIAS(medsafe_plugin_entry::entry, medsafe_plugin_handshake_v1)
