#pragma once
/// What every report writer shares: atomic file replacement and locale-free number text.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "report/run_data.hpp"

namespace medsafe {

/// Writes `content` to `path` atomically: to `path` + ".tmp" in the same folder, flushed to disk,
/// then renamed over `path`, so a reader sees the old file or the new one, never a torn one.
/// Throws Error(io) naming the file on any failure (the temporary file is then removed).
void write_file_atomically(const std::filesystem::path& path, std::string_view content);

/// A file written in pieces, so that a large report need not be held whole in memory, and put
/// in place as write_file_atomically does when commit() is called; destroyed uncommitted, it
/// removes its temporary file and leaves `path` as it was. Throws Error(io) naming the file.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::filesystem::path path);
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  ~AtomicFileWriter();
  /// Appends `content` to the temporary file.
  void write(std::string_view content);
  /// Flushes to disk, closes and renames over the path.
  void commit();

 private:
  std::filesystem::path path_;
  std::filesystem::path tmp_;
  int fd_ = -1;
};

/// `value` in fixed notation with `decimals` digits after the point, independent of the C and
/// C++ locales ("2.5000"); a result that rounds to zero is printed without a minus sign.
[[nodiscard]] std::string format_fixed(double value, int decimals);

/// format_fixed, or "" for an empty value.
[[nodiscard]] std::string format_fixed(const std::optional<double>& value, int decimals);

/// What a model of the run is, as reports name it: "meta-llama/Llama-3.1-8B at 127.0.0.1:8000",
/// "simulated", "at 127.0.0.1:8000", or "" when the store does not say (an older run).
[[nodiscard]] std::string target_text(const ModelInfo& model);

}  // namespace medsafe
