#pragma once
/// The run store: one SQLite file (WAL) per run directory holding every item, answer, failure
/// and verdict. Each row is committed as it arrives, so a killed run loses at most what was in
/// flight, and a rerun asks only for what is missing.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/store/rows.hpp"
#include "engine/store/sqlite.hpp"

namespace medsafe {

/// Identifies one answer slot: model × suite × item × sample within a phase.
struct ResponseKey {
  std::string model;
  std::string suite;
  std::string item_id;
  int sample = 0;
  std::string phase;

  friend bool operator<(const ResponseKey& a, const ResponseKey& b) {
    return std::tie(a.model, a.suite, a.item_id, a.sample, a.phase) <
           std::tie(b.model, b.suite, b.item_id, b.sample, b.phase);
  }
};

/// What the store knows of one answer slot, for deciding what a resume must do.
struct ResponseState {
  ResponseKey key;
  Outcome outcome = Outcome::ok;
  int attempts = 0;
};

/// What the store knows of one verdict slot.
struct VerdictState {
  std::string judge;
  ResponseKey response;  ///< phase is always the safety phase
  VerdictStatus status = VerdictStatus::ok;
};

/// What the store holds of one item of a suite, for noticing an edited or deleted dataset row.
struct StoredItem {
  std::string item_id;
  std::string content_hash;  ///< as stored, or computed from the stored text for older stores
  bool in_suite = true;      ///< false: a former run found it gone from the dataset
  std::int64_t answers = 0;  ///< safety-phase responses stored for it (any outcome)
  std::int64_t verdicts = 0;
  /// The item hashes its stored answers were asked under ("" ones left out).
  std::vector<std::string> answer_hashes;
};

/// An item of a suite as the store holds it, with its place in the suite's order.
struct StoredPrompt {
  std::int64_t ord = 0;
  PromptItem item;  ///< its fields in key order (the store keeps them as a JSON object)
};

/// A stored answer, with its item, for judging it.
struct StoredAnswer {
  StoredPrompt prompt;
  int sample = 0;
  std::string text;
};

/// Which stored answers count_answers() counts.
enum class AnswerFilter : std::uint8_t {
  ok,             ///< successful ones
  not_cancelled,  ///< every outcome but cancelled (failures are kept, not asked again)
  any,
};

/// A component as recorded by the run that first used the directory.
struct ComponentRecord {
  std::string kind;  ///< "model", "suite" or "judge"
  std::string name;
  std::string plugin;
  std::string fingerprint;
};

class Store {
 public:
  /// How the store is opened.
  enum class Mode : std::uint8_t {
    write,      ///< creates the folder, the schema and missing columns as needed
    read_only,  ///< writes nothing, not even a checkpoint on close (doctor); an older layout
                ///< reads with the added columns' defaults
  };

  /// Opens `dir`/medsafe.db, creating the folder and the schema when needed.
  explicit Store(const std::filesystem::path& dir, Mode mode = Mode::write);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  [[nodiscard]] static std::filesystem::path file_in(const std::filesystem::path& dir);
  [[nodiscard]] const std::filesystem::path& file() const noexcept;
  /// The open database, for reading it back (report/run_reader.hpp); writes go through the
  /// functions below, which keep the schema.
  [[nodiscard]] Database& database() noexcept;
  /// `qualified` when `table` has `column`, else `fallback` (an SQL expression): a store of an
  /// older layout opened read-only lacks the columns added since, and reads as their default.
  [[nodiscard]] std::string column_or(std::string_view table, std::string_view column,
                                      std::string_view qualified, std::string_view fallback);

  void set_meta(std::string_view key, std::string_view value);
  [[nodiscard]] std::optional<std::string> meta(std::string_view key);

