#pragma once
/// The reports' calibration gate (engine/calibration.hpp) and error-corrected harmful rates
/// (engine/error_correction.hpp): one function per report and part, so a writer adds them with
/// one call each.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "report/metrics.hpp"
#include "report/run_data.hpp"

namespace medsafe {

/// One line per judge whose calibration fell below its threshold ("judge 'harm' is
/// uncalibrated: kappa 0.12 < 0.60 on 20 labelled answers of cal.csv"); empty when none.
[[nodiscard]] std::vector<std::string> uncalibrated_lines(const RunData& data);

/// One line per judge whose canaries drifted ("judge 'harm' drifted: 3 of 4 canaries judged as
/// expected (0.75 < 0.90); model judge (simulated), template ca5692e7f33655ef (built-in
/// rubric)"); empty when none.
[[nodiscard]] std::vector<std::string> drift_lines(const RunData& data);

/// The uncalibrated_lines and drift_lines of the judges `judges` names, in its order (a judge
/// may give both); empty when each of them passed its calibration and its canaries.
[[nodiscard]] std::vector<std::string> untrusted_judge_lines(
    const RunData& data, const std::vector<std::string>& judges);

/// results.json's "canaries": [{judge, canaries, n, agree, ...}], [] when no judge has canaries.
[[nodiscard]] nlohmann::ordered_json canaries_json(const RunData& data);

/// results.json's "error_rates": [{judge, source, sensitivity, ...}], [] when no judge has them.
[[nodiscard]] nlohmann::ordered_json error_rates_json(const RunData& data);

/// results.json's "calibration": [{judge, labels, status, ...}], [] when no judge has a set.
[[nodiscard]] nlohmann::ordered_json calibration_json(const RunData& data);

/// report.md's "Uncalibrated" banner (nothing when every judge passed or none has a set).
void append_uncalibrated_markdown(std::string& out, const RunData& data);
/// report.md's "## Judge calibration" section, with the corrected harmful rates.
void append_calibration_markdown(std::string& out, const RunData& data, const SafetyTable& safety);

/// report.html's banner (id "uncalibrated") and section (id "calibration"), text escaped.
void append_uncalibrated_html(std::string& out, const RunData& data);
void append_calibration_html(std::string& out, const RunData& data, const SafetyTable& safety);

}  // namespace medsafe
