#pragma once
/// Plugin manifests: the TOML file that describes one component of a plugin library. Part of
/// the SDK so that plugins, their tests and tools read a manifest without the engine.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "medsafe/config.hpp"
#include "medsafe/export.hpp"

namespace medsafe {

/// The three things a run is composed of.
enum class ComponentKind : std::uint8_t { backend, suite, judge };

[[nodiscard]] MEDSAFE_API std::string_view to_string(ComponentKind kind) noexcept;

/// One component as its manifest describes it.
///
///   name = "openai"                    # the name run files use
///   kind = "backend"                   # backend | suite | judge
///   library = "libmedsafe_openai.so"   # relative to the manifest's folder
///   abi = 4
///   description = "..."
///   [config.base_url]                  # one table per key the component accepts
///   type = "string"                    #
///   string|integer|number|boolean|path|string-list|table|table-list default =
///   "http://127.0.0.1:8000/v1"   # or: required = true env = true                         #
///   optional: "${NAME}" is expanded from the environment choices = ["a", "b"]               #
///   optional, for strings doc = "What the key means."
struct Manifest {
  std::filesystem::path file;  ///< the manifest itself (absolute)
  std::string name;
  ComponentKind kind = ComponentKind::backend;
  std::filesystem::path library;  ///< absolute
  std::uint32_t abi = 0;
  std::string description;
  /// Backends: what a model is when its configuration names none ("simulated"); may be empty.
  std::string target;
  ConfigSchema config;
};

/// Reads and checks a manifest; errors name the file, line and column.
[[nodiscard]] MEDSAFE_API Manifest read_manifest(const std::filesystem::path& file);

/// Parses manifest text (for tests); `file` is used for messages and to resolve `library`.
[[nodiscard]] MEDSAFE_API Manifest parse_manifest(std::string_view text,
                                                  const std::filesystem::path& file);

}  // namespace medsafe
