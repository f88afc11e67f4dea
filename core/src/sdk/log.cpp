#include "medsafe/log.hpp"

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include "medsafe/json_text.hpp"

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

// The form a value takes in a URL query when a server (or a client) percent-encodes it.
std::string percent_encoded(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4U];
      out += kHex[byte & 0xFU];
    }
  }
  return out;
}

}  // namespace

void Secrets::add(const std::string& secret) {
  if (secret.empty()) return;
  std::lock_guard lock(mutex_);
  // Also the forms it takes inside a JSON string literal (an error body that quotes it) and a URL.
  for (std::string form : {secret, json_escaped(secret), percent_encoded(secret)}) {
    if (std::find(values_.begin(), values_.end(), form) == values_.end()) {
      values_.push_back(std::move(form));
    }
  }
  // Longest first: a secret that contains another is replaced whole, not in pieces.
  std::stable_sort(values_.begin(), values_.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  any_.store(true, std::memory_order_release);
}

std::string Secrets::redact(std::string text) const {
  // Every answer passes here, on the transport's threads: without secrets, take no lock.
  if (text.empty() || !any_.load(std::memory_order_acquire)) return text;
  std::lock_guard lock(mutex_);
  return medsafe::redact(std::move(text), values_);
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
  ConsoleLog(LogLevel level, std::shared_ptr<Secrets> secrets)
      : level_(level), secrets_(std::move(secrets)) {}

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
    line = secrets_->redact(std::move(line));
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stderr);
  }

  void add_secret(std::string secret) override { secrets_->add(secret); }

  [[nodiscard]] std::string redact(std::string text) const override {
    return secrets_->redact(std::move(text));
  }

  [[nodiscard]] LogLevel level() const noexcept override { return level_; }

 private:
  LogLevel level_;
  std::mutex mutex_;  ///< one line at a time on stderr
  std::shared_ptr<Secrets> secrets_;
};

}  // namespace

std::unique_ptr<Log> make_console_log(LogLevel level, std::shared_ptr<Secrets> secrets) {
  if (!secrets) secrets = std::make_shared<Secrets>();
  return std::make_unique<ConsoleLog>(level, std::move(secrets));
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
