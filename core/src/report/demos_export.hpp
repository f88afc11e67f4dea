#pragma once
/// `medsafe demos export`: safety demonstrations (a request and its safe answer) from suites with
/// reference answers, from `demos generate` folders and from demonstration files, mixed by ratio,
/// split deterministically into train and validation, checked for leakage against evaluation
/// suites, and written in the three fine-tuning formats (docs/mitigation.md).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/plugin/assembly.hpp"
#include "medsafe/demos/format.hpp"
#include "report/demos_leakage.hpp"

namespace medsafe {

/// One demonstration on its way to a fine-tuning file, with where it came from.
struct Demonstration {
  std::string id;  ///< unique in the export: "<source>/<item id>"
  std::string item_id;
  std::string category;
  std::string prompt;
  std::string answer;
  std::string where;  ///< for people: the suite, file and row it came from
  nlohmann::json provenance = nlohmann::json::object();  ///< written to demonstrations.jsonl
};

/// The demonstrations of one source: a suite of a run file, a `demos generate` folder, a file.
struct DemoSource {
  std::string name;  ///< how flags and reports name it (the suite's name, the folder, the file)
  std::string kind;  ///< "suite", "generated" or "file"
  std::vector<Demonstration> demos;
  std::size_t skipped_empty = 0;  ///< entries without an answer left out (--skip-empty)
};

/// A source mixed in at `ratio` demonstrations per primary demonstration.
struct MixedSource {
  DemoSource source;
  double ratio = 0;
};

/// What a leak does to the export.
enum class LeakPolicy : std::uint8_t {
  refuse,  ///< nothing is exported; only the leakage report is written (the default)
  drop,    ///< leaked demonstrations are left out, counted
  allow,   ///< leaked demonstrations are exported, counted and marked in the report
};

/// How an export is split and written.
struct ExportSettings {
  std::filesystem::path out;  ///< the folder written to (created)
  std::vector<DemoFormat> formats{std::begin(kDemoFormats), std::end(kDemoFormats)};
  double val = 0;          ///< share of demonstrations in the validation split (0..1)
  std::uint64_t seed = 0;  ///< seeds the split, the mix samples and the order
  LeakPolicy leaked = LeakPolicy::refuse;
  /// What the leakage index was built from, for the report (run files and their suites).
  nlohmann::json against = nlohmann::json::array();
};

/// What an export did, as written to export.json.
struct ExportSummary {
  nlohmann::json manifest;                   ///< export.json's content
  std::vector<std::filesystem::path> files;  ///< every file written, leakage.json included
  std::size_t train = 0;
  std::size_t val = 0;
  std::size_t exact_leaks = 0;
  std::size_t near_leaks = 0;
  std::size_t dropped_leaks = 0;
  std::vector<std::string> examples;  ///< a few leaks as "export prompt ~ eval prompt" lines
  std::vector<std::string> notes;     ///< e.g. a mix source with fewer demonstrations than asked
};

/// The demonstrations of a loaded suite: each item's reference answer. An item without one is a
/// data Error naming the suite, its data file and the item (unless `skip_empty`: counted).
[[nodiscard]] DemoSource suite_demonstrations(const SuiteSlot& suite, const std::string& run_file,
                                              bool skip_empty);

/// The demonstrations of a file in one of the three formats (read strictly: read_demo_file).
[[nodiscard]] DemoSource file_demonstrations(const std::filesystem::path& file, DemoFormat format,
                                             bool skip_empty);

/// The evaluation prompts of a loaded run: every item of its safety suites except those named in
/// `skip` (suites that are themselves exported from the same run file).
[[nodiscard]] std::vector<LeakageTarget> leakage_targets(Assembly& evaluation,
                                                         const std::vector<std::string>& skip);

/// A stable number in [0, 1) from the seed, a purpose and a text: the same inputs give the same
/// number on every platform and release.
[[nodiscard]] double unit_hash(std::uint64_t seed, std::string_view purpose, std::string_view text);

/// Checks for leakage (when `index` is given), mixes, splits and writes the files to
/// settings.out: train<suffix> (and val<suffix> when settings.val > 0) per format,
/// demonstrations.jsonl (every demonstration with its split and provenance), export.json, and
/// leakage.json when checked. With LeakPolicy::refuse and a leak, only leakage.json is written
/// and a data Error says how many leaked, with examples. Files are replaced atomically.
ExportSummary export_demonstrations(std::vector<DemoSource> primary, std::vector<MixedSource> mixes,
                                    const LeakageIndex* index, const ExportSettings& settings);

}  // namespace medsafe
