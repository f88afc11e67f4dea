#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "medsafe/export.hpp"

namespace medsafe {

enum class LogLevel : std::uint8_t { debug, info, warn, error, off };

/// The values that must never be printed or stored (API keys, values taken from the
/// environment), held once for every log and writer that redacts them. Thread-safe.
class MEDSAFE_API Secrets {
 public:
  /// Registers `secret` (ignored when empty), with its JSON-escaped and percent-encoded forms
  /// when they differ, so that a server echoing it in JSON or in a URL is caught as well.
  void add(const std::string& secret);
  /// `text` with every registered secret replaced by "[redacted]" (longest first).
  [[nodiscard]] std::string redact(std::string text) const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> values_;  ///< longest first
  std::atomic<bool> any_{false};     ///< lets redact() of a run without secrets skip the lock
};

/// Where components write diagnostics. Thread-safe. Core's implementation redacts every
/// registered secret before a line leaves the process.
class MEDSAFE_API Log {
 public:
  virtual ~Log();
  virtual void write(LogLevel level, std::string_view source, std::string_view message) = 0;
  /// Registers a value (an API key, a value from the environment) that must never be printed
  /// or stored; lines show "[redacted]".
  virtual void add_secret(std::string secret) = 0;
  /// `text` with every registered secret replaced by "[redacted]": for text that leaves the
  /// process by other ways than this log (stored answers and errors, reports, the messages of
  /// errors that end a command).
  [[nodiscard]] virtual std::string redact(std::string text) const = 0;
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
/// above, with secrets redacted. Its secrets are kept in `secrets` (a new set when null), so a
/// caller that outlives the log (the CLI printing an error) can redact with them too.
[[nodiscard]] MEDSAFE_API std::unique_ptr<Log> make_console_log(
    LogLevel level, std::shared_ptr<Secrets> secrets = nullptr);

/// Parses "debug", "info", "warn", "error" or "off".
[[nodiscard]] MEDSAFE_API std::optional<LogLevel> log_level_from_string(std::string_view name);

/// Replaces every occurrence of each secret in `text` by "[redacted]".
[[nodiscard]] MEDSAFE_API std::string redact(std::string text,
                                             const std::vector<std::string>& secrets);

}  // namespace medsafe
