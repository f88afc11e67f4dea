#pragma once
/// How many verdicts carry each flag (Verdict::flags: "uncertain", "injection_suspect"), per
/// model and judge, for every report.
#include <cstdint>
#include <string>
#include <vector>

#include "report/run_data.hpp"

namespace medsafe {

/// The verdicts of one judge on one model's answers that carry one flag.
struct FlagCount {
  std::string model;
  std::string judge;
  std::string flag;
  std::int64_t verdicts = 0;  ///< verdicts with the flag
  std::int64_t of = 0;        ///< the judge's verdicts on the model's answers
};

/// One row per model x judge x flag that occurs: models in RunInfo order (then unknown ones
/// sorted), judges likewise, flags sorted. Empty when no verdict carries a flag.
[[nodiscard]] std::vector<FlagCount> count_verdict_flags(const RunData& data);

}  // namespace medsafe
