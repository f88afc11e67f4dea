#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "medsafe/export.hpp"

namespace medsafe {

/// What kind of failure ended an operation; the CLI maps each to an exit code.
enum class ErrorKind : std::uint8_t {
  usage,     ///< bad command line
  config,    ///< bad run file, manifest or plugin configuration
  plugin,    ///< a plugin could not be found, loaded, or threw
  data,      ///< a dataset file is missing or malformed
  io,        ///< a file or network resource could not be read or written
  store,     ///< the run store (SQLite) failed or is inconsistent
  internal,  ///< a bug in medsafe
};

/// Where in a text file a problem is; line and column are 1-based, 0 when unknown.
struct MEDSAFE_API SourceLocation {
  std::string file;
  std::uint32_t line = 0;
  std::uint32_t column = 0;

  /// "file:line:column", "file:line" or "file", as much as is known.
  [[nodiscard]] std::string str() const;
};

/// The one exception type medsafe throws; only for errors that end the operation.
/// Expected failures (a refused request, an unparseable judge answer) are values, not exceptions.
class MEDSAFE_API Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message);
  ~Error() override;
  Error(const Error&) = default;
  Error& operator=(const Error&) = default;

  [[nodiscard]] ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

/// "where: error: message", the compiler-style form used for every located error.
[[nodiscard]] MEDSAFE_API Error located_error(ErrorKind kind, const SourceLocation& where,
                                              std::string_view message);

/// Lower-case name of an error kind ("config", "plugin", ...).
[[nodiscard]] MEDSAFE_API std::string_view to_string(ErrorKind kind) noexcept;

}  // namespace medsafe
