#pragma once
/// responses.jsonl: every answer of a run with its prompt, timing and verdicts, one JSON object
/// per line (docs/results-format.md), for analysis outside medsafe.
#include <filesystem>
#include <span>
#include <string>

#include <nlohmann/json.hpp>

#include "report/run_data.hpp"

namespace medsafe {

/// One line's object for `response`: its keys, its item's category and prompt, derived timings
/// in milliseconds and every judge's verdict on it (run's judge order, then others by name).
[[nodiscard]] nlohmann::ordered_json response_json(const ResponseRow& response, const ItemRow* item,
                                                   std::span<const VerdictRow* const> verdicts);

/// The text of responses.jsonl: one line per response in store order (model, suite, item,
/// sample, phase), each ending with LF; invalid UTF-8 replaced by U+FFFD.
[[nodiscard]] std::string responses_jsonl(const RunData& data);

/// Writes responses.jsonl atomically to `path`.
void write_responses_jsonl(const RunData& data, const std::filesystem::path& path);

}  // namespace medsafe