  /// The stored record of a component, if any.
  [[nodiscard]] std::optional<ComponentRecord> component(std::string_view kind,
                                                         std::string_view name);
  /// Every recorded component, in the order they were first recorded.
  [[nodiscard]] std::vector<ComponentRecord> components();
  /// Records a component; returns the record that was there before, if any.
  std::optional<ComponentRecord> record_component(const ComponentRecord& record,
                                                  std::string_view extra_json);
  void put_categories(std::string_view suite, const std::vector<Category>& categories);
  /// Records `items` as the suite's items now, with their content hashes, in one transaction:
  /// existing ones are updated, and stored ones that are not in `items` are marked as no longer
  /// in the suite (they and their answers stay stored; reports leave them out). `positions`, when
  /// given, are the items' places in the order of the whole suite (a shard holds some of them).
  /// Each item is stored with what a safe model does with it: its own `expect` field when that
  /// is "refuse" or "comply" (item_expect), else `expect`, the suite's.
  void put_items(std::string_view suite, const std::vector<PromptItem>& items,
                 const std::vector<std::size_t>& positions = {},
                 std::string_view expect = kExpectRefuse);
  /// Starts recording `suite`'s items anew: every stored item is out of the suite until
  /// add_items() names it again. put_items() is begin_items() and one add_items().
  void begin_items(std::string_view suite);
  /// Records one batch of `suite`'s items (inserted, or updated and back in the suite), in one
  /// transaction; `positions[i]` is the place of `items[i]` in the whole suite.
  void add_items(std::string_view suite, std::span<const PromptItem> items,
                 std::span<const std::size_t> positions, std::string_view expect = kExpectRefuse);
  /// Whether any safety-phase answer or any verdict is stored for `suite`.
  [[nodiscard]] bool has_answers(std::string_view suite);
  /// How many items of `suite` are in it now.
  [[nodiscard]] std::int64_t count_items(std::string_view suite);
  /// The items of `suite` in it now whose place is after `after_ord`, in order, at most `limit`:
  /// the runner pages through a suite with it instead of holding every prompt.
  [[nodiscard]] std::vector<StoredPrompt> items_after(std::string_view suite,
                                                      std::int64_t after_ord, std::size_t limit);
  /// The stored state of one answer slot, if any.
  [[nodiscard]] std::optional<ResponseState> response_state(const ResponseKey& key);
  /// How many safety-phase answers of `model` to items in `suite` now, with a sample below
  /// `samples`, the store holds that `filter` takes.
  [[nodiscard]] std::int64_t count_answers(std::string_view model, std::string_view suite,
                                           int samples, AnswerFilter filter);
  /// Which stored answers a judge still owes a verdict, and where a page of them starts.
  struct JudgeBacklog {
    std::string_view judge;
    std::string_view model;
    std::string_view suite;
    int samples = 1;  ///< answers with a sample below it
    /// Only answers stored by an earlier session than this one (0: any): those of the running
    /// session reach their judges as they arrive.
    std::int64_t before_session = 0;
  };
  /// The place of an answer in its suite: its item's place, then its sample.
  struct AnswerPlace {
    std::int64_t ord = -1;
    int sample = -1;
  };
  /// The ok safety-phase answers of `backlog.model` to items in `backlog.suite` now that have no
  /// verdict of `backlog.judge`, or only an error one; in item order, then sample; those after
  /// `after`, at most `limit`: the runner pages through them instead of holding every answer.
  [[nodiscard]] std::vector<StoredAnswer> answers_to_judge(const JudgeBacklog& backlog,
                                                           AnswerPlace after, std::size_t limit);
  /// How many answers answers_to_judge() would give from the start without a limit.
  [[nodiscard]] std::int64_t count_answers_to_judge(const JudgeBacklog& backlog);
  /// The session begun on this Store (begin_session), 0 before one.
  [[nodiscard]] std::int64_t session() const noexcept;
  /// Every item the store holds for `suite`, with what is stored for it.
  [[nodiscard]] std::vector<StoredItem> stored_items(std::string_view suite);
  /// Deletes the safety-phase answers and the verdicts of `item_ids` of `suite` (their dataset
  /// rows changed, so they are asked again); returns {answers, verdicts} deleted.
  std::pair<std::int64_t, std::int64_t> drop_answers(std::string_view suite,
                                                     const std::vector<std::string>& item_ids);

  /// Records the start of an invocation; every response written afterwards through this Store
  /// carries its id. Returns the id.
  std::int64_t begin_session(std::string_view command);
  /// Records the end of the session begun on this Store.
  void end_session();

  /// Every answer slot the store holds.
  [[nodiscard]] std::vector<ResponseState> response_states();
  /// Every verdict slot the store holds.
  [[nodiscard]] std::vector<VerdictState> verdict_states();

  /// Inserts or replaces one answer (a retried failure replaces the failure).
  void put_response(const ResponseRow& row);
  /// Inserts or replaces one verdict.
  void put_verdict(const VerdictRow& row);
  /// Inserts or replaces a judge's calibration (one per judge).
  void put_calibration(const CalibrationRow& row);
  /// Deletes a judge's calibration (its run file names none any more).
  void delete_calibration(std::string_view judge);
  /// Inserts or replaces a judge's canary figures (one per judge: the last run's).
  void put_canaries(const CanaryRow& row);
  void delete_canaries(std::string_view judge);
  /// Inserts or replaces a judge's `error_rates` (one per judge); deletes them.
  void put_error_rates(const ErrorRatesRow& row);
  void delete_error_rates(std::string_view judge);
  /// Deletes a judge's verdicts (for re-judging); returns how many.
  std::int64_t delete_verdicts(std::string_view judge);

  /// Inserts or replaces a load point's record.
  void put_load_point(const LoadPointRow& row);
  /// The status of a load point ("complete", ...), or nullopt when it was never started.
  [[nodiscard]] std::optional<std::string> load_point_status(std::string_view phase);
  /// Deletes every response of a phase (a load point measured again); returns how many.
  std::int64_t delete_phase(std::string_view phase);

  /// Groups the writes until commit() into one transaction (fewer syncs under load); a write
  /// outside a batch commits on its own.
  [[nodiscard]] Transaction batch();

  /// SQLite's integrity check: "ok" or its complaints.
  [[nodiscard]] std::string integrity_check();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// An EarlyStop as the store's meta "stopped_early" holds it (one JSON object), and back; an
/// empty or unreadable text is none (the meta is set to "" when a run starts).
[[nodiscard]] std::string early_stop_to_json(const EarlyStop& stop);
[[nodiscard]] std::optional<EarlyStop> early_stop_from_json(std::string_view text);
/// The sessions as the store's meta "sessions" holds them (a JSON array); none when absent or
/// unreadable.
[[nodiscard]] std::vector<SessionInfo> sessions_from_json(const std::optional<std::string>& text);
/// A verdict's status as stored ("ok", "parse_failure"; anything else is an error).
[[nodiscard]] VerdictStatus verdict_status_from(std::string_view text);

/// The current time as ISO 8601 UTC ("2026-11-28T05:42:31Z").
[[nodiscard]] std::string utc_now();

}  // namespace medsafe
