#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "medsafe/export.hpp"

namespace medsafe {

enum class LogLevel : std::uint8_t { debug, info, warn, error, off };

/// Where components write diagnostics. Thread-safe. Core's implementation redacts every
/// registered secret before a line leaves the process.
class MEDSAFE_API Log {
 public:
  virtual ~Log();
  virtual void write(LogLevel level, std::string_view source, std::string_view message) = 0;
  /// Registers a value (an API key) that must never be printed; lines show "[redacted]".
  virtual void add_secret(std::string secret) = 0;
  [[nodiscard]] virtual LogLevel level() const noexcept = 0;

  void debug(std::string_view source, std::string_view message) {
    write(LogLevel::debug, source, message);
  }
  void info(std::string_view source, std::string_view message) {
    write(LogLevel::info, source, message);
  }
  void warn(std::string_view source, std::string_view message) {
    write(LogLevel::warn, source, message);
  }
  void error(std::string_view source, std::string_view message) {
    write(LogLevel::error, source, message);
  }
};

/// A Log that writes "medsafe: <level>: <source>: <message>" lines to stderr at `level` and
/// above, with secrets redacted.
[[nodiscard]] MEDSAFE_API std::unique_ptr<Log> make_console_log(LogLevel level);

/// Parses "debug", "info", "warn", "error" or "off".
[[nodiscard]] MEDSAFE_API std::optional<LogLevel> log_level_from_string(std::string_view name);

/// Replaces every occurrence of each secret in `text` by "[redacted]".
[[nodiscard]] MEDSAFE_API std::string redact(std::string text,
                                             const std::vector<std::string>& secrets);

}  // namespace medsafe
