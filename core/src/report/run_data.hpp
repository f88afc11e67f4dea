#pragma once
/// Everything a run produced, as read back from its store: the input of metrics and reports.
/// Reports are always rebuilt from this, never from in-memory run state, so `medsafe report`
/// and a finished run print the same thing. read_run() (report/run_reader.hpp) fills it.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "engine/store/rows.hpp"
#include "medsafe/judge.hpp"
#include "medsafe/suite.hpp"

namespace medsafe {

/// A model of the run.
struct ModelInfo {
  ModelInfo() = default;
  /// What every model has; the target (model_id, host) is set apart, as older stores lack it.
  ModelInfo(std::string name_in, std::string backend_in, bool under_test_in)
      : name(std::move(name_in)), backend(std::move(backend_in)), under_test(under_test_in) {}

  std::string name;        ///< its name in the run file
  std::string backend;     ///< plugin name ("openai", "sim")
  bool under_test = true;  ///< false for a model used only as a judge
  std::string model_id;    ///< the model tested ("meta-llama/Llama-3.1-8B", "simulated"); may be ""
  std::string host;        ///< host[:port] it was reached at; "" when none (in-process)
};

/// A suite of the run, with its categories in report order.
struct SuiteInfo {
  std::string name;    ///< its name in the run file
  std::string plugin;  ///< plugin name ("medsafetybench")
  std::string domain;  ///< "medical" or "general"
  std::vector<Category> categories;
  bool safety = true;  ///< answered in the safety phase (false: only load tests send it)
  std::string expect{kExpectRefuse};  ///< the suite's `expect`: its items' default
};

/// A judge of the run and what it produces.
struct JudgeInfo {
  std::string name;    ///< its name in the run file
  std::string plugin;  ///< plugin name ("rubric")
  JudgeTraits traits;
  std::vector<std::string> suites{};  ///< the suites it judges; empty: all
};

/// The run as a whole.
struct RunInfo {
  std::string name;
  std::string run_file;    ///< absolute path of the run file
  std::uint64_t seed = 0;  ///< drives sampling and bootstrap resampling
  int samples = 1;         ///< answers per model × item
  std::string started_at;  ///< ISO 8601 UTC of the first start
  std::string updated_at;  ///< ISO 8601 UTC of the last change
  std::string medsafe_version;
  std::string primary_judge;  ///< the judge whose 1–5 scores feed harm_* columns ("" = none)
  std::string refusal_judge;  ///< the judge whose refused flag feeds refusal_rate ("" = none)
  std::vector<ModelInfo> models;
  std::vector<SuiteInfo> suites;
  std::vector<JudgeInfo> judges;
  std::vector<SessionInfo> sessions{};  ///< every `medsafe run` on the directory, in order
  /// The last command that wrote the store, shell-quoted: rerun it to resume ("" if unknown).
  std::string resume_command{};
  /// The phase keys of every load point the run file plans (as of the last `medsafe run`).
  std::vector<std::string> planned_load_points{};
  /// Set when the last `medsafe run` stopped early (store meta "stopped_early").
  std::optional<EarlyStop> stopped_early{};
  /// A store made by `medsafe merge`: the run's shard count (0: not merged), and the shards
  /// missing from it (merged with --allow-missing).
  int shards = 0;
  std::vector<int> missing_shards{};
};

/// What the store keeps of a suite's items that are no longer in its dataset: their answers stay
/// stored but are left out of RunData (and so of every report).
struct RetiredItems {
  std::string suite;
  std::int64_t items = 0;
  std::int64_t answers = 0;  ///< safety-phase responses of those items
  std::int64_t verdicts = 0;
};

/// A verdict's texts: what RunData holds of them, or reads from the store when deferred.
struct VerdictTexts {
  std::string reason;
  std::string raw;
};

/// The texts of RunData's rows, read from the store a batch at a time when asked for: a RunData
/// read with its texts deferred (read_run, Texts::deferred) holds none of them (answers'
/// texts, items' prompts, verdicts' reasons and raw outputs), and they are most of what its rows
/// weigh. Only the reports that print rows one by one ask, for the rows they print.
class ResponseTexts {
 public:
  ResponseTexts() = default;
  virtual ~ResponseTexts() = default;
  ResponseTexts(const ResponseTexts&) = delete;
  ResponseTexts& operator=(const ResponseTexts&) = delete;
  /// The text of the RunData's responses[index].
  [[nodiscard]] virtual std::string text(std::size_t index) const = 0;
  /// The texts of responses[indices[0]], responses[indices[1]], ..., in that order: each read
  /// once, the batch in store order rather than one lookup per text. This one calls text().
  [[nodiscard]] virtual std::vector<std::string> texts(std::span<const std::size_t> indices) const;
  /// The prompts of items[indices[0]], ..., in that order, as texts() (an index out of range
  /// gives "").
  [[nodiscard]] virtual std::vector<std::string> prompts(
      std::span<const std::size_t> indices) const = 0;
  /// The reasons and raw outputs of verdicts[indices[0]], ..., in that order, as texts().
  [[nodiscard]] virtual std::vector<VerdictTexts> verdict_texts(
      std::span<const std::size_t> indices) const = 0;
};

/// Everything in a run's store.
struct RunData {
  RunInfo info;
  std::vector<ItemRow> items;
  std::vector<ResponseRow> responses;
  std::vector<VerdictRow> verdicts;
  std::vector<LoadPointRow> load_points;       ///< in order of measurement
  std::vector<RetiredItems> retired{};         ///< per suite with items that left it
  std::vector<CalibrationRow> calibrations{};  ///< per judge with a calibration set
  std::vector<CanaryRow> canaries{};           ///< per judge with canaries: the last run's
  std::vector<ErrorRatesRow> error_rates{};    ///< per judge with `error_rates`
  /// Set when the texts were deferred: ResponseRow::text, ItemRow::prompt, VerdictRow::reason
  /// and VerdictRow::raw are then empty, and response_text(), item_prompts() and
  /// verdict_texts() read them from the store (which must outlive this RunData's use of it).
  std::shared_ptr<const ResponseTexts> texts{};
};

/// The text of `r`, one of data.responses: its own, or the store's when the texts were deferred.
[[nodiscard]] inline std::string response_text(const RunData& data, const ResponseRow& r) {
  const ResponseRow* first = data.responses.data();
  if (!data.texts || &r < first || &r >= first + data.responses.size()) return r.text;
  return data.texts->text(static_cast<std::size_t>(&r - first));
}

/// The texts of `rows`, each one of data.responses, in that order: their own, or read from the
/// store in one batch when the texts were deferred. For writers that go through many answers.
[[nodiscard]] std::vector<std::string> response_texts(const RunData& data,
                                                      std::span<const ResponseRow* const> rows);

/// The prompts of `items`, each one of data.items, in that order: their own, or read from the
/// store in one batch when the texts were deferred (a row not of data.items keeps its own).
[[nodiscard]] std::vector<std::string> item_prompts(const RunData& data,
                                                    std::span<const ItemRow* const> items);

/// The reasons and raw outputs of `verdicts`, each one of data.verdicts, as item_prompts().
[[nodiscard]] std::vector<VerdictTexts> verdict_texts(const RunData& data,
                                                      std::span<const VerdictRow* const> verdicts);

}  // namespace medsafe
