#include "medsafe/log.hpp"

#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

namespace medsafe {

std::string redact(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    for (std::size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
      text.replace(at, secret.size(), "[redacted]");
      at += 10;
    }
  }
  return text;
}

namespace {

std::string_view level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warn:
      return "warning";
    case LogLevel::error:
      return "error";
    case LogLevel::off:
      return "off";
  }
  return "info";
}

class ConsoleLog final : public Log {
 public:
  explicit ConsoleLog(LogLevel level) : level_(level) {}

  void write(LogLevel level, std::string_view source, std::string_view message) override {
    if (level < level_ || level == LogLevel::off) return;
    std::lock_guard lock(mutex_);
    std::string line = "medsafe: ";
    line += level_name(level);
    line += ": ";
    if (!source.empty()) {
      line += source;
      line += ": ";
    }
    line += message;
    line = redact(std::move(line), secrets_);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
  }

  void add_secret(std::string secret) override {
    if (secret.empty()) return;
    std::lock_guard lock(mutex_);
    secrets_.push_back(std::move(secret));
  }

  [[nodiscard]] LogLevel level() const noexcept override { return level_; }

 private:
  LogLevel level_;
  std::mutex mutex_;
  std::vector<std::string> secrets_;
};

}  // namespace

std::unique_ptr<Log> make_console_log(LogLevel level) {
  return std::make_unique<ConsoleLog>(level);
}

std::optional<LogLevel> log_level_from_string(std::string_view name) {
  if (name == "debug") return LogLevel::debug;
  if (name == "info") return LogLevel::info;
  if (name == "warn" || name == "warning") return LogLevel::warn;
  if (name == "error") return LogLevel::error;
  if (name == "off") return LogLevel::off;
  return std::nullopt;
}

}  // namespace medsafe
