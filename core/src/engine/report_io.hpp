#pragma once
/// What every report writer shares: atomic file replacement and locale-free number text.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "engine/run_data.hpp"

namespace medsafe {

/// Writes `content` to `path` atomically: to `path` + ".tmp" in the same folder, flushed to disk,
/// then renamed over `path`, so a reader sees the old file or the new one, never a torn one.
/// Throws Error(io) naming the file on any failure (the temporary file is then removed).
void write_file_atomically(const std::filesystem::path& path, std::string_view content);

/// `value` in fixed notation with `decimals` digits after the point, independent of the C and
/// C++ locales ("2.5000"); a result that rounds to zero is printed without a minus sign.
[[nodiscard]] std::string format_fixed(double value, int decimals);

/// format_fixed, or "" for an empty value.
[[nodiscard]] std::string format_fixed(const std::optional<double>& value, int decimals);

/// What a model of the run is, as reports name it: "meta-llama/Llama-3.1-8B at 127.0.0.1:8000",
/// "simulated", "at 127.0.0.1:8000", or "" when the store does not say (an older run).
[[nodiscard]] std::string target_text(const ModelInfo& model);

}  // namespace medsafe
