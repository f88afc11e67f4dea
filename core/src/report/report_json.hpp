#pragma once
/// results.json: the whole run's metrics as one JSON document (docs/results-format.md).
#include <filesystem>

#include <nlohmann/json.hpp>

#include "report/metrics.hpp"
#include "report/run_data.hpp"

namespace medsafe {

/// The results.json schema this medsafe writes (docs/results.schema.json; the changes between
/// versions are listed in docs/results-format.md).
inline constexpr int kResultsSchemaVersion = 2;

/// The results document; keys in a fixed order, absent values as null.
[[nodiscard]] nlohmann::ordered_json results_json(const RunData& data, const RunMetrics& metrics);

/// Writes results.json (pretty, 2-space indent, final newline) atomically to `path`.
void write_results_json(const RunData& data, const RunMetrics& metrics,
                        const std::filesystem::path& path);

}  // namespace medsafe
