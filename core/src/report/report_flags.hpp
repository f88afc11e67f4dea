#pragma once
/// The reports' counts of flagged verdicts (count_verdict_flags): one function per report, so a
/// writer adds them with one call.
#include <string>

#include <nlohmann/json.hpp>

#include "report/run_data.hpp"

namespace medsafe {

/// results.json's "verdict_flags": [{model, judge, flag, verdicts, of}], [] when none.
[[nodiscard]] nlohmann::ordered_json verdict_flags_json(const RunData& data);

/// report.md's "## Judge flags" section.
void append_flags_markdown(std::string& out, const RunData& data);

/// report.html's "Judge flags" section (id "flags"), text escaped.
void append_flags_html(std::string& out, const RunData& data);

}  // namespace medsafe
