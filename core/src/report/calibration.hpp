#pragma once
/// The calibration gate: a judge's run file table may name a labelled calibration set
/// (`calibration = { labels = "cal.csv", ... }`); `medsafe run` has the judge judge its answers
/// (with judge-eval's code), stores the agreement, and the reports mark the judge's results
/// *uncalibrated* when it falls below the threshold (docs/judges.md, "Calibration gate").
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/plugin/assembly.hpp"
#include "engine/store/store.hpp"
#include "medsafe/config.hpp"
#include "medsafe/log.hpp"
#include "report/judge_eval.hpp"
#include "report/run_data.hpp"

namespace medsafe {

/// The keys of a judge's `calibration` table.
[[nodiscard]] const ConfigSchema& calibration_schema();

/// A judge's calibration set, as its run file table gives it.
struct CalibrationSpec {
  std::string judge;
  std::string labels_as_written;  ///< the `labels` key as written, for reports
  LabelSpec labels;               ///< how judge-eval reads the file
  double min_kappa = 0.6;
  double min_accuracy = 0;              ///< 0: none
  std::optional<JudgeReading> reading;  ///< empty: scores when the judge gives them
  Config config;                        ///< the validated table, for located errors
};

/// The calibration set of `judge` (its core key `calibration`), or nothing when it has none.
/// Throws a config Error located at the offending key for a bad table (unknown key, a wrong
/// type, a threshold outside 0..1, an empty `positive`).
[[nodiscard]] std::optional<CalibrationSpec> calibration_spec(const ComponentSpec& judge);

/// The keys of a judge's `error_rates` table.
[[nodiscard]] const ConfigSchema& error_rates_schema();

/// The `error_rates` of `judge` (its core key), or nothing when it has none: the numbers as
/// given, or the confusion counts of the judge-eval JSON output it names, read now. Throws a
/// config Error located at the offending key for a bad table (a rate outside 0..1, Se + Sp <=
/// 1, one count without the other, a missing or unreadable file, JSON without the counts, or
/// counts not read as harmful scores >= 4).
[[nodiscard]] std::optional<ErrorRatesRow> error_rates_spec(const ComponentSpec& judge);

/// Reads every judge's `calibration` and `error_rates` tables of `run` now (and the judge-eval
/// files these name), so a bad one is an Error at its key when the run file is validated, not
/// when a run has started. The kernel's load_run_file checks only that they are tables: their
/// contents belong to the report side, which is why the CLI calls this beside it.
void check_judge_quality_keys(const RunFile& run);

/// The figures of a judged calibration set, the gate applied.
[[nodiscard]] CalibrationRow calibration_row(const CalibrationSpec& spec,
                                             const JudgeEvalResult& result);

/// What calibrate_judges did.
struct CalibrationRunCounts {
  int judged = 0;        ///< calibration sets judged now
  int reused = 0;        ///< already stored with the same hash
  int uncalibrated = 0;  ///< of all, below their threshold
  int canaries = 0;      ///< judges whose canaries were judged
  int drifted = 0;       ///< of which below their canary_min_agreement
};

/// Also judges the canaries (core key `canaries`) of each such judge again and stores them.
/// Judges the calibration set of every judge of `judges` (empty: all) that has one and whose
/// stored calibration has another hash (or none), and stores the figures. Bad input (a missing
/// file, column or positive label) is a config Error naming the run file key and the
/// calibration file (and line).
CalibrationRunCounts calibrate_judges(Assembly& assembly, Store& store, Log& log,
                                      const std::vector<std::string>& judges = {});

/// The stored calibration of `judge`, if any.
[[nodiscard]] const CalibrationRow* find_calibration(const RunData& data, std::string_view judge);

/// The judges (of the primary and refusal roles and any other) whose stored calibration is
/// below its threshold, in RunData order.
[[nodiscard]] std::vector<std::string> uncalibrated_judges(const RunData& data);

}  // namespace medsafe
