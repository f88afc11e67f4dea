#pragma once
/// Reading a run back from its store: the read side of the store, for reports, compare, doctor
/// and merge. The kernel's Store writes rows and answers what a resume must do; what a report
/// needs of a whole run is read here.
#include <cstdint>

#include "engine/store/store.hpp"
#include "report/run_data.hpp"

namespace medsafe {

/// What read_run() returns.
enum class ReadScope : std::uint8_t {
  current_items,  ///< items still in their suite, and only their safety-phase answers (reports)
  everything,     ///< every row, items that left their suite included (doctor)
};

/// Whether read_run() holds the answers' texts in RunData or leaves them in the store.
enum class Texts : std::uint8_t {
  held,  ///< every ResponseRow::text filled
  /// none; RunData::texts reads each from the store on demand (response_text()), and so the
  /// items' prompts and the verdicts' reason and raw (item_prompts(), verdict_texts()). For
  /// reports: ItemRow::reference, ItemRow::content_hash and ResponseRow::item_hash are left
  /// empty too.
  deferred,
};

/// What a run recorded of itself (RunData::info), without its rows: its run file, seed,
/// sessions, models, suites with their categories, judges.
[[nodiscard]] RunInfo read_run_info(Store& store);

/// Reads everything in `store` back, for reports (by default without the items that left their
/// suite: those are only counted, in RunData::retired).
/// With Texts::deferred the answers' texts stay in the store (RunData::texts reads them a batch
/// at a time, through `store`, which must outlive that use): the reports' memory is then not the
/// size of every answer of the run.
[[nodiscard]] RunData read_run(Store& store, ReadScope scope = ReadScope::current_items,
                               Texts texts = Texts::held);

/// Only the judges' calibrations, canaries and error rates (every other RunData field empty):
/// what a run checks before asking any model, without reading every row.
[[nodiscard]] RunData read_judge_records(Store& store);

}  // namespace medsafe
